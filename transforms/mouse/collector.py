"""Collector endpoint for the recorder: a FastAPI app (mounted in Airflow's API server by
``plugins/mouse_collector.py`` under ``/mouse``, or run standalone with uvicorn).

``POST /collect`` stores one batch as JSON in the lake (``raw/mouse/recorder/ds=<day>/``);
``GET /recorder.js`` serves the snippet.

Who may write (server-side rules; the client's word is never enough):

- **Sites and write tokens.** Each site gets a write token from an operator
  (``python -m transforms.mouse.collector_admin issue-token SITE --origin https://shop.example``);
  only its SHA-256 is kept, in the lake at ``config/mouse/collector_sites.json``. The recorder
  sends it as ``?token=`` (``navigator.sendBeacon`` cannot set headers) or ``X-Collector-Token``.
  Missing or unknown token: 401. The site is taken from the token, never from the body.
- **Allowed origins.** A browser request (one with an ``Origin`` header) is accepted only from an
  origin listed for the token's site (403 otherwise); CORS answers only listed origins.
  Requests without ``Origin`` (non-browser clients) need the token only.
- **Consent.** A batch is stored only when it says ``consent: true`` (the recorder sends nothing
  before the visitor's consent) and the request carries no Global Privacy Control opt-out
  (``Sec-GPC: 1``); otherwise 403 and nothing is stored. The ``user`` label is the site's own
  pseudonym: it is stored as ``<site>:<user>``, so one site cannot write into another's users.
  No IP address or User-Agent is stored.
- **Limits.** Bodies over ``mouse_max_batch_bytes`` get 413 before parsing; more than
  ``mouse_max_batch_events`` events get 422 (the schema states the cap); an event has only the
  recorder's fields (t, type, button, x, y, sy; bounded numbers, texts of at most 16 characters),
  so the largest valid batch is bounded (all text \\u-escaped: 600 bytes an event + 32 KiB) and the
  default byte cap sits just above it (1.2 MB at 2000 events): a schema-valid batch never gets 413.
- **Idempotency.** A batch is stored under a name derived from (site, ``Idempotency-Key`` header
  or, without one, the batch's own content), so a retried POST stores it once (200, ``duplicate``).
- **Local demos only:** with ``TRACKSCOPE_MOUSE_COLLECTOR_OPEN=1`` (or ``create_app(open_mode=True)``)
  no token is asked and any origin may post; batches are stored for the site ``local``.

Errors are RFC 9457 problem details that never echo the input.
"""

import hashlib
import json
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Optional

from fastapi import FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from transforms.common import webapp
from transforms.common.lake import Lake
from transforms.common.webapp import problem, problem_responses, text_problem
from transforms.mouse.recorder import batch_dir, recorder_js

SITES_PATH = "config/mouse/collector_sites.json"
SITES_CACHE_S = 5.0  # a newly issued or revoked token takes effect within this time
OPEN_SITE = "local"
EVENT_TEXT_CHARS = 16
SITE_PATTERN = r"^[a-z0-9][a-z0-9.-]{0,62}$"


PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (lone surrogates are refused while parsing)
COORDINATE = 1e9  # |x|, |y|, |sy| bound (pixels); the loader quarantines off-screen values itself
# bytes of the largest valid event / batch without its events, every text character \u-escaped
# (tests/mouse/test_collector_hostile.py builds both): the default byte cap sits just above them
MAX_EVENT_BYTES, MAX_BATCH_FIELDS_BYTES = 600, 32_768


def default_max_bytes(max_events: int) -> int:
    return max_events * MAX_EVENT_BYTES + MAX_BATCH_FIELDS_BYTES


def _number(low: float, high: float, what: str):
    return Field(None, ge=low, le=high, strict=True, allow_inf_nan=False, description=what)


