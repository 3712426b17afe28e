"""Record the real-format HAR samples of tests/survey/data/har from headless Chromium on loopback.

    python tests/survey/data/har/record_hars.py <node_modules dir> [<python path with playwright>]

puppeteer-har (@themarkup/puppeteer-har 0.2.1, chrome-har) and Playwright (record_har_path)
drive /usr/bin/chromium against two small sites served here (every host -> 127.0.0.1): a site
whose bare host redirects to www (a redirect chain sharing one request id) with Hotjar, a
first-party Dynatrace agent and Google Analytics, and a second site (another host of the same
registrable domain) with Microsoft Clarity. Chrome DevTools, Firefox and BrowserMob samples are
written by hand after their published formats (see README.md).
"""
import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHOP = """<!doctype html><html><head><meta charset="utf-8"><title>HAR shop</title>
<script type="text/javascript" src="/ruxitagentjs_ICA27NVfghqrux_10283240118143452.js"></script>
<script>(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};h._hjSettings={hjid:3141592,hjsv:6};
a=o.getElementsByTagName('head')[0];r=o.createElement('script');r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;a.appendChild(r);
})(window,document,'//static.hotjar.com/c/hotjar-','.js?sv=');</script>
<script async src="//www.googletagmanager.com/gtag/js?id=G-HAR0000001"></script>
</head><body><h1>shop</h1></body></html>"""
NEWS = """<!doctype html><html><head><meta charset="utf-8"><title>HAR news</title>
<script>(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};t=l.createElement(r);t.async=1;
t.src="//www.clarity.ms/tag/"+i;y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);})(window,document,"clarity","script","har0news1");</script>
</head><body><h1>news</h1></body></html>"""
URLS = ["http://shop.har-test.jp/", "http://news.har-test.jp/"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, code, body=b"", ctype="text/plain", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        path = self.path.split("?")[0]
        if host == "shop.har-test.jp" and path == "/":
            return self._send(301, headers=[("Location", "http://www.shop.har-test.jp/")])
        if path == "/" and host == "www.shop.har-test.jp":
            return self._send(200, SHOP.encode(), "text/html; charset=utf-8")
        if path == "/" and host == "news.har-test.jp":
            return self._send(200, NEWS.encode(), "text/html; charset=utf-8")
        if path == "/favicon.ico":
            return self._send(404, b"not found")
        return self._send(200, b"/* stub */", "application/javascript")

    do_POST = do_GET


def main(node_modules: str, playwright_path: str | None = None) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        # ES modules resolve packages next to the script: run a copy beside node_modules
        script = Path(node_modules).parent / "record_puppeteer_har.mjs"
        shutil.copy(HERE / "record_puppeteer_har.mjs", script)
        # Blacklight records one site per HAR: the shop (its redirect chain shares one request id)
        subprocess.run(["node", str(script), str(port), str(HERE / "puppeteer-har.har"), URLS[0]],
                       check=True, timeout=120, env={"PATH": "/usr/bin:/bin"}, cwd=str(script.parent))
        if playwright_path:
            sys.path.insert(0, playwright_path)
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                    "--no-sandbox", "--disable-quic", f"--host-resolver-rules=MAP * 127.0.0.1:{port}"])
                context = browser.new_context(record_har_path=str(HERE / "playwright.har"), record_har_content="embed")
                for url in URLS:  # one tab per site: one HAR page each
                    page = context.new_page()
                    page.goto(url, wait_until="load")
                    page.wait_for_timeout(1000)
                context.close()
                browser.close()
    finally:
        server.shutdown()
    for name in ("puppeteer-har.har", "playwright.har"):
        path = HERE / name
        if path.exists():  # pretty-print for review; content unchanged
            path.write_text(json.dumps(json.loads(path.read_text()), indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
