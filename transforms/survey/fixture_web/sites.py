"""Declarative site specs of the offline fixture web, the vendor stubs they load, and the ground truth.

Everything the server serves is generated from this module: ``SITES`` (one :class:`Site` per
domain, rank = position in the list), ``VENDOR_SNIPPETS`` (the HTML a site embeds for a service,
shaped like the real snippet so ``signatures.yaml`` snippet patterns match) and ``VENDOR_ROUTES``
(stub JS served on the real vendor hosts; each stub, like the real thing, then sends a beacon to
the vendor's collect host). ``build_ground_truth()`` is what ``ground_truth.json`` must equal;
regenerate the committed files with ``python -m transforms.survey.fixture_web --write``.

Behaviours (``Site.behavior``) and the crawl outcome they should produce:

=============  ==========================================================================  =========
behavior       what the server does                                                         outcome
=============  ==========================================================================  =========
ok             home page on https (and http)                                               ok
www_redirect   https://domain/ -> 301 https://www.domain/                                  ok
two_hop        https://domain/ -> 301 https://www.domain/ -> 302 https://www.domain/top/   ok
http_only      TLS handshake for the host is aborted (alert); http://domain/ serves the    ok
               site (the crawler must fall back to http)
tls_fail       TLS aborted as above and http://domain/ redirects back to https             tls
hang           home page's head has a synchronous <script src> whose response never ends  timeout
               (server thread sleeps in a loop until the server stops)
crash          inline <head> script allocates arrays in a tight loop until V8 runs out of  crash
               heap: headless Chromium's renderer dies ("tab crashed") in ~5-10 s
refused        host mapped to 127.0.0.1:1 by --host-resolver-rules                         refused
dns            host mapped to ~NOTFOUND (ERR_NAME_NOT_RESOLVED)                            dns
empty          connection closed without a response (ERR_EMPTY_RESPONSE)                   error
json / pdf     home answers application/json / application/pdf (non_html)                ok
=============  ==========================================================================  =========
"""
from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

from transforms.synthetic.survey_policy import policy_page_text, site_level

HERE = Path(__file__).resolve().parent
GROUND_TRUTH_PATH = HERE / "ground_truth.json"
TRANCO_FIXTURE_PATH = HERE / "tranco_fixture.csv"

SRS_SERVICES = (
    "clarity", "hotjar", "mouseflow", "yandex_metrica", "contentsquare", "crazyegg", "dynatrace",
    "foresee", "fullstory", "glassbox", "inspectlet", "logrocket", "luckyorange", "smartlook",
)
GA = "google_analytics"
ALL_SERVICES = SRS_SERVICES + (GA,)
DISCLOSURE_CLASSES = ("both", "purpose_only", "service_only", "neither")
OUTCOME_BY_BEHAVIOR = {
    "ok": "ok", "www_redirect": "ok", "two_hop": "ok", "http_only": "ok", "json": "ok", "pdf": "ok",
    "tls_fail": "tls", "hang": "timeout", "crash": "crash", "refused": "refused", "dns": "dns",
    "empty": "error",
}
# hosts the browser never loads a page from
NO_PAGE_BEHAVIORS = {"tls_fail", "refused", "dns", "empty"}
HANG_SCRIPT_PATH = "/assets/vendor-bundle.js"


def _h(text: str, n: int = 10) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _num(text: str, digits: int = 7) -> int:
    return int(_h(text, 12), 16) % (10 ** digits) + 10 ** (digits - 1)


# --------------------------------------------------------------------------------------------
# Vendor snippets (embedded in a site's <head>) — {k} is a per-site account key
# --------------------------------------------------------------------------------------------

def vendor_snippet(service_id: str, domain: str) -> str:
    k = _h(domain + service_id)
    n = _num(domain + service_id)
    snippets = {
        "clarity": f"""<script type="text/javascript">
    (function(c,l,a,r,i,t,y){{
        c[a]=c[a]||function(){{(c[a].q=c[a].q||[]).push(arguments)}};
        t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;
        y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);
    }})(window, document, "clarity", "script", "{k}");
</script>""",
        "hotjar": f"""<script>
    (function(h,o,t,j,a,r){{
        h.hj=h.hj||function(){{(h.hj.q=h.hj.q||[]).push(arguments)}};
        h._hjSettings={{hjid:{n},hjsv:6}};
        a=o.getElementsByTagName('head')[0];
        r=o.createElement('script');r.async=1;
        r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;
        a.appendChild(r);
    }})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');
</script>""",
        "mouseflow": f"""<script type="text/javascript">
  window._mfq = window._mfq || [];
  (function() {{
    var mf = document.createElement("script");
    mf.type = "text/javascript"; mf.defer = true;
    mf.src = "//cdn.mouseflow.com/projects/{k}-{_h(k, 4)}-4{_h(k, 3)}.js";
    document.getElementsByTagName("head")[0].appendChild(mf);
  }})();
</script>""",
        "yandex_metrica": f"""<script type="text/javascript">
   (function(m,e,t,r,i,k,a){{m[i]=m[i]||function(){{(m[i].a=m[i].a||[]).push(arguments)}};
   m[i].l=1*new Date();
   for (var j = 0; j < document.scripts.length; j++) {{if (document.scripts[j].src === r) {{ return; }}}}
   k=e.createElement(t),a=e.getElementsByTagName(t)[0],k.async=1,k.src=r,a.parentNode.insertBefore(k,a)}})
   (window, document, "script", "https://mc.yandex.ru/metrika/tag.js", "ym");
   ym({n}, "init", {{clickmap:true, trackLinks:true, accurateTrackBounce:true, webvisor:true}});
</script>
<noscript><div><img src="https://mc.yandex.ru/watch/{n}" style="position:absolute; left:-9999px;" alt="" /></div></noscript>""",
        "contentsquare": f"""<script type="text/javascript">
(function () {{
  window._uxa = window._uxa || [];
  if (typeof CS_CONF === 'undefined') {{
    window._uxa.push(['setPath', window.location.pathname+window.location.hash.replace('#','?__')]);
    var mt = document.createElement("script"); mt.type = "text/javascript"; mt.async = true;
    mt.src = "//t.contentsquare.net/uxa/{k}.js";
    document.getElementsByTagName("head")[0].appendChild(mt);
  }}
}})();
</script>""",
        "crazyegg": f"""<script type="text/javascript" src="//script.crazyegg.com/pages/scripts/{n % 10000:04d}/{n % 9999:04d}.js" async="async"></script>""",
        "dynatrace": f"""<script type="text/javascript" src="https://js-cdn.dynatrace.com/jstag/{_h(k, 11)}/bf{n}/{k}_complete.js" crossorigin="anonymous"></script>""",
        "foresee": f"""<script type="text/javascript" src="https://gateway.foresee.com/sites/{domain.split('.')[0]}/production/gateway.min.js" async="true" data-vendor="fs" data-role="gateway"></script>""",
        "fullstory": f"""<script>
window['_fs_host'] = 'fullstory.com';
window['_fs_script'] = 'edge.fullstory.com/s/fs.js';
window['_fs_org'] = 'o-{k[:5].upper()}-na1';
window['_fs_namespace'] = 'FS';
(function(m,n,e,t,l,o,g,y){{
    if (e in m) {{return;}}
    g=m[e]=function(a,b,s){{g.q?g.q.push([a,b,s]):g._api(a,b,s);}};g.q=[];
    o=n.createElement(t);o.async=1;o.crossOrigin='anonymous';o.src='https://'+_fs_script;
    y=n.getElementsByTagName(t)[0];y.parentNode.insertBefore(o,y);
}})(window,document,window['_fs_namespace'],'script','user');
</script>""",
        "glassbox": f"""<script id="_cls_detector" src="https://cdn.glassboxdigital.io/detector/{k}/detector-dom.min.js" data-clsconfig="reportURI=https://report.glassboxdigital.io/glassbox/reporting/{k}/cls_report"></script>""",
        "inspectlet": f"""<script type="text/javascript">
(function() {{
window.__insp = window.__insp || [];
__insp.push(['wid', {n}]);
var ldinsp = function(){{
if(typeof window.__inspld != "undefined") return; window.__inspld = 1; var insp = document.createElement('script'); insp.type = 'text/javascript'; insp.async = true; insp.id = "inspsync"; insp.src = ('https:' == document.location.protocol ? 'https' : 'http') + '://cdn.inspectlet.com/inspectlet.js?wid={n}&r=' + Math.floor(new Date().getTime()/3600000); var x = document.getElementsByTagName('script')[0]; x.parentNode.insertBefore(insp, x); }};
setTimeout(ldinsp, 0);
}})();
</script>""",
        "logrocket": f"""<script src="https://cdn.logrocket.io/LogRocket.min.js" crossorigin="anonymous"></script>
<script>window.LogRocket && window.LogRocket.init('{k[:6]}/{domain.split('.')[0]}');</script>""",
        "luckyorange": f"""<script async defer src="https://tools.luckyorange.com/core/lo.js?site-id={k[:8]}"></script>""",
        "smartlook": f"""<script type='text/javascript'>
  window.smartlook||(function(d) {{
    var o=smartlook=function(){{ o.api.push(arguments)}},h=d.getElementsByTagName('head')[0];
    var c=d.createElement('script');o.api=new Array();c.async=true;c.type='text/javascript';
    c.charset='utf-8';c.src='https://web-sdk.smartlook.com/recorder.js';h.appendChild(c);
    }})(document);
    smartlook('init', '{_h(k, 40)}', {{ region: 'eu' }});
</script>""",
        GA: f"""<script async src="https://www.googletagmanager.com/gtag/js?id=G-{k[:10].upper()}"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){{dataLayer.push(arguments);}}
  gtag('js', new Date());
  gtag('config', 'G-{k[:10].upper()}');
</script>""",
    }
    return snippets[service_id]


