"""What both web apps (member-ID API, mouse collector) need to face hostile clients.

- Errors are RFC 9457 problem details (``application/problem+json``) that never echo the input:
  validation errors name the field (truncated, escaped) and the rule, not the value.
- Request bodies are capped in bytes (413) before any parsing, whether announced by
  Content-Length or streamed chunked.
- Every request gets an id (``X-Request-ID`` response header, ``request_id`` on log records);
  unexpected errors log that id and the traceback's frames, never the exception message (which
  may quote client data such as an IP address or a User-Agent) and answer 500 with the id.
- Text fields are checked for what storage and JSON cannot carry (lone surrogates, NUL, control
  characters) before they reach SQL.
"""
from __future__ import annotations

import contextvars
import json
import logging
import traceback
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trackscope_request_id", default="-")

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 413: "Content too large", 415: "Unsupported media type", 422: "Invalid request",
          429: "Too many requests", 500: "Internal error", 503: "Unavailable"}

PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}}}},
    },
}


def problem_responses(*statuses: int, **descriptions: str) -> dict:
    """OpenAPI ``responses`` entries for problem statuses (``descriptions`` keyed ``s429=...``)."""
    return {s: {"description": descriptions.get(f"s{s}", TITLES.get(s, "Error")),
                "content": {PROBLEM_TYPE: {"schema": PROBLEM_SCHEMA}}} for s in statuses}


def safe_text(value: Any, limit: int = 120) -> str:
    """``value`` as printable, UTF-8-encodable text of at most ``limit`` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8").translate(_CONTROL_ESCAPES)


_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in list(range(32)) + [127]}


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (None when it can): lone surrogates are not UTF-8,
    NUL is refused by PostgreSQL, other control characters break logs and CSV exports."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains characters that are not valid Unicode (lone surrogates)"
    if "\x00" in value:
        return "contains a NUL character"
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        return "contains control characters"
    return None


def problem(status: int, detail: str | None = None, headers: dict | None = None, **extra) -> Response:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = safe_text(detail, 300)
    body["instance"] = f"urn:request:{request_id_var.get()}"
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=True), status, headers=headers, media_type=PROBLEM_TYPE)


def _field(loc) -> str:
    parts = [safe_text(p, 40) for p in loc if p not in ("body",)] or ["body"]
    return ".".join(parts)[:120]


def _message(error: dict) -> str:
    # pydantic's messages name the rule; a ValueError raised by our validators is our own text.
    # Neither includes the input, but cap and escape anyway.
    return safe_text(error.get("msg", "invalid"), 200)


def safe_traceback(exc: BaseException) -> str:
    """The frames of ``exc``'s traceback and its type, without its message (which may quote data)."""
    return "".join(traceback.format_tb(exc.__traceback__)) + type(exc).__name__


def install(app: FastAPI, max_body_bytes: int) -> None:
    """Problem-detail handlers, body cap and request ids on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": _field(e.get("loc", ())), "message": _message(e), "type": safe_text(e.get("type", ""), 40)}
                  for e in exc.errors()[:20]]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(400, "the body is not valid JSON", errors=errors)
        return problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors)[:300], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the methods of one route; a path can have several
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return problem(exc.status_code, str(exc.detail) if exc.detail else None, headers=headers)

    app.add_middleware(BodyLimitAndRequestId, max_body_bytes=max_body_bytes)


def allowed_methods(request: Request) -> str:
    """The methods of every route of ``request``'s path (for a 405's ``Allow``)."""
    from starlette.routing import Match

    methods = set()
    for route in request.app.router.routes:
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= set(route.methods)
    return ", ".join(sorted(methods))


class BodyLimitAndRequestId:
    """Pure ASGI middleware: a request id for each request; bodies over ``max_body_bytes`` get 413
    without being read further (Content-Length checked first, streamed bodies counted)."""

    def __init__(self, app, max_body_bytes: int):
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex[:16]
        token = request_id_var.set(rid)
        try:
            await self._handle(scope, receive, send, rid)
        finally:
            request_id_var.reset(token)

    async def _handle(self, scope, receive, send, rid):
        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_body_bytes
            except ValueError:
                await problem(400, "invalid Content-Length")(scope, receive, send_with_id)
                return
            if too_large:
                await problem(413, f"body over {self.max_body_bytes} bytes")(scope, receive, send_with_id)
                return
        # read the whole body first (it is small by construction), then replay it to the app
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                await problem(413, f"body over {self.max_body_bytes} bytes")(scope, receive, send_with_id)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        started = False

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, replay, tracking_send)
        except Exception as exc:  # noqa: BLE001 - answered and logged here, so that neither Starlette
            # nor uvicorn print the exception message (it may quote client data)
            log.error("request %s failed (%s):\n%s", rid, type(exc).__name__, safe_traceback(exc))
            if not started:
                await problem(500, f"internal error; quote request id {rid}")(scope, replay, send_with_id)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (the current request's id, "-" outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