class Event(BaseModel):
    """One recorder event. Fields may be missing (the daily loader quarantines such events with a
    reason); nothing else is accepted, so a batch's size is bounded by its event count."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    t: Optional[float] = _number(0, 1e11, "seconds since the epoch")
    type: Optional[str] = Field(None, max_length=EVENT_TEXT_CHARS, pattern=PRINTABLE,
                                description="move | drag | press | release | click | scroll_up | scroll_down")
    button: Optional[str] = Field(None, max_length=EVENT_TEXT_CHARS, pattern=PRINTABLE,
                                  description="none | left | middle | right | scroll")
    x: Optional[float] = _number(-COORDINATE, COORDINATE, "viewport x")
    y: Optional[float] = _number(-COORDINATE, COORDINATE, "viewport y")
    sy: Optional[float] = _number(-COORDINATE, COORDINATE, "page scroll offset")


def _text(value: str) -> str:
    reason = text_problem(value)
    if reason:
        raise ValueError(reason)
    return value


class Batch(BaseModel):
    """One batch of the recorder. ``batch_model(limit)`` caps ``events`` at the configured count."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re", json_schema_extra={"examples": [{
        "session": "lq2x8k3p9a", "user": "alice", "task": "browse", "page": "/catalogue", "batch": 0, "consent": True,
        "events": [{"t": 1764756000.12, "type": "move", "button": "none", "x": 310, "y": 122, "sy": 0}]}]})

    session: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    user: str = Field(default="", max_length=200, pattern=PRINTABLE)
    task: str = Field(default="", max_length=100, pattern=PRINTABLE)
    page: str = Field(default="", max_length=2000, pattern=PRINTABLE)
    batch: int = Field(default=0, ge=0, le=10_000_000)
    consent: bool = Field(default=False, description="must be true: batches without consent are refused (403)")
    events: list[Event] = Field(description="the events, in the order they happened")

    @field_validator("session", "user", "task", "page")
    @classmethod
    def _storable(cls, value: str) -> str:
        return _text(value)


def batch_model(max_events: int) -> type[Batch]:
    return create_model("Batch", __base__=Batch, events=(
        list[Event], Field(max_length=max_events, description=Batch.model_fields["events"].description +
                           f"; at most {max_events} per batch")))


class Stored(BaseModel):
    stored: int
    ds: str
    duplicate: bool = False


def _utc_day() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_sites(lake: Lake) -> dict:
    return lake.read_json(SITES_PATH)["sites"] if lake.exists(lake.path(SITES_PATH)) else {}


def issue_token(lake: Lake, site: str, origins: list[str]) -> str:
    """A new write token for ``site`` (replacing its previous one); only its hash is stored."""
    import re

    if not re.match(SITE_PATTERN, site):
        raise ValueError(f"site names match {SITE_PATTERN}")
    for origin in origins:
        if not re.match(r"^https?://[^/\s]+$", origin):
            raise ValueError(f"an origin is scheme://host[:port] without a path, not {origin!r}")
    token = "mct_" + secrets.token_urlsafe(32)
    sites = read_sites(lake)
    sites[site] = {"token_sha256": _token_hash(token), "origins": sorted(set(origins)), "issued_at": time.time()}
    lake.write_json(SITES_PATH, {"sites": sites})
    return token


def revoke(lake: Lake, site: str) -> bool:
    sites = read_sites(lake)
    found = sites.pop(site, None) is not None
    lake.write_json(SITES_PATH, {"sites": sites})
    return found