def blocked_snippet(service_id: str, domain: str, mode: str) -> str:
    """The snippet present in the HTML but never executed (HTML-only evidence)."""
    snippet = vendor_snippet(service_id, domain)
    if mode == "comment":
        return f"<!-- {service_id} disabled until the new consent banner ships\n{snippet}\n-->"
    if mode == "noscript":
        return f"<noscript>{snippet}</noscript>"
    if mode == "consent":  # consent-manager pattern: script kept inert as text/plain
        import re
        snippet = re.sub(r"<script(?: type=(['\"])text/javascript\1)?",
                         '<script type="text/plain" data-cookieconsent="statistics"', snippet)
        return snippet
    raise ValueError(mode)


# --------------------------------------------------------------------------------------------
# Vendor stub JS, served on the real vendor hosts; unknown paths on vendor hosts answer 204
# --------------------------------------------------------------------------------------------

def _beacon_js(name: str, url_js: str, method: str = "fetch") -> str:
    """Stub script body: one beacon to ``url_js`` (a JS expression)."""
    if method == "image":
        send = "(new Image()).src = url + (url.indexOf('?') < 0 ? '?' : '&') + 'rn=' + Math.random();"
    else:
        send = ("try { fetch(url, {method: 'POST', mode: 'no-cors', keepalive: true, body: payload}); }\n"
                "  catch (e) { (new Image()).src = url; }")
    return (f"/* {name} (trackscope fixture-web stub) */\n(function () {{\n"
            f"  var url = {url_js};\n"
            "  var payload = JSON.stringify({p: location.href, r: document.referrer, t: Date.now(),"
            " w: window.innerWidth, h: window.innerHeight});\n"
            f"  {send}\n}})();\n")


def _loader_js(name: str, src: str) -> str:
    return (f"/* {name} loader (trackscope fixture-web stub) */\n(function () {{\n"
            f"  var s = document.createElement('script'); s.async = true; s.src = {json.dumps(src)};\n"
            "  (document.head || document.documentElement).appendChild(s);\n})();\n")


