"""A loopback webhook receiver for alert tests: collects every JSON body POSTed to it."""
from __future__ import annotations

import json
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Iterator

from tests.loopback import LoopbackServer


class Receiver(LoopbackServer):
    def __init__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.messages.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.messages: list[dict] = []
        self.url = f"http://127.0.0.1:{self.port}/hook"


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver
