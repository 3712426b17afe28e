"""Privacy-policy helpers for the session-replay survey (SPEC §S1 step 3).

* :func:`find_policy_link` picks the privacy-policy link out of a home page's anchors.
* :func:`classify_disclosure` decides, for one service, whether a policy states (a) the PURPOSE
  of collecting behaviour data and (b) the concrete SERVICE name — the paper's four classes
  ``both | purpose_only | service_only | neither`` (plus ``no_policy`` when there is no text).
* :func:`policy_page_text` writes realistic synthetic policies with a chosen class per service,
  for fixture webs and round-trip tests.

The classifier works on sentences (split on 。！？!? , on ". " and on newlines) after NFKC
normalisation (full-width → half-width), case-insensitively, in Japanese and English. It is a
keyword/rule classifier, not a reading of the policy: negations ("we do not record …") are not
understood, and a purpose has to be stated in one sentence (or in a sentence plus a directly
following "This/These/これ/この…" sentence).
"""
from __future__ import annotations

import functools
import random
import re
import unicodedata
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import yaml

SIGNATURES_PATH = Path(__file__).with_name("data") / "signatures.yaml"


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


# ---------------------------------------------------------------------------------------------
# policy link
# ---------------------------------------------------------------------------------------------
_TEXT_RULES: list[tuple[re.Pattern, int]] = [
    (re.compile(r"プライバシー\s*ポリシー|プライバシー\s*ステートメント|プライバシー\s*ノーティス"), 12),
    (re.compile(r"個人情報\s*(保護)?\s*(方針|ポリシー|基本方針)"), 12),
    (re.compile(r"個人情報\s*の?\s*(取り?扱い?|取扱|お取扱い|保護について)"), 11),
    (re.compile(r"個人情報\s*(について|保護)"), 10),
    (re.compile(r"privacy\s*(policy|notice|statement|policies)", re.I), 12),
    (re.compile(r"data\s*(protection|privacy)\s*(policy|notice|statement)?", re.I), 8),
    (re.compile(r"プライバシー"), 7),
    (re.compile(r"\bprivacy\b", re.I), 7),
    (re.compile(r"個人情報"), 6),
    (re.compile(r"cookie\s*(policy|notice|statement)|クッキー\s*ポリシー|cookie\s*ポリシー", re.I), 4),
]
# links that mention privacy but are not the policy itself
_TEXT_PENALTIES = re.compile(
    r"settings|preferences|choices|do not sell|opt[- ]?out|設定|オプトアウト|マーク|privacy\s*mark", re.I)
_URL_RULES: list[tuple[re.Pattern, int]] = [
    (re.compile(r"privacy[-_]?polic|privacy[-_]?notice|privacy[-_]?statement", re.I), 6),
    (re.compile(r"kojin[-_]?joho|kojinjouhou|personal[-_]?info|personal[-_]?data|pii[-_]?polic", re.I), 5),
    (re.compile(r"/privacy", re.I), 5),
    (re.compile(r"privacy", re.I), 3),
    (re.compile(r"data[-_]?protection", re.I), 3),
    (re.compile(r"/policy|/policies|polic(y|ies)\.html?", re.I), 2),
    (re.compile(r"cookie", re.I), 1),
]


def _site_of(host: str) -> str:
    try:
        from transforms.survey.domains import registrable_domain
        return registrable_domain(host)
    except Exception:  # publicsuffixlist missing: last two labels (three for *.co.jp etc.)
        labels = host.split(".")
        n = 3 if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2 else 2
        return ".".join(labels[-n:])