H = "encodeURIComponent(location.hostname)"
# (host, path prefix) -> JS; the first matching prefix wins
VENDOR_ROUTES: dict[tuple[str, str], str] = {
    ("www.clarity.ms", "/tag/"): _loader_js("Microsoft Clarity tag", "https://scripts.clarity.ms/0.8.9/clarity.js"),
    ("scripts.clarity.ms", "/"): _beacon_js("Microsoft Clarity", "'https://x.clarity.ms/collect'"),
    ("static.hotjar.com", "/c/hotjar-"): _loader_js("Hotjar bootstrap", "https://script.hotjar.com/modules.4c3b1a2f.js"),
    ("script.hotjar.com", "/"): _beacon_js("Hotjar", f"'https://in.hotjar.com/api/v2/client/sites/' + {H} + '/visit-data?sv=7'"),
    ("cdn.mouseflow.com", "/projects/"): _beacon_js("Mouseflow", f"'https://n2.mouseflow.com/events/' + {H} + '?v=2'"),
    ("mc.yandex.ru", "/metrika/tag.js"): _beacon_js("Yandex Metrica", f"'https://mc.yandex.ru/watch/1?page-url=' + encodeURIComponent(location.href) + '&wv-type=0'", "image")
    + _beacon_js("Yandex Metrica webvisor", "'https://mc.yandex.ru/webvisor/1?wv-part=1'"),
    ("t.contentsquare.net", "/uxa/"): _beacon_js("ContentSquare", f"'https://c.contentsquare.net/pageview?pid=1&url=' + encodeURIComponent(location.href)", "image"),
    ("script.crazyegg.com", "/pages/scripts/"): _beacon_js("Crazy Egg", f"'https://tracking.crazyegg.com/track/visit?h=' + {H}"),
    ("js-cdn.dynatrace.com", "/jstag/"): _beacon_js("Dynatrace RUM", "'https://bf' + (Date.now() % 100000) + '.bf.dynatrace.com/bf?type=js3&flavor=post'"),
    ("gateway.foresee.com", "/sites/"): _beacon_js("ForeSee gateway", f"'https://analytics.foresee.com/ingest/events?site=' + {H}"),
    ("edge.fullstory.com", "/s/fs.js"): _beacon_js("FullStory", f"'https://rs.fullstory.com/rec/page?OrgId=' + encodeURIComponent(window['_fs_org'] || '') + '&Host=' + {H}"),
    ("cdn.glassboxdigital.io", "/detector/"): _beacon_js("Glassbox", "'https://report.glassboxdigital.io/glassbox/reporting/cls_report'"),
    ("cdn.inspectlet.com", "/inspectlet.js"): _beacon_js("Inspectlet", f"'https://hn.inspectlet.com/init?h=' + {H}", "image"),
    ("cdn.logrocket.io", "/LogRocket.min.js"): (
        "/* LogRocket (trackscope fixture-web stub) */\nwindow.LogRocket = {init: function (app) {\n"
        + _beacon_js("LogRocket init", "'https://r.lr-ingest.io/i?a=' + encodeURIComponent(app)")
        + "}};\n"),
    ("tools.luckyorange.com", "/core/lo.js"): _beacon_js("Lucky Orange", f"'https://upload.luckyorange.net/v1/events?h=' + {H}"),
    ("web-sdk.smartlook.com", "/recorder.js"): _beacon_js("Smartlook", "'https://web-writer.eu.smartlook.cloud/rec/v2/write?rid=1'"),
    ("www.googletagmanager.com", "/gtag/js"): _beacon_js(
        "gtag.js", "'https://region1.google-analytics.com/g/collect?v=2&en=page_view&tid=' + "
        "encodeURIComponent(((window.dataLayer || []).filter(function (a) { return a[0] === 'config'; })[0] || [0, ''])[1])"
        " + '&dl=' + encodeURIComponent(location.href)"),
}
BEACON_HOSTS = (
    "x.clarity.ms", "in.hotjar.com", "n2.mouseflow.com", "c.contentsquare.net", "tracking.crazyegg.com",
    "analytics.foresee.com", "rs.fullstory.com", "report.glassboxdigital.io", "hn.inspectlet.com",
    "r.lr-ingest.io", "upload.luckyorange.net", "web-writer.eu.smartlook.cloud",
    "region1.google-analytics.com", "www.google-analytics.com",
)
VENDOR_SUFFIXES = (  # any host under these is a vendor host (e.g. bf12345.bf.dynatrace.com)
    "clarity.ms", "hotjar.com", "hotjar.io", "mouseflow.com", "yandex.ru", "yandex.com", "contentsquare.net",
    "crazyegg.com", "dynatrace.com", "foresee.com", "fullstory.com", "glassboxdigital.io", "inspectlet.com",
    "logrocket.io", "lr-ingest.io", "luckyorange.com", "luckyorange.net", "smartlook.com", "smartlook.cloud",
    "google-analytics.com", "googletagmanager.com",
)


def is_vendor_host(host: str) -> bool:
    return any(host == s or host.endswith("." + s) for s in VENDOR_SUFFIXES)


def vendor_script(host: str, path: str) -> str | None:
    for (route_host, prefix), body in VENDOR_ROUTES.items():
        if host == route_host and path.startswith(prefix):
            return body
    return None


# --------------------------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    domain: str
    name: str
    category: str
    services: tuple[str, ...] = ()        # scripts that load (request evidence)
    html_only: tuple[str, ...] = ()       # snippets present but never loading (HTML-only evidence)
    html_only_mode: str = "consent"       # consent | comment | noscript
    srs_disclosure: str = "neither"       # one class for all the site's SRS services
    ga_disclosure: str = "neither"
    policy: str | None = "text"           # "text": link text names the policy; "url": only the URL does; None: no link
    policy_link_text: str | None = None   # defaults by language
    policy_path: str = "/privacy-policy/"
    behavior: str = "ok"
    lang: str | None = None               # defaults: 'ja' for .jp, else 'en'

    @property
    def group(self) -> str:
        return "jp" if self.domain.endswith(".jp") else "other"

    @property
    def language(self) -> str:
        return self.lang or ("ja" if self.group == "jp" else "en")

    @property
    def outcome(self) -> str:
        return OUTCOME_BY_BEHAVIOR[self.behavior]

    @property
    def home_host(self) -> str:
        return "www." + self.domain if self.behavior in ("www_redirect", "two_hop") else self.domain

    @property
    def home_path(self) -> str:
        return "/top/" if self.behavior == "two_hop" else "/"

    @property
    def all_services(self) -> tuple[str, ...]:
        return self.services + self.html_only

    def disclosures(self) -> dict[str, str]:
        """Intended policy disclosure class per service on the site (what the policy text encodes)."""
        return {s: (self.ga_disclosure if s == GA else self.srs_disclosure) for s in self.all_services}

    def link_text(self) -> str | None:
        if self.policy is None:
            return None
        if self.policy_link_text:
            return self.policy_link_text
        if self.policy == "url":
            return "サイトのご利用について" if self.language == "ja" else "Legal"
        return "プライバシーポリシー" if self.language == "ja" else "Privacy Policy"


