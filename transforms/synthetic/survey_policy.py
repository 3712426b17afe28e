"""Synthetic privacy policies and the policy fixture pages of the survey's fixture web.

* :func:`policy_page_text` writes realistic policies (JA/EN, wording variants, headings, vendor
  lists) with a chosen disclosure class per service; the fixture web's sites use it.
* :func:`site_level` turns a site's declared per-kind classes into what a careful reader labels:
  the purpose is site-level (a policy that states an analytics purpose for Google Analytics
  states one for the site), the service name is per service (issue 20, labelling guide).
* ``POLICY_SITES`` are extra fixture sites whose disclosures are only reachable the way real
  ones often are: in a cookie policy linked from the privacy policy, in a PDF policy, in a
  collapsed section. :func:`serve` answers their requests (hooked into the fixture server);
  ``tests/survey/test_policy_crawl.py`` crawls them with the project's crawler.

Nothing in the production pipelines imports this module.
"""
from __future__ import annotations

import functools
import html
import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

SIGNATURES_PATH = Path(__file__).resolve().parents[1] / "survey" / "data" / "signatures.yaml"
SHIPPED_PDF = Path(__file__).resolve().parent / "data" / "publiccode_privacy_cookie_statement_2020.pdf"


def site_level(disclosures: dict[str, str]) -> dict[str, str]:
    """Per-kind classes → site-level purpose: when any service's class states a purpose, every
    service of the site has the purpose half (``service_only`` → ``both``, ``neither`` →
    ``purpose_only``)."""
    purpose = any(c in ("both", "purpose_only") for c in disclosures.values())
    lift = {"service_only": "both", "neither": "purpose_only"}
    return {s: (lift.get(c, c) if purpose else c) for s, c in disclosures.items()}


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


# ---------------------------------------------------------------------------------------------
# policy fixture sites: disclosures behind a link, in a PDF, in collapsed sections
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicySite:
    domain: str
    language: str
    policy_path: str
    pages: dict  # path -> (body, content type)
    expected: dict  # service id -> disclosure class when the whole policy is read
    expected_policy_page_only: dict  # … when only the privacy-policy page is read


def _page(title: str, body: str, lang: str = "en") -> tuple[str, str]:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body><main><h1>{html.escape(title)}</h1>\n{body}\n</main></body></html>\n", "text/html; charset=utf-8")


def _home(name: str, policy_path: str, link_text: str, lang: str = "en") -> tuple[str, str]:
    return _page(name, f'<p>Welcome to {html.escape(name)}.</p><footer><a href="/about/">About</a> | '
                       f'<a href="{policy_path}">{html.escape(link_text)}</a></footer>', lang)


_LINKED = PolicySite(
    "lindenhof-cycles.com", "en", "/privacy/",
    {"/": _home("Lindenhof Cycles", "/privacy/", "Privacy Policy"),
     "/privacy/": _page("Privacy Policy", """
<p>Lindenhof Cycles respects your privacy. We use the details you give us when you order a bike to deliver it
and to send you invoices.</p>
<p>We use cookies and similar technologies. Which ones, and why, is explained in our
<a href="/legal/cookie-policy/">Cookie Policy</a>.</p>
<p>Our parent company's <a href="https://velo-holding.example/cookies/">cookie notice</a> covers its own sites.</p>
<p>You can ask us for a copy of your data at any time: privacy@lindenhof-cycles.com.</p>"""),
     "/legal/cookie-policy/": _page("Cookie Policy", """
<p>With your consent we use analytics cookies to understand how visitors use our shop, which pages they open and
where they leave, so that we can improve it.</p>
<table><tr><th>Cookie</th><th>Provider</th><th>Purpose</th><th>Expiry</th></tr>
<tr><td>_ga</td><td>Google Analytics</td><td>Distinguishes visitors for usage statistics</td><td>2 years</td></tr>
<tr><td>_hjSessionUser</td><td>Hotjar</td><td>Heatmaps and session recordings of page interactions</td><td>1 year</td></tr>
</table>
<p>More technical details are on our <a href="/legal/cookie-policy/details/">cookie details</a> page.</p>"""),
     # depth 2 (linked from the cookie policy, not from the privacy policy): never read
     "/legal/cookie-policy/details/": _page("Cookie details", "<p>We also use Mouseflow to record visits.</p>")},
    {"google_analytics": "both", "hotjar": "both", "mouseflow": "purpose_only"},
    {"google_analytics": "neither", "hotjar": "neither", "mouseflow": "neither"})

_PDF = PolicySite(
    "harbourline-ferries.com", "en", "/documents/privacy-statement.pdf",
    {"/": _home("Harbourline Ferries", "/documents/privacy-statement.pdf", "Privacy Statement (PDF)")},
    {"google_analytics": "purpose_only", "hotjar": "purpose_only"},
    {"google_analytics": "purpose_only", "hotjar": "purpose_only"})

_COLLAPSED = PolicySite(
    "sakuranbo-zakka.jp", "ja", "/privacy/",
    {"/": _home("さくらんぼ雑貨", "/privacy/", "プライバシーポリシー", "ja"),
     "/privacy/": _page("プライバシーポリシー", """
<p>さくらんぼ雑貨（以下「当店」）は、お客様の個人情報を適切に取り扱います。</p>
<details><summary>アクセス解析について</summary>
<p>当店は、サイトの使いやすさを改善するため、Microsoft Clarityを利用してページ上でのクリックやスクロールなどの操作を分析しています。</p>
</details>
<div class="accordion"><button aria-expanded="false">外部サービス</button>
<div class="panel" style="display:none"><p>当店は、利用状況の把握のためにGoogleアナリティクスを利用しています。</p></div></div>
<p>お問い合わせは info@sakuranbo-zakka.jp までご連絡ください。</p>""", "ja")},
    {"clarity": "both", "google_analytics": "both", "hotjar": "purpose_only"},
    {"clarity": "neither", "google_analytics": "neither", "hotjar": "neither"})

POLICY_SITES = {s.domain: s for s in (_LINKED, _PDF, _COLLAPSED)}


def serve(host: str, path: str) -> tuple[bytes | str, str] | None:
    """(body, content type) of a policy fixture page, or None when ``host``/``path`` is not one."""
    site = POLICY_SITES.get(host[4:] if host.startswith("www.") else host)
    if site is None:
        return None
    if site is _PDF and path == _PDF.policy_path:
        return SHIPPED_PDF.read_bytes(), "application/pdf"
    return site.pages.get(path)