def find_policy_link(anchors: list[tuple[str, str]], base_url: str) -> tuple[str, str] | None:
    """(absolute URL, link text) of the most likely privacy-policy link, or None.

    ``anchors`` are ``(href, text)`` pairs from the home page. Each link is scored on its text
    (JP/EN policy names; "Cookie Policy" only as a weak fallback) and its URL (``/privacy``,
    ``privacy-policy``, ``kojinjoho``, ``personal-information``, ``/policy/`` …); links to the
    same registrable domain as ``base_url`` get a bonus, other sites a malus. ``javascript:``,
    ``mailto:``, ``tel:`` and bare ``#`` links are ignored. Ties go to the earlier link.
    """
    base_host = (urlsplit(base_url).hostname or "").lower()
    base_site = _site_of(base_host) if base_host else ""
    best, best_score = None, 0
    for href, text in anchors or []:
        href = (href or "").strip()
        if not href or href.startswith("#") or re.match(r"(javascript|mailto|tel|data):", href, re.I):
            continue
        url = urljoin(base_url, href)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue
        text_n = _norm(text).strip()
        text_score = max([s for rx, s in _TEXT_RULES if rx.search(text_n)], default=0)
        if text_score and _TEXT_PENALTIES.search(text_n):
            text_score -= 6
        path = parts.path + ("?" + parts.query if parts.query else "")
        url_score = max([s for rx, s in _URL_RULES if rx.search(path)], default=0)
        if text_score <= 0 and url_score < 2:
            continue
        score = text_score + url_score
        host = (parts.hostname or "").lower()
        if base_site:
            score += 2 if _site_of(host) == base_site else -3
        if score > best_score:
            best, best_score = (url, (text or "").strip()), score
    return best


# ---------------------------------------------------------------------------------------------
# disclosure classification
# ---------------------------------------------------------------------------------------------
_SPLIT = re.compile(r"(?<=[。!?！？])|(?<=\.)(?=\s)|\n+|(?<=[;；])\s")


_ABBREV = re.compile(r"(\b(e\.g|i\.e|etc|inc|ltd|co|corp|llc|vs|no|cf|approx|incl)\.|\b[A-Z]\.)$", re.I)
_TERMINAL = re.compile(r"[。.!?！？:：;；)）」』]$")
_LINE_START = re.compile(r"^([・•*\-–—■□●○◆◇>※]|\(?\d+[.)．、]|第\d+条|[A-Z][a-z]+:)")