S = Site
SITES: tuple[Site, ...] = (
    S("asahi-shinbun-daily.co.jp", "朝日新聞デイリー", "news", (GA, "clarity"), srs_disclosure="both", ga_disclosure="both"),
    S("brightpath-news.com", "BrightPath News", "news", (GA, "hotjar"), srs_disclosure="both", ga_disclosure="both"),
    S("sakura-books.jp", "さくらブックス", "shopping", (GA, "mouseflow"), srs_disclosure="purpose_only", ga_disclosure="both",
      policy_link_text="個人情報保護方針", policy_path="/privacy/"),
    S("northwind-retail.com", "Northwind Retail", "shopping", (GA, "fullstory", "hotjar"), srs_disclosure="purpose_only",
      ga_disclosure="service_only", policy_link_text="Privacy Notice", policy_path="/legal/privacy-notice.html"),
    S("kaiun-travel.co.jp", "快運トラベル", "travel", ("clarity",), srs_disclosure="service_only",
      policy_link_text="個人情報の取り扱い", policy_path="/company/kojinjoho/"),
    S("alpine-outfitters.de", "Alpine Outfitters", "shopping", ("yandex_metrica",), srs_disclosure="neither",
      policy_link_text="Privacy", policy_path="/datenschutz/"),
    S("mirai-bank.co.jp", "みらい銀行", "finance", (GA,), ga_disclosure="both"),
    S("openfield-labs.io", "Openfield Labs", "technology", (GA, "logrocket", "fullstory"), srs_disclosure="both", ga_disclosure="both"),
    S("tokyo-gourmet-navi.jp", "東京グルメナビ", "food", (GA, "contentsquare"), policy="url", policy_path="/privacy/"),
    S("harborview-hotels.com", "Harborview Hotels", "travel", (GA, "glassbox", "contentsquare"), srs_disclosure="service_only",
      ga_disclosure="both"),
    S("kenko-clinic.or.jp", "けんこうクリニック", "health"),
    S("cityparks.org", "City Parks Foundation", "government", policy=None),
    S("denki-mart.co.jp", "でんきマート", "shopping", (GA, "crazyegg", "hotjar"), srs_disclosure="both", ga_disclosure="both"),
    S("quantaforge.net", "QuantaForge", "technology", ("dynatrace", GA), srs_disclosure="purpose_only", ga_disclosure="purpose_only"),
    S("nihon-insurance.co.jp", "日本インシュアランス", "finance", ("dynatrace", "glassbox"), srs_disclosure="purpose_only",
      policy_link_text="個人情報保護方針"),
    S("meridian-fashion.co.uk", "Meridian Fashion", "shopping", ("crazyegg",), srs_disclosure="service_only",
      policy_link_text="Privacy Notice"),
    S("gakushu-juku.jp", "学習塾ネット", "education", ("inspectlet", GA), srs_disclosure="service_only", ga_disclosure="service_only"),
    S("pixelpost-media.com", "PixelPost Media", "entertainment", ("inspectlet", "smartlook", GA)),
    S("hokkaido-farm.jp", "北海道ファーム", "food", ("smartlook",), srs_disclosure="both", policy_link_text="個人情報の取り扱い"),
    S("trailhead-gear.com", "Trailhead Gear", "shopping", ("luckyorange", GA), srs_disclosure="both", ga_disclosure="service_only"),
    S("anime-portal.jp", "アニメポータル", "entertainment", ("luckyorange", GA)),
    S("autohaus-weber.de", "Autohaus Weber", "automotive", ("foresee", GA), srs_disclosure="purpose_only",
      ga_disclosure="purpose_only", policy_path="/datenschutz/"),
    S("fudosan-search.co.jp", "不動産サーチ", "real_estate", ("foresee", "clarity")),
    S("cloudnimbus.io", "CloudNimbus", "technology", ("mouseflow", "yandex_metrica"), srs_disclosure="service_only"),
    S("shizen-cosme.jp", "しぜんコスメ", "beauty", (GA,), ga_disclosure="purpose_only"),
    S("freshbasket.com", "FreshBasket", "food", (GA,), ga_disclosure="neither"),
    S("kotsu-info.go.jp", "交通情報センター", "government", policy_link_text="個人情報保護方針"),
    S("bluewave-telecom.net", "BlueWave Telecom", "technology", ("contentsquare", GA), srs_disclosure="both", ga_disclosure="both"),
    S("yama-outdoor.jp", "ヤマアウトドア", "shopping", (GA,), html_only=("hotjar",), html_only_mode="comment",
      ga_disclosure="both"),
    S("lumen-insights.org", "Lumen Insights", "education", (GA,), html_only=("clarity",), html_only_mode="consent",
      srs_disclosure="both", ga_disclosure="both"),
    S("kyoto-ryokan.jp", "京都旅館", "travel", (), html_only=("mouseflow",), html_only_mode="noscript",
      srs_disclosure="service_only"),
    S("machi-news.jp", "まちニュース", "news", (GA, "clarity"), srs_disclosure="purpose_only", ga_disclosure="purpose_only",
      behavior="www_redirect"),
    S("globalgoods-store.com", "GlobalGoods Store", "shopping", (GA, "hotjar"), srs_disclosure="neither", ga_disclosure="both",
      behavior="two_hop"),
    S("oldtown-library.org", "Oldtown Library", "education", (GA,), ga_disclosure="both", behavior="http_only"),
    S("secure-legacy.net", "Secure Legacy", "technology", behavior="tls_fail"),
    S("slowpoke-weather.com", "Slowpoke Weather", "news", behavior="hang"),
    S("memhog-games.jp", "メモリーゲームズ", "entertainment", behavior="crash"),
    S("offline-shop.co.jp", "オフラインショップ", "shopping", behavior="refused"),
    S("vanished-startup.io", "Vanished Startup", "technology", behavior="dns"),
    S("api-status.net", "API Status", "technology", behavior="json", policy=None),
    S("annual-report.co.jp", "年次報告書", "finance", behavior="pdf", policy=None),
    S("empty-reply.net", "Empty Reply", "technology", behavior="empty"),
    S("tanuki-denki.jp", "たぬき電機", "technology", (GA, "yandex_metrica"), srs_disclosure="service_only", ga_disclosure="service_only"),
    S("riverside-dental.com", "Riverside Dental", "health", (GA,), ga_disclosure="both"),
    S("haru-fashion.co.jp", "ハルファッション", "shopping", (GA, "fullstory"), policy="url", policy_path="/privacy/"),
    S("stellar-courses.io", "Stellar Courses", "education", ("smartlook", "logrocket"), srs_disclosure="purpose_only"),
    S("osaka-kitchen.jp", "大阪キッチン", "food", ("crazyegg", GA), srs_disclosure="purpose_only", ga_disclosure="purpose_only"),
    S("maplecreek-realty.ca", "Maplecreek Realty", "real_estate", (GA,), ga_disclosure="service_only"),
    S("sora-air.co.jp", "そらエア", "travel", ("glassbox", GA), srs_disclosure="both", ga_disclosure="both"),
    S("ironclad-security.com", "Ironclad Security", "technology", ("dynatrace",), srs_disclosure="both"),
    S("nagoya-univ-coop.ac.jp", "名古屋大学生協", "education", policy=None),
    S("vitalis-pharma.ch", "Vitalis Pharma", "health", ("foresee",), srs_disclosure="service_only", policy_link_text="Privacy Notice"),
    S("sushi-master.jp", "寿司マスター", "food", ("inspectlet", GA), policy=None),
    S("brightsmile-kids.com", "BrightSmile Kids", "entertainment", ("luckyorange", "crazyegg"), srs_disclosure="purpose_only"),
    S("minato-sports.jp", "みなとスポーツ", "sports", (GA,), ga_disclosure="neither"),
    S("eurotrain-tickets.eu", "EuroTrain Tickets", "travel", ("contentsquare", GA), srs_disclosure="neither", ga_disclosure="service_only"),
    S("wakaba-hoiku.jp", "わかば保育園", "education", policy_link_text="個人情報の取り扱い"),
    S("coastline-surf.com.au", "Coastline Surf", "sports", policy="url", policy_path="/privacy/"),
    S("kabu-toushi.jp", "株投資ドットコム", "finance", ("logrocket",), srs_disclosure="service_only"),
    S("nordlicht-moebel.de", "Nordlicht Möbel", "shopping", ("mouseflow", GA), srs_disclosure="both", ga_disclosure="purpose_only",
      policy_path="/datenschutz/"),
    S("ginza-watch.co.jp", "銀座ウォッチ", "shopping", ("yandex_metrica", GA), srs_disclosure="purpose_only", ga_disclosure="purpose_only"),
    S("tinkerbox-dev.io", "TinkerBox", "technology", ("hotjar", GA), policy=None),
    S("hikari-net.ne.jp", "ひかりネット", "technology", ("smartlook", GA), srs_disclosure="service_only", ga_disclosure="both"),
    S("greenleaf-garden.org", "Greenleaf Garden Club", "lifestyle", policy=None),
    S("oishii-recipes.jp", "おいしいレシピ", "food", ("fullstory",), srs_disclosure="both", policy_path="/privacy/"),
    S("copperkettle-cafe.co.uk", "Copper Kettle Cafe", "food", ("clarity", GA), srs_disclosure="purpose_only", ga_disclosure="neither",
      policy_link_text="Privacy"),
    S("yoyaku-salon.jp", "予約サロン", "beauty", ("luckyorange", GA), srs_disclosure="service_only", ga_disclosure="both"),
    S("privacyfirst-shop.com", "PrivacyFirst Shop", "shopping", (), html_only=("hotjar", GA), html_only_mode="consent",
      srs_disclosure="both", ga_disclosure="both"),
)
SITES_BY_DOMAIN = {s.domain: s for s in SITES}

