"""Read a whole privacy policy in the crawler's browser (issue 20: "the whole policy").

* :func:`read_page` reads the page the browser shows: for HTML it first expands collapsed
  sections (``<details>``, ``hidden``, ``display:none`` / ``visibility:hidden`` / zero-height
  accordion panels) so their text is read too; for a PDF (``document.contentType``) it fetches the
  file's bytes from inside the page (same origin, the browser's own network stack and resolver)
  and extracts the text with pypdf.
* :func:`linked_policy_urls` picks, from the policy page's links, the cookie / tracking /
  外部送信 / "tools we use" pages on the same site (registrable domain), at most
  :data:`MAX_LINKED`, never the policy page itself; :func:`read_linked_pages` loads each (depth 1:
  links on those pages are not followed).

Every page read becomes ``{url, kind, format, outcome, text, error_message}`` in the raw visit's
``policy.pages``; the disclosure stage keeps each evidence sentence with its page's URL.
"""
from __future__ import annotations

import base64
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from transforms.survey.policy import _norm, _site_of
from transforms.survey.policy_text import pdf_text

MAX_LINKED = 3
TEXT_CAP = 500 * 1024
MAX_PDF_BYTES = 10 * 1024 * 1024

_EXPAND_AND_READ_JS = """
const type = document.contentType || '';
if (type.includes('pdf')) return [type, null, []];
const root = document.body;
if (!root) return [type, '', []];
root.querySelectorAll('details').forEach(d => { d.open = true; });
root.querySelectorAll('[hidden]').forEach(e => e.removeAttribute('hidden'));
const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'IFRAME', 'svg', 'SVG', 'CANVAS', 'VIDEO', 'AUDIO']);
const all = root.querySelectorAll('*');
for (let i = 0; i < all.length && i < 20000; i++) {
  const e = all[i];
  if (skip.has(e.tagName)) continue;
  const cs = getComputedStyle(e);
  if (cs.display === 'none') e.style.setProperty('display', 'block', 'important');
  if (cs.visibility === 'hidden') e.style.setProperty('visibility', 'visible', 'important');
  if ((cs.maxHeight === '0px' || cs.height === '0px') && cs.overflow !== 'visible') {
    e.style.setProperty('max-height', 'none', 'important'); e.style.setProperty('height', 'auto', 'important');
  }
}
return [type, root.innerText, [...root.querySelectorAll('a[href]')].map(a => [a.href, (a.innerText || '').trim()])];
"""
_FETCH_BYTES_JS = """
const done = arguments[arguments.length - 1], limit = arguments[0];
fetch(location.href, {credentials: 'include'}).then(r => r.arrayBuffer()).then(buf => {
  if (buf.byteLength > limit) { done(['too large: ' + buf.byteLength + ' bytes', '']); return; }
  const bytes = new Uint8Array(buf); let s = '';
  for (let i = 0; i < bytes.length; i += 32768) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
  done(['', btoa(s)]);
}).catch(e => done([String(e), '']));
"""


def read_page(driver) -> tuple[dict, list[tuple[str, str]]]:
    """(``{format, text}``, anchors) of the page the browser shows. Raises on a PDF that
    cannot be fetched or read (the caller records the error)."""
    content_type, text, anchors = driver.execute_script(_EXPAND_AND_READ_JS)
    if text is not None:
        return {"format": "html", "text": (text or "")[:TEXT_CAP]}, [(str(h), str(t)) for h, t in anchors or []]
    driver.set_script_timeout(30)
    error, data = driver.execute_async_script(_FETCH_BYTES_JS, MAX_PDF_BYTES)
    if error:
        raise ValueError(f"PDF not fetched: {error[:200]}")
    return {"format": "pdf", "text": pdf_text(base64.b64decode(data))[:TEXT_CAP]}, []


_LINK_TEXT = re.compile(
    r"cookie|クッキー|tracking|trackers?|tracker policy|外部送信|情報送信|アクセス解析|analytics|"
    r"tools we use|third[- ]party (services|tools)|利用している(外部)?(サービス|ツール)", re.I)
_LINK_URL = re.compile(r"cookie|tracking|trackers|gaibu|external[-_]?transmission|tool[-_]?management|analytics", re.I)
_NOT_POLICY = re.compile(r"settings|preferences|manage|accept|reject|opt[- ]?out|設定|同意", re.I)


def _page_key(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path.rstrip("/") or "/", parts.query, ""))


def linked_policy_urls(anchors: list[tuple[str, str]], page_url: str) -> list[str]:
    """Same-site cookie / tracking policy links of a policy page, best first, at most :data:`MAX_LINKED`."""
    site = _site_of((urlsplit(page_url).hostname or "").lower())
    seen = {_page_key(page_url)}
    scored = []
    for order, (href, text) in enumerate(anchors or []):
        url = urljoin(page_url, (href or "").strip())
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or _site_of((parts.hostname or "").lower()) != site:
            continue
        text_n = _norm(text)
        score = 2 * bool(_LINK_TEXT.search(text_n)) + bool(_LINK_URL.search(parts.path))
        if not score or _NOT_POLICY.search(text_n) or _page_key(url) in seen:
            continue
        seen.add(_page_key(url))
        scored.append((-score, order, url.split("#")[0]))
    return [url for _, _, url in sorted(scored)[:MAX_LINKED]]


def read_linked_pages(worker, anchors: list[tuple[str, str]], page_url: str, timeout_s: float, classify_error,
                      short_error) -> list[dict]:
    """Load each linked cookie / tracking policy in ``worker``'s browser; one record per page.
    A page that hangs or crashes the browser ends the reading (the browser is dropped)."""
    pages = []
    for url in linked_policy_urls(anchors, page_url):
        page = {"url": url, "kind": "linked", "format": None, "outcome": None, "text": None, "error_message": None}
        pages.append(page)
        try:
            with worker.guard(timeout_s + 10):
                worker.driver.get(url)
            with worker.guard(40):
                fields, _ = read_page(worker.driver)  # depth 1: its links are not followed
            page.update(fields, outcome="ok")
        except Exception as exc:  # noqa: BLE001 - recorded on the page, the visit goes on
            killed = bool(worker.browser and worker.browser.killed)
            page.update(outcome=classify_error(exc, url, killed), error_message=short_error(exc))
            if page["outcome"] in ("timeout", "crash"):
                worker.drop_browser(graceful=False)
                break
    return pages