class SiteRegistry:
    """The sites of one lake, re-read every ``SITES_CACHE_S`` seconds."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cache: dict[str, tuple[float, dict]] = {}  # lake uri -> (expiry, {token hash: (site, origins)})

    def by_token(self, lake: Lake) -> dict:
        now = time.monotonic()
        with self.lock:
            expiry, table = self.cache.get(lake.uri, (0.0, {}))
            if expiry <= now:
                table = {entry["token_sha256"]: (site, set(entry["origins"])) for site, entry in read_sites(lake).items()}
                self.cache[lake.uri] = (now + SITES_CACHE_S, table)
            return table

    def origins(self, lake: Lake) -> set[str]:
        return set().union(*(origins for _, origins in self.by_token(lake).values()))


def create_app(lake: Optional[Lake] = None, day: Callable[[], str] = _utc_day,
               max_batch_events: Optional[int] = None, open_mode: Optional[bool] = None,
               max_batch_bytes: Optional[int] = None) -> FastAPI:
    """``day`` names the partition a batch lands in (the UTC date by default; the demo pins it).
    Unset arguments come from the settings at request time (the Airflow plugin builds the app
    before the environment is final)."""
    from transforms.common import settings as settings_module
    from transforms.mouse.settings import MouseSettings

    def current_settings():
        return settings_module.load(MouseSettings)

    def is_open() -> bool:
        return current_settings().mouse_collector_open if open_mode is None else open_mode

    registry = SiteRegistry()
    limit = max_batch_events or current_settings().mouse_max_batch_events
    BatchIn = batch_model(limit)
    app = FastAPI(title="trackscope mouse collector", version="1.1",
                  description="Receives the mouse recorder's batches. Errors are RFC 9457 problem details.")
    webapp.install(app, max_batch_bytes or current_settings().mouse_max_batch_bytes or default_max_bytes(limit))

    def target_lake() -> Lake:
        return lake or current_settings().lake

    @app.middleware("http")
    async def cors(request: Request, call_next):
        origin = request.headers.get("origin")
        allowed = origin is not None and (is_open() or origin in registry.origins(target_lake()))
        if request.method == "OPTIONS" and origin and request.headers.get("access-control-request-method"):
            if not allowed:
                return problem(403, "origin not allowed")
            return Response(status_code=204, headers={
                "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "POST, GET",
                "Access-Control-Allow-Headers": "Content-Type, X-Collector-Token, Idempotency-Key",
                "Access-Control-Max-Age": "600", "Vary": "Origin"})
        response = await call_next(request)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    @app.get("/recorder.js", response_class=Response, responses={
        200: {"content": {"application/javascript": {"schema": {"type": "string"}}}}, **problem_responses(400, 413)})
    def script() -> Response:
        return Response(recorder_js(), media_type="application/javascript")

    @app.post("/collect", status_code=202, response_model=Stored, operation_id="collect_batch",
              responses={200: {"description": "already stored (a retry)", "model": Stored},
                         **problem_responses(400, 401, 403, 413, 422, s400="body is not valid JSON",
                                             s401="write token missing or unknown",
                                             s403="no consent, opt-out signal (Sec-GPC) or origin not allowed",
                                             s413="body over the byte limit",
                                             s422="invalid batch (e.g. more events than the limit)")})
    def collect(batch: BatchIn, request: Request,
                token: Optional[str] = Query(None, max_length=200, description="the site's write token"),
                x_collector_token: Optional[str] = Header(None, max_length=200),
                idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key",
                                                        pattern=r"^[\x21-\x7e]{1,200}$"),
                sec_gpc: Optional[str] = Header(None, alias="Sec-GPC", max_length=10)) -> JSONResponse:
        target = target_lake()
        if is_open():
            site = OPEN_SITE
        else:
            raw = x_collector_token or token
            if not raw:
                raise HTTPException(401, "write token required (?token= or X-Collector-Token)")
            found = registry.by_token(target).get(_token_hash(raw))
            if found is None:
                raise HTTPException(401, "unknown write token")
            site, origins = found
            origin = request.headers.get("origin")
            if origin is not None and origin not in origins:
                raise HTTPException(403, "origin not allowed for this site")
        if not batch.consent:
            raise HTTPException(403, "no consent: batch discarded")
        if (sec_gpc or "").strip() == "1":
            raise HTTPException(403, "Global Privacy Control opt-out: batch discarded")
        record = batch.model_dump(exclude={"events"})
        record["events"] = [event.model_dump(exclude_unset=True) for event in batch.events]
        if site != OPEN_SITE and record["user"]:
            record["user"] = f"{site}:{record['user']}"
        identity = idempotency_key or json.dumps(record, sort_keys=True)
        name = f"{site}-{hashlib.sha256(f'{site}|{identity}'.encode()).hexdigest()[:32]}.json"
        ds = day()
        path = f"{batch_dir(ds)}/{name}"
        if target.exists(target.path(path)):
            return JSONResponse({"stored": 0, "ds": ds, "duplicate": True}, 200)
        target.write_bytes(path, json.dumps({**record, "site": site, "received_at": time.time()}).encode())
        return JSONResponse({"stored": len(batch.events), "ds": ds, "duplicate": False}, 202)

    @app.get("/health", responses=problem_responses(400, 413))
    def health() -> dict:
        return {"ok": True}

    return app


def main() -> None:
    """Standalone collector: ``python -m transforms.mouse.collector`` (host/port from settings)."""
    import uvicorn

    from transforms.common import settings as settings_module
    from transforms.mouse.settings import MouseSettings

    settings = settings_module.load(MouseSettings)
    uvicorn.run(create_app(settings.lake), host=settings.mouse_collector_host, port=settings.mouse_collector_port)


if __name__ == "__main__":
    main()