KEYWORDS = {
    "news": ("ニュース, 速報, 政治, 経済", "news, headlines, politics, world"),
    "shopping": ("通販, ショッピング, セール", "shopping, online store, deals"),
    "travel": ("旅行, ホテル, 予約", "travel, hotels, booking"),
    "finance": ("銀行, 投資, 保険", "banking, investing, insurance"),
    "technology": ("テクノロジー, クラウド, IT", "technology, cloud, software"),
    "food": ("グルメ, レシピ, レストラン", "food, recipes, restaurants"),
    "health": ("医療, 健康, クリニック", "health, clinic, medical"),
    "government": ("行政, 公共, お知らせ", "government, public services"),
    "education": ("教育, 学習, 講座", "education, courses, learning"),
    "entertainment": ("エンタメ, ゲーム, アニメ", "entertainment, games, video"),
    "automotive": ("自動車, 中古車", "automotive, cars, dealership"),
    "real_estate": ("不動産, 賃貸, 物件", "real estate, homes, rentals"),
    "beauty": ("美容, コスメ, サロン", "beauty, cosmetics, salon"),
    "sports": ("スポーツ, サッカー, 野球", "sports, surfing, fitness"),
    "lifestyle": ("ライフスタイル, 園芸", "lifestyle, gardening, community"),
}
NAV = {
    "ja": (("/about/", "会社概要"), ("/news/", "お知らせ"), ("/products/", "商品・サービス"), ("/contact/", "お問い合わせ")),
    "en": (("/about/", "About us"), ("/news/", "News"), ("/products/", "Products"), ("/contact/", "Contact")),
}
CONTENT_PAGES = {path for lang in NAV.values() for path, _ in lang}