def _unwrap(text: str) -> str:
    """Join hard-wrapped lines (scraped text often breaks sentences at the end of a line)."""
    lines = [ln.strip() for ln in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if out and out[-1] and line and not _LINE_START.search(line) and (
                re.search(r"[、,]$", out[-1]) or (len(out[-1]) >= 40 and not _TERMINAL.search(out[-1]))):
            sep = "" if re.search(r"[\u3000-\u30ff\u4e00-\u9fff]$", out[-1]) else " "
            out[-1] = out[-1] + sep + line
        else:
            out.append(line)
    return "\n".join(out)


def split_sentences(text: str) -> list[str]:
    """Sentences of a (normalised, unwrapped) policy text; bullets and blank pieces dropped."""
    pieces: list[str] = []
    for piece in _SPLIT.split(_unwrap(_norm(text))):
        if pieces and _ABBREV.search(pieces[-1]) and "\n" not in piece:
            pieces[-1] += piece  # "e.g. how …", "Microsoft Corp. provides …"
        else:
            pieces.append(piece)
    out = []
    for piece in pieces:
        piece = re.sub(r"\s+", " ", piece).strip(" \t・•*-–—■□●○◆◇>")
        if len(piece) >= 2:
            out.append(piece)
    return out


# (a) behaviour data recorded by session-replay tools
_BEHAVIOUR = re.compile("|".join([
    r"mouse", r"cursor", r"\bclicks\b", r"clickstream", r"click(ing)? (behaviou?r|data|patterns?|positions?|paths?|tracking|maps?)",
    r"where (you|users|visitors|people) click", r"(links?|buttons?|elements?) (they|you|users|visitors) (choose to |chose to )?click",
    r"(users?|visitors?)'?s? behaviou?r", r"\btaps\b", r"\bswipes\b", r"scroll(ing|s)?\b(?! down to)", r"keystroke", r"key ?press",
    r"typing", r"form (input|entr|field)", r"session (replay|recording)", r"(screen|session|visit) record",
    r"record(s|ed|ing)? (of )?(your |user |visitor |the )?(sessions?|visits?|screen|interactions?|browsing)",
    r"replay", r"heat ?maps?", r"how (you|users|visitors) (interact|move|navigate through)",
    r"interactions? (with|on) (our|the|this) (web ?site|site|pages?|service)",
    r"(user|visitor|browsing|navigation|on-site|in-page) behaviou?r", r"behaviou?ral data",
    r"(operation|interaction|usage) (logs?|data|history)",
    r"マウス", r"カーソル", r"(?<!を)クリック(?!して|する|すると|すること|ください)", r"スクロール",
    r"(?<!を)タップ(?!して|する|ください)", r"スワイプ", r"キー入力", r"入力操作",
    r"操作(履歴|情報|ログ|データ|内容|記録|状況)", r"画面操作", r"行動(履歴|データ|情報|ログ)", r"閲覧行動",
    r"(サイト|ページ|ウェブサイト|webサイト|当サイト)(内|上)(で|における)?の?(行動|動き|操作)",
    r"ヒートマップ", r"セッション(リプレイ|記録|録画)", r"画面(録画|記録)", r"録画", r"(記録|録画).{0,8}再生|リプレイ",
]), re.I)
_IMPROVE = re.compile("|".join([
    r"analy[sz]", r"improv", r"optimi[sz]", r"enhanc", r"usability", r"user experience", r"\bux\b",
    r"understand", r"troubleshoot", r"diagnos", r"fix (bugs|errors|problems)", r"design",
    r"分析", r"解析", r"改善", r"向上", r"最適化", r"把握", r"利便性", r"使いやす", r"ユーザビリティ",
    r"使い勝手", r"検証", r"不具合", r"品質",
]), re.I)
# access analysis (Google Analytics and the like)
_ANALYTICS = re.compile("|".join([
    r"アクセス解析", r"アクセス分析", r"トラフィック(の)?(分析|解析)",
    r"(利用|アクセス|閲覧|訪問|ご利用)(状況|状態|傾向|数)", r"(訪問者|アクセス|ページビュー)(数|の統計)",
    r"web ?analytics", r"site analytics", r"access analysis", r"audience measurement",
    r"traffic", r"usage (statistics|data|patterns|of (our|the|this))", r"site usage",
    r"how (visitors|users|people|you) (use|find|arrive|reach)", r"number of (visitors|visits|users)",
    r"visitor statistics", r"statistics (on|about) (visits|visitors|usage)",
]), re.I)
_ANALYTICS_VERB = re.compile(
    r"analy[sz]|measur|understand|statistic|count|improv|evaluat|monitor|track|"
    r"解析|分析|把握|計測|測定|統計|集計|改善|向上|調査|評価", re.I)
_ANAPHOR = re.compile(r"^(this|these|such|the (data|information|recordings?)|これ|この|それ|その|当該|取得した)", re.I)

# names that are also ordinary words: need a context before they count as a service name
# (value None: the capitalised spelling alone is enough — "Glassbox", "ForeSee" vs "foresee")
_AMBIGUOUS = {"clarity": "context", "glassbox": None, "foresee": None}
_ANY_NAME = re.compile(
    r"microsoft clarity|hotjar|mouseflow|yandex|contentsquare|crazy ?egg|dynatrace|foresee|fullstory|glassbox|"
    r"inspectlet|logrocket|lucky ?orange|smartlook|google analytics|googleアナリティクス", re.I)
# other service names in the same sentence make a bare "Clarity" a list item of tools
_OTHER_NAMES = re.compile(
    r"hotjar|mouseflow|yandex|contentsquare|crazy ?egg|dynatrace|fullstory|inspectlet|logrocket|"
    r"lucky ?orange|smartlook|google analytics|googleアナリティクス|heap|quantum metric", re.I)
_TOOL_CONTEXT = re.compile(
    r"microsoft|マイクロソフト|\btools?\b|\bservices?\b|provider|vendor|third[- ]part|analytics|heat ?map|"
    r"session (replay|recording)|recording|tracking|\bscript|ツール|サービス|提供|社|ヒートマップ|解析|分析|外部|第三者", re.I)


def _name_regex(term: str) -> re.Pattern:
    parts = [re.escape(p) for p in re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9.・]+", _norm(term))]
    body = r"[\s.・]*".join(parts)
    return re.compile(r"(?<![a-z0-9])" + body + r"(?![a-z0-9])", re.I)


def _mentions_name(sentence: str, service: dict) -> bool:
    terms = list(service.get("policy_terms") or []) or [service.get("name", "")]
    if service.get("name") and service["name"] not in terms:
        terms.append(service["name"])
    for term in terms:
        term_n = _norm(term).strip()
        if not term_n:
            continue
        key = term_n.lower()
        if key in _AMBIGUOUS:
            # bare "Clarity"/"Glassbox"/"ForeSee": only with its capital letter and a context
            # word (Microsoft, tool, service, …), or as an item of a list of other services
            cased = re.compile(r"(?<![A-Za-z0-9])" + re.escape(term_n) + r"(?![A-Za-z0-9])")
            loose = re.compile(r"(?<![a-z0-9])" + re.escape(key) + r"(?![a-z0-9])", re.I)
            japanese = re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", sentence)
            for m in (loose if japanese else cased).finditer(sentence):
                near = sentence[max(0, m.start() - 50): m.end() + 50]
                if (_AMBIGUOUS[key] is None or _TOOL_CONTEXT.search(near) or _BEHAVIOUR.search(sentence)
                        or _OTHER_NAMES.search(sentence) or len(re.findall(r"\w+", sentence)) <= 4):
                    return True
            continue
        if _name_regex(term_n).search(sentence):
            return True
    return False


def _purpose_sentences(sentences: list[str], kind: str) -> list[str]:
    """Sentences stating the purpose. A sentence with the data part (behaviour data, or an
    access-analysis phrase) counts when it also names a purpose, or when a neighbouring sentence
    names one and is tied to it: it starts with "This/These/これ/この…", or both sentences talk
    about the same tool (a service name in each)."""
    if kind == "analytics":
        data = [bool(_ANALYTICS.search(s)) for s in sentences]
        goal = [bool(_ANALYTICS_VERB.search(_ANALYTICS.sub(" ", s)) or re.search(r"解析|分析|analysis", s, re.I))
                for s in sentences]
    else:
        data = [bool(_BEHAVIOUR.search(s)) for s in sentences]
        goal = [bool(_IMPROVE.search(s)) for s in sentences]
    names = [set(m.group(0).lower() for m in _ANY_NAME.finditer(s)) for s in sentences]
    anaphor = [bool(_ANAPHOR.search(s)) for s in sentences]
    found = []
    for i, sentence in enumerate(sentences):
        if not data[i]:
            continue
        ok = goal[i]
        for j in (i - 1, i + 1):
            if ok or not 0 <= j < len(sentences) or not goal[j]:
                continue
            later = max(i, j)
            ok = anaphor[later] or bool(names[i] & names[j])
        if ok:
            found.append(sentence)
    return found


def classify_disclosure(policy_text: str | None, service: dict) -> dict:
    """Disclosure class of ``service`` (a signature entry: id, name, kind, policy_terms).

    * purpose — for ``kind: session_replay``: one sentence says behaviour/operation data (mouse
      movement, clicks, scrolling, keystrokes, screen/session recording, heatmaps, 操作履歴,
      マウスの動き, 閲覧行動 …) is collected for a purpose (analysis, improvement, usability,
      サイトの改善, 利便性向上 …). For ``kind: analytics``: an access-analysis statement
      (アクセス解析, 利用状況の把握, traffic analysis, understanding how visitors use the site).
      The purpose is site-level: it is not required to be next to the service name.
    * service — one of the service's ``policy_terms`` appears as a name (word boundaries for
      Latin names; "Clarity", "Glassbox", "ForeSee" only with a capital and a tool/Microsoft
      context, so "clarity" as an English word does not count).
    """
    empty = {"disclosure_class": "no_policy", "mentions_purpose": False, "mentions_service": False,
             "evidence_sentence": ""}
    if policy_text is None or not str(policy_text).strip():
        return empty
    sentences = split_sentences(str(policy_text))
    kind = "analytics" if service.get("kind") == "analytics" else "session_replay"
    purpose = _purpose_sentences(sentences, kind)
    named = [s for s in sentences if _mentions_name(s, service)]
    mentions_purpose, mentions_service = bool(purpose), bool(named)
    both_in_one = [s for s in named if s in purpose]
    evidence = (both_in_one or named or purpose or [""])[0]
    cls = {(True, True): "both", (True, False): "purpose_only",
           (False, True): "service_only", (False, False): "neither"}[(mentions_purpose, mentions_service)]
    return {"disclosure_class": cls, "mentions_purpose": mentions_purpose,
            "mentions_service": mentions_service, "evidence_sentence": evidence[:1000]}


# ---------------------------------------------------------------------------------------------
# synthetic policies
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _services() -> dict[str, dict]:
    doc = yaml.safe_load(SIGNATURES_PATH.read_text(encoding="utf-8"))
    return {s["id"]: s for s in doc["services"]}


_CLASSES = {"both", "purpose_only", "service_only", "neither"}

# JP building blocks -------------------------------------------------------------------------
_JA = {
    "intro": [
        "{site}（以下「当社」といいます。）は、お客様の個人情報の重要性を認識し、以下のとおりプライバシーポリシーを定め、個人情報の適切な保護に努めます。",
        "{site}は、個人情報の保護に関する法律その他の関係法令を遵守し、お客様からお預かりする個人情報を適切に取り扱います。",
        "本プライバシーポリシーは、{site}（以下「当サイト」）が提供するサービスにおける利用者情報の取扱いについて定めるものです。",
    ],
    "collected": [
        "当社は、会員登録、お問い合わせ、商品のご購入の際に、氏名、メールアドレス、電話番号、住所等の情報を取得します。",
        "当サイトでは、お問い合わせフォームのご利用時に、お名前、ご連絡先などの個人情報をご提供いただく場合があります。",
        "当社が取得する情報には、お客様からご提供いただく情報のほか、IPアドレス、ブラウザの種類、参照元URL等の端末情報が含まれます。",
    ],
    "cookie": [
        "当サイトでは、Cookie（クッキー）を使用しています。Cookieはブラウザに保存される小さなテキストファイルであり、お客様個人を特定する情報は含まれません。",
        "Cookieとは、ウェブサイトを閲覧した際にブラウザに保存される情報です。ブラウザの設定によりCookieを無効にすることができますが、一部の機能がご利用いただけなくなる場合があります。",
        "当社は、ログイン状態の保持やお客様の設定の記憶のためにCookieおよび類似の技術を利用することがあります。",
    ],
    "uses": [
        "取得した個人情報は、お問い合わせへの回答、商品の発送、サービスに関するご案内のために利用します。",
        "当社は、取得した情報を、本人確認、料金の請求、重要なお知らせの送付の目的で利用いたします。",
        "個人情報は、ご本人の同意がある場合を除き、あらかじめ特定した利用目的の範囲内でのみ取り扱います。",
    ],
    "srs_purpose": [
        "当サイトでは、ウェブサイトの使いやすさを改善するため、マウスの動き、クリック、スクロールなどの操作情報を記録し、分析しています。",
        "当社は、サイトの利便性向上を目的として、お客様のページ上での操作履歴（クリック位置やスクロール量など）を取得し、分析に利用します。",
        "ユーザビリティの向上のため、ヒートマップ等により、サイト内での行動データ（マウスの軌跡、クリック、画面の操作内容）を収集しています。",
        "当サイトは、サイト改善のための分析に、画面操作の記録（セッションの録画・再生）を利用しています。",
    ],
    "srs_named": [
        "当サイトでは、ウェブサイトの使いやすさを改善するため、{names}を利用してマウスの動き、クリック、スクロールなどの操作情報を記録し、分析しています。",
        "当社は、サイトの利便性向上を目的として、{names}により、お客様のページ上での操作履歴（クリック位置やスクロール量など）を取得し、分析しています。",
        "ユーザビリティの向上のため、{names}のヒートマップ機能等を用いて、サイト内での行動データ（マウスの軌跡、クリック、画面の操作内容）を収集しています。",
    ],
    "srs_named_extra": [
        "これらのツールはCookieを使用しますが、氏名等の個人を特定する情報は収集しません。",
        "収集されたデータは各提供事業者のプライバシーポリシーに基づき管理されます。",
    ],
    "vendor_intro": [
        "当社は、以下の外部事業者のサービスを利用しており、これらの事業者がCookie等を通じて情報を取得する場合があります。",
        "当サイトで利用している主な外部サービスは次のとおりです。",
        "当社は、業務の一部を以下の第三者に委託しています。",
    ],
    "vendor_item": ["・{name}", "・{name}（提供元の規約に従います）", "・{name}"],
    "ga_purpose": [
        "当サイトでは、アクセス解析のためにCookieを使用し、サイトの利用状況を把握しています。",
        "当社は、ウェブサイトの利用状況を把握し、コンテンツの改善に役立てるため、アクセス状況の統計データを取得しています。このデータは匿名で収集されており、個人を特定するものではありません。",
        "当サイトでは、訪問者数やページビュー数などのアクセス状況を分析するため、アクセス解析ツールを導入しています。",
    ],
    "ga_named": [
        "当サイトでは、Googleによるアクセス解析ツール「{name}」を利用しています。{name}はトラフィックデータの収集のためにCookieを使用しています。",
        "当社は、サイトの利用状況を把握するために{name}を使用しています。",
        "当サイトは、アクセス解析のため{name}を利用しており、これにより訪問者数等の統計情報を取得しています。",
    ],
    "thirdparty": [
        "当社は、法令に基づく場合を除き、ご本人の同意なく個人情報を第三者に提供することはありません。",
        "当社は、利用目的の達成に必要な範囲で個人情報の取扱いを委託することがあります。この場合、委託先に対して必要かつ適切な監督を行います。",
    ],
    "security": [
        "当社は、個人情報への不正アクセス、紛失、漏えい等を防止するため、適切な安全管理措置を講じます。",
        "個人情報は、SSL等の暗号化技術を用いて安全に送受信されます。",
    ],
    "contact": [
        "個人情報の開示、訂正、利用停止等のご請求は、下記の窓口までご連絡ください。{site} 個人情報お問い合わせ窓口 privacy@{domain}",
        "本ポリシーに関するお問い合わせは、{site}お客様相談室（メール: info@{domain}）までお願いいたします。",
    ],
    "change": ["本ポリシーの内容は、法令の改正等に応じて予告なく変更することがあります。",
               "改定後のプライバシーポリシーは、本ページに掲載した時点から効力を生じるものとします。"],
    "h": {"collected": ["取得する情報", "1. 個人情報の取得", "収集する情報について"],
          "cookie": ["Cookieの使用について", "2. Cookie（クッキー）について", "クッキー等の利用"],
          "uses": ["利用目的", "3. 個人情報の利用目的", "情報の利用について"],
          "analysis": ["サイトの改善について", "外部ツールの利用について", "ウェブサイトの品質向上のための取り組み"],
          "thirdparty": ["第三者提供", "4. 個人情報の第三者提供", "外部サービスおよび委託先"],
          "security": ["安全管理", "5. 安全管理措置"],
          "contact": ["お問い合わせ窓口", "6. お問い合わせ"],
          "change": ["改定", "本ポリシーの変更"]},
    "title": ["プライバシーポリシー", "個人情報保護方針", "個人情報の取り扱いについて"],
    "sep": "、",
}

_EN = {
    "intro": [
        "{site} (\"we\", \"us\") respects your privacy. This Privacy Policy explains what information we collect when you visit our website and how we use it.",
        "This privacy notice describes how {site} collects, uses and shares personal information about you.",
        "At {site}, protecting your personal data is important to us. Please read this policy carefully.",
    ],
    "collected": [
        "We collect information you provide directly to us, such as your name, email address and postal address when you create an account or contact us.",
        "When you visit our website we automatically receive technical information such as your IP address, browser type and the referring URL.",
        "We may collect personal information when you subscribe to our newsletter, place an order or fill in a contact form.",
    ],
    "cookie": [
        "We use cookies, small text files placed on your device, to remember your preferences and keep you signed in.",
        "Cookies are small data files stored by your browser. You can disable cookies in your browser settings, but some parts of the site may then not work properly.",
        "Our website uses strictly necessary cookies and, with your consent, optional cookies.",
    ],
    "uses": [
        "We use your personal information to provide and deliver our services, to process payments and to respond to your requests.",
        "We use the information we collect to communicate with you, to send you service announcements and to comply with legal obligations.",
        "Your information is processed only for the purposes described in this policy or as otherwise permitted by law.",
    ],
    "srs_purpose": [
        "To improve the usability of our website, we record mouse movements, clicks and scrolling on our pages and analyse this information.",
        "We use session recording technology that captures how you interact with our pages, including clicks, taps and keystrokes in non-sensitive fields, in order to identify usability problems and improve the user experience.",
        "We collect information about your on-site behaviour, such as cursor movements, scroll depth and clicks, and use heatmaps to optimise the design of our site.",
        "Recordings of visits (session replays) help us understand where visitors get stuck so that we can fix problems and improve our pages.",
    ],
    "srs_named": [
        "To improve the usability of our website, we use {names} to record mouse movements, clicks and scrolling on our pages and analyse this information.",
        "We use {names}, which capture how you interact with our pages, including clicks, taps and scrolling, in order to identify usability problems and improve the user experience.",
        "Through {names} we collect information about your on-site behaviour, such as cursor movements and clicks, and use heatmaps to optimise the design of our site.",
    ],
    "srs_named_extra": [
        "These tools set cookies but do not collect your name or contact details.",
        "The data collected is handled by each provider in accordance with its own privacy policy.",
    ],
    "vendor_intro": [
        "We work with the following service providers, who may process data on our behalf:",
        "The third-party providers used on this website include:",
        "We share information with trusted vendors who help us operate our business, including:",
    ],
    "vendor_item": ["- {name}", "- {name} (see the provider's privacy policy)", "• {name}"],
    "ga_purpose": [
        "We use analytics cookies to measure traffic and understand how visitors use our website.",
        "We collect aggregated usage statistics, such as the number of visitors and the pages viewed, to analyse traffic to our site.",
        "Web analytics help us understand how visitors find and use our site; the statistics we receive are anonymous.",
    ],
    "ga_named": [
        "We use {name}, a web analytics service provided by Google, to analyse traffic to our website.",
        "Our site uses {name} to understand how visitors use the site and to compile usage statistics.",
        "{name} sets cookies that let us measure the number of visitors and how they reach our pages.",
    ],
    "thirdparty": [
        "We do not sell your personal information. We disclose it to third parties only where required by law or with your consent.",
        "We may share information with service providers who perform services for us, subject to confidentiality obligations.",
    ],
    "security": [
        "We use appropriate technical and organisational measures to protect your data against unauthorised access.",
        "Data transmitted to our website is encrypted using TLS.",
    ],
    "contact": [
        "If you have any questions about this policy or wish to exercise your rights, please contact us at privacy@{domain}.",
        "You can reach our data protection officer at dpo@{domain}.",
    ],
    "change": ["We may update this policy from time to time; the current version is always posted on this page.",
               "Changes take effect when they are published here."],
    "h": {"collected": ["Information we collect", "1. Information We Collect", "What data we collect"],
          "cookie": ["Cookies", "2. Cookies and Similar Technologies", "Our use of cookies"],
          "uses": ["How we use your information", "3. Use of Information", "Purposes of processing"],
          "analysis": ["Improving our website", "Tools we use", "Site improvement"],
          "thirdparty": ["Sharing your information", "4. Third Parties", "Service providers"],
          "security": ["Security", "5. Data Security"],
          "contact": ["Contact us", "6. Contact"],
          "change": ["Changes to this policy", "Updates"]},
    "title": ["Privacy Policy", "Privacy Notice", "Privacy Statement"],
    "sep": ", ",
}


def _display_name(service: dict, rng: random.Random, lang: str) -> str:
    if service["id"] == "clarity":
        return "Microsoft Clarity"
    if service["id"] == "google_analytics":
        return rng.choice(["Google Analytics", "Googleアナリティクス"] if lang == "ja" else ["Google Analytics"])
    terms = [t for t in service.get("policy_terms") or [] if len(t) > 6 or t == service["name"]]
    return rng.choice(terms or [service["name"]])


def _join(names: list[str], lang: str) -> str:
    if lang == "ja":
        return "、".join(f"「{n}」" if len(names) == 1 else n for n in names)
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def policy_page_text(lang: str, disclosures: dict[str, str], site_name: str, seed: int) -> str:
    """A realistic privacy policy (``lang`` 'ja' or 'en') in which every service id in
    ``disclosures`` has the given class (both | purpose_only | service_only | neither).

    Session-replay purpose statements are site-level, so all session-replay services of one
    site must share their purpose half: mixing {both, purpose_only} with {service_only, neither}
    raises ValueError. Google Analytics (kind analytics) has its own class. Same arguments →
    same text; the seed picks wording variants, section order details and headings.
    """
    if lang not in ("ja", "en"):
        raise ValueError(f"lang must be 'ja' or 'en', not {lang!r}")
    services = _services()
    for sid, cls in disclosures.items():
        if sid not in services:
            raise ValueError(f"unknown service id {sid!r}")
        if cls not in _CLASSES:
            raise ValueError(f"class for {sid} must be one of {sorted(_CLASSES)}, not {cls!r}")
    srs = {s: c for s, c in disclosures.items() if services[s]["kind"] != "analytics"}
    ga = {s: c for s, c in disclosures.items() if services[s]["kind"] == "analytics"}
    srs_purpose = {c in ("both", "purpose_only") for c in srs.values()}
    if len(srs_purpose) > 1:
        raise ValueError(f"session-replay services of one site must share the purpose half: {srs}")
    srs_purpose = srs_purpose == {True}

    rng = random.Random(f"{lang}|{site_name}|{seed}")
    t = _JA if lang == "ja" else _EN
    domain = re.sub(r"[^a-z0-9.-]", "", site_name.lower().replace(" ", "-")) or "example.jp"
    if "." not in domain:
        domain += ".jp" if lang == "ja" else ".com"

    def pick(key):
        return rng.choice(t[key]).format(site=site_name, domain=domain)

    def heading(key):
        return rng.choice(t["h"][key])

    srs_named = [_display_name(services[s], rng, lang) for s, c in srs.items() if c == "both"]
    srs_listed = [_display_name(services[s], rng, lang) for s, c in srs.items() if c == "service_only"]
    ga_named = [_display_name(services[s], rng, lang) for s, c in ga.items() if c == "both"]
    ga_listed = [_display_name(services[s], rng, lang) for s, c in ga.items() if c == "service_only"]
    ga_purpose_only = any(c == "purpose_only" for c in ga.values())

    sections: list[tuple[str, list[str]]] = []
    sections.append((heading("collected"), [c.format(site=site_name, domain=domain) for c in rng.sample(t["collected"], 2)]))
    sections.append((heading("cookie"), [pick("cookie")]))
    sections.append((heading("uses"), [u.format(site=site_name, domain=domain) for u in rng.sample(t["uses"], 2)]))

    analysis: list[str] = []
    if srs_purpose and srs_named:
        analysis.append(rng.choice(t["srs_named"]).format(names=_join(srs_named, lang)))
        analysis.append(pick("srs_named_extra"))
    elif srs_purpose:
        analysis.append(pick("srs_purpose"))
    for name in ga_named:
        analysis.append(rng.choice(t["ga_named"]).format(name=name))
    if ga_purpose_only and not ga_named:
        analysis.append(pick("ga_purpose"))
    if analysis:
        rng.shuffle(analysis) if len(analysis) > 2 and rng.random() < 0.3 else None
        sections.append((heading("analysis"), analysis))

    third = [pick("thirdparty")]
    listed = srs_listed + ga_listed
    if listed:
        rng.shuffle(listed)
        third.append(pick("vendor_intro"))
        third.extend(rng.choice(t["vendor_item"]).format(name=n) for n in listed)
    sections.append((heading("thirdparty"), third))
    if rng.random() < 0.7:
        sections.append((heading("security"), [pick("security")]))
    sections.append((heading("contact"), [pick("contact")]))
    sections.append((heading("change"), [pick("change")]))

    lines = [rng.choice(t["title"]), "", pick("intro"), ""]
    for title, body in sections:
        lines.append(title)
        lines.extend(body)
        lines.append("")
    lines.append(("制定日: 20{:02d}年{}月{}日" if lang == "ja" else "Last updated: {}/{}/20{:02d}").format(
        *( (rng.randint(15, 25), rng.randint(1, 12), rng.randint(1, 28)) if lang == "ja"
           else (rng.randint(1, 12), rng.randint(1, 28), rng.randint(15, 25)))))
    return "\n".join(lines)
