"""Privacy-policy helpers for the session-replay survey (SPEC §S1 step 3).

* :func:`find_policy_link` picks the privacy-policy link out of a home page's anchors.
* :func:`classify_disclosure` is the RULE BASELINE kept beside the learned classifier
  (:mod:`transforms.survey.disclosure`): for one service, whether a policy states (a) the PURPOSE
  of collecting behaviour data and (b) the concrete SERVICE name — the paper's four classes
  ``both | purpose_only | service_only | neither`` (plus ``no_policy`` when there is no text).
  The survey stores its answer in ``survey_disclosures.baseline_class``.
* Reading a policy in the crawler's browser (collapsed sections, linked cookie policies, PDF):
  :mod:`transforms.survey.policy_fetch`. Synthetic policies for the fixture web:
  :mod:`transforms.synthetic.survey_policy`.

The classifier works on sentences (split on 。！？!? , on ". " and on newlines) after NFKC
normalisation (full-width → half-width), case-insensitively, in Japanese and English. It is a
keyword/rule classifier, not a reading of the policy: negations ("we do not record …") are not
understood, and a purpose has to be stated in one sentence (or in a sentence plus a directly
following "This/These/これ/この…" sentence).
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import urljoin, urlsplit


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