def _head(site: Site, title: str, description: str, extra: str = "") -> str:
    ja = site.language == "ja"
    kw = KEYWORDS[site.category][0 if ja else 1]
    return (f"<!DOCTYPE html>\n<html lang=\"{site.language}\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n"
            f"<meta name=\"description\" content=\"{html.escape(description)}\">\n"
            f"<meta name=\"keywords\" content=\"{html.escape(site.category)}, {html.escape(kw)}\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n{extra}</head>\n")


def _footer(site: Site) -> str:
    ja = site.language == "ja"
    links = [f'<a href="{p}">{html.escape(t)}</a>' for p, t in NAV[site.language]]
    if site.policy is not None:
        links.append(f'<a href="{site.policy_path}">{html.escape(site.link_text())}</a>')
    links.append(f'<a href="/sitemap/">{"サイトマップ" if ja else "Sitemap"}</a>')
    year = "© 2025 " + html.escape(site.name)
    return "<footer>\n" + " | ".join(links) + f"\n<p>{year}</p>\n</footer>\n"


CRASH_SCRIPT = ("<script>/* renderer memory exhaustion: V8 heap OOM kills the renderer (tab crashed) */\n"
                "var hog = []; for (;;) { hog.push(new Array(1e6).fill(hog.length + 0.5)); }\n</script>\n")


