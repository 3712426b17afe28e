"""A loopback webhook receiver for alert tests: collects every JSON body POSTed to it."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


class Receiver:
    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.messages: list[dict] = []
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            holder["receiver"].messages.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = holder["receiver"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
