"""The fixture-web server: one loopback port serving TLS and plain HTTP, virtual hosts by Host header.

Each accepted connection's first byte is peeked: 0x16 (TLS handshake record) means the socket is
wrapped with a throwaway ``trustme`` certificate (Chromium runs with --ignore-certificate-errors),
anything else is served as plain HTTP. Headless Chromium reaches every fixture host through
``--host-resolver-rules`` (``MAP * 127.0.0.1:<port>``, plus the refused / NXDOMAIN hosts).
"""
from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from transforms.survey.fixture_web import sites as S
from transforms.synthetic import survey_policy

PEEK_TIMEOUT_S = 10
IDLE_TIMEOUT_S = 30


def _hosts(behaviors: set[str]) -> list[str]:
    return [h for s in S.SITES if s.behavior in behaviors for h in (s.domain, "www." + s.domain)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fixture-web/1"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    # ---- helpers -------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if isinstance(self.connection, ssl.SSLSocket) else "http"

    def _send(self, status: int, body: bytes | str = b"", ctype: str = "text/html; charset=utf-8",
              headers: dict | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        if data or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    def _redirect(self, status: int, location: str) -> None:
        self._send(status, f'<a href="{location}">moved</a>', headers={"Location": location})

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    # ---- dispatch ------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802
        self.server.fixture.count_request()
        host = (self.headers.get("Host") or "").split(":")[0].lower().rstrip(".")
        path = urlsplit(self.path).path or "/"
        self._drain_body()
        try:
            if S.is_vendor_host(host):
                return self._vendor(host, path)
            bare = host[4:] if host.startswith("www.") else host
            site = S.SITES_BY_DOMAIN.get(bare)
            if site is None:
                page = survey_policy.serve(host, path)  # policy fixture sites (linked / PDF / collapsed)
                return self._send(200, *page) if page else self._send(404, "no such fixture host\n", "text/plain")
            return self._site(site, host, path)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True

    do_POST = do_GET
    do_HEAD = do_GET

    def do_OPTIONS(self):  # noqa: N802
        self._drain_body()
        self._send(204, headers={
            "Access-Control-Allow-Origin": self.headers.get("Origin") or "*",
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": self.headers.get("Access-Control-Request-Headers") or "*",
            "Access-Control-Allow-Credentials": "true",
        })

    def _vendor(self, host: str, path: str) -> None:
        cors = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
        body = S.vendor_script(host, path) if self.command != "POST" else None
        if body is None:
            return self._send(204, headers=cors)
        self._send(200, body, "application/javascript; charset=utf-8", cors)

    def _site(self, site: S.Site, host: str, path: str) -> None:
        b = site.behavior
        if b == "empty":
            self.close_connection = True
            return
        if b == "tls_fail" and self.scheme == "http":
            return self._redirect(301, f"https://{host}{self.path}")
        if b in ("www_redirect", "two_hop") and host == site.domain:
            return self._redirect(301, f"{self.scheme}://www.{site.domain}{self.path}")
        if b == "two_hop" and path == "/":
            return self._redirect(302, f"{self.scheme}://{host}/top/")
        if b == "hang" and path == S.HANG_SCRIPT_PATH:
            return self._hang()
        if path == site.home_path:
            if b == "json":
                return self._send(200, S.JSON_BODY, "application/json")
            if b == "pdf":
                return self._send(200, S.PDF_BODY, "application/pdf",
                                  {"Content-Disposition": 'inline; filename="annual-report.pdf"'})
            return self._send(200, S.home_html(site))
        if site.policy is not None and path == site.policy_path:
            return self._send(200, S.policy_html(site))
        if path in S.CONTENT_PAGES or path == "/sitemap/":
            return self._send(200, S.content_html(site, path))
        if path == "/robots.txt":
            return self._send(200, "User-agent: *\nAllow: /\n", "text/plain")
        return self._send(404, "<h1>404 Not Found</h1>")

    def _hang(self) -> None:
        """Headers and a first chunk, then nothing, until the server stops (never blocks other threads)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/javascript")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"/* loading ...")
        self.wfile.flush()
        self.close_connection = True
        stop = self.server.fixture.stopping
        while not stop.wait(0.5):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, fixture: "FixtureWeb"):
        self.fixture = fixture
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request, client_address):
        """Runs in the per-connection thread: peek the first byte, wrap TLS if it is a handshake."""
        try:
            request.settimeout(PEEK_TIMEOUT_S)
            first = request.recv(1, socket.MSG_PEEK)
            if not first:
                return
            if first == b"\x16":
                request = self.fixture.ssl_context.wrap_socket(request, server_side=True)
            request.settimeout(None)
        except (OSError, ssl.SSLError):
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            self.RequestHandlerClass(request, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                request.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):  # quiet: browsers drop connections all the time
        pass


class FixtureWeb:
    """The offline fixture web. ``with FixtureWeb() as web: ...`` (or ``start()`` / ``stop()``)."""

    def __init__(self):
        self.port: int | None = None
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._lock = threading.Lock()
        self.request_count = 0
        self.ssl_context = self._make_ssl_context()

    def _make_ssl_context(self) -> ssl.SSLContext:
        import trustme

        ca = trustme.CA(key_type=trustme.KeyType.ECDSA)  # fast handshakes
        leaf = ca.issue_cert("fixture-web.test", "*.fixture-web.test", "localhost", "127.0.0.1",
                             key_type=trustme.KeyType.ECDSA)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(ctx)
        ctx.set_alpn_protocols(["http/1.1"])
        no_tls = set(_hosts({"http_only", "tls_fail"}))

        def sni(sslobj, server_name, context):
            if server_name and server_name.lower() in no_tls:
                return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE  # abort: this site has no working https
            return None

        ctx.sni_callback = sni
        return ctx

    def count_request(self) -> None:
        with self._lock:
            self.request_count += 1

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> "FixtureWeb":
        if self._server is not None:
            return self
        self.stopping.clear()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"fixture-web:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "FixtureWeb":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- browser wiring ------------------------------------------------------------------
    @property
    def host_resolver_rules(self) -> str:
        if self.port is None:
            raise RuntimeError("FixtureWeb is not started")
        rules = [f"MAP {h} 127.0.0.1:1" for h in _hosts({"refused"})]
        rules += [f"MAP {h} ~NOTFOUND" for h in _hosts({"dns"})]
        rules.append(f"MAP * 127.0.0.1:{self.port}")
        return ", ".join(rules)

    def chromium_args(self) -> list[str]:
        return [f"--host-resolver-rules={self.host_resolver_rules}", "--ignore-certificate-errors"]

    def url(self, domain: str, scheme: str = "https") -> str:
        return f"{scheme}://{domain}/"


def wait_until_listening(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"fixture web not listening on {port}")


__all__ = ["FixtureWeb", "wait_until_listening"]