def home_html(site: Site) -> str:
    ja = site.language == "ja"
    title = f"{site.name} | " + ("公式サイト" if ja else "Official site")
    desc = (f"{site.name}の公式ウェブサイトです。最新情報やサービスをご紹介します。" if ja
            else f"Welcome to {site.name}: the latest from our team, products and services.")
    extra = "".join(vendor_snippet(s, site.domain) + "\n" for s in site.services)
    extra += "".join(blocked_snippet(s, site.domain, site.html_only_mode) + "\n" for s in site.html_only)
    if site.behavior == "hang":
        extra += f'<script src="{HANG_SCRIPT_PATH}"></script>\n'
    if site.behavior == "crash":
        extra += CRASH_SCRIPT
    nav = "<nav>" + " ".join(f'<a href="{p}">{html.escape(t)}</a>' for p, t in NAV[site.language]) + "</nav>\n"
    body = (f"<body>\n<header><h1>{html.escape(site.name)}</h1></header>\n{nav}<main>\n"
            f"<p>{html.escape(desc)}</p>\n"
            + ("<h2>新着情報</h2>\n<ul><li><a href=\"/news/\">年末年始の営業について</a></li>"
               "<li><a href=\"/products/\">新サービスのお知らせ</a></li></ul>\n" if ja else
               "<h2>Latest</h2>\n<ul><li><a href=\"/news/\">Holiday opening hours</a></li>"
               "<li><a href=\"/products/\">Introducing our new service</a></li></ul>\n")
            + "</main>\n" + _footer(site) + "</body>\n</html>\n")
    return _head(site, title, desc, extra) + body


def content_html(site: Site, path: str) -> str:
    label = dict(NAV[site.language]).get(path, "Sitemap")
    return (_head(site, f"{label} | {site.name}", f"{label} - {site.name}")
            + f"<body><h1>{html.escape(label)}</h1><p>{html.escape(site.name)}</p>\n" + _footer(site) + "</body></html>\n")


def policy_text(site: Site) -> str:
    return policy_page_text(site.language, site.disclosures(), site.name, SITES.index(site) + 1)


def policy_html(site: Site) -> str:
    ja = site.language == "ja"
    title = f"{site.link_text() if site.policy == 'text' else ('プライバシーポリシー' if ja else 'Privacy Policy')} | {site.name}"
    paragraphs = [p.strip() for p in policy_text(site).split("\n\n") if p.strip()] or [""]
    body = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (_head(site, title, title) + f"<body>\n<main>\n<h1>{html.escape(title.split(' | ')[0])}</h1>\n{body}\n</main>\n"
            + _footer(site) + "</body>\n</html>\n")


JSON_BODY = json.dumps({"status": "ok", "service": "api-status", "version": "2.4.1", "regions": ["eu", "us", "ap"]}) + "\n"
PDF_BODY = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


# --------------------------------------------------------------------------------------------
# Ground truth and the Tranco fixture
# --------------------------------------------------------------------------------------------

def site_ground_truth(site: Site, rank: int) -> dict:
    ok = site.outcome == "ok" and site.behavior not in ("json", "pdf")
    services = {}
    if ok:
        services.update({s: "requests" for s in site.services})
        services.update({s: "html" for s in site.html_only})
    disclosure = {s: ("no_policy" if site.policy is None else site_level(site.disclosures())[s]) for s in services}
    return {
        "rank": rank,
        "group": site.group,
        "expected_outcome": site.outcome,
        "final_host": None if site.behavior in NO_PAGE_BEHAVIORS else site.home_host,
        "services": dict(sorted(services.items())),
        "disclosure": dict(sorted(disclosure.items())),
        "policy_lang": site.language if site.policy is not None else None,
        "has_policy_link": site.policy is not None,
        "policy_path": site.policy_path if site.policy is not None else None,
        "category": site.category,
        "non_html": site.behavior in ("json", "pdf"),
        "behavior": site.behavior,
    }


def build_ground_truth() -> dict:
    return {site.domain: site_ground_truth(site, rank) for rank, site in enumerate(SITES, start=1)}


def ground_truth_text() -> str:
    return json.dumps(build_ground_truth(), ensure_ascii=False, indent=1) + "\n"


def tranco_csv_text() -> str:
    return "".join(f"{rank},{site.domain}\n" for rank, site in enumerate(SITES, start=1))


def write_files() -> None:
    GROUND_TRUTH_PATH.write_text(ground_truth_text(), encoding="utf-8")
    TRANCO_FIXTURE_PATH.write_text(tranco_csv_text(), encoding="utf-8")


def check_sites() -> None:
    """Internal consistency of ``SITES`` (raises AssertionError)."""
    assert len({s.domain for s in SITES}) == len(SITES)
    for s in SITES:
        assert s.behavior in OUTCOME_BY_BEHAVIOR, s
        assert s.srs_disclosure in DISCLOSURE_CLASSES and s.ga_disclosure in DISCLOSURE_CLASSES, s
        assert set(s.all_services) <= set(ALL_SERVICES), s
        assert not set(s.services) & set(s.html_only), s
        assert s.category in KEYWORDS, s
        for bad in ("contentsquare", "glassbox", "logrocket", "luckyorange"):  # URL patterns in signatures.yaml
            assert bad not in s.domain, s
