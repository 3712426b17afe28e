"""FastAPI app: POST an access → 202 + key; GET the key → processing | success | error
(``?wait=S`` long-polls up to S seconds for the result, so clients need not poll in a loop).

Mounted in Airflow by ``plugins/member_id_api.py`` and runnable alone:
``uvicorn transforms.member_id.api.app:create_app_from_settings --factory`` (``--workers N`` runs
N processes on one SQL store; PostgreSQL is recommended then, see docs/member_id.md).
Clients authenticate with ``X-API-Key`` (stored hashed); each key has a per-minute limit (429 +
Retry-After; counted in SQL, so it holds across API processes and restarts) and usage counts
(``/v1/usage``; all keys for admin keys at ``/v1/admin/usage``).
Logs carry request keys and counts, never IP addresses or User-Agents.

Hostile clients: errors are RFC 9457 problem details that never echo the input; bodies over
``mid_api_max_body_bytes`` get 413; a missing or unknown key gets 401; addresses are checked by
the ingest's own ``validate_ip`` (private and reserved addresses refused as the ingest quarantines
them); access times must lie between 1995-01-01 and one day after now; text must be storable
(no lone surrogates, NUL or control characters). ``Idempotency-Key`` on a POST makes a retry
return the first request's key without storing or counting it again.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Annotated, Optional

import anyio.to_thread
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from transforms.common import webapp
from transforms.common.webapp import problem_responses, text_problem
from transforms.member_id.api import db
from transforms.member_id.api.workers import ModelSource, WorkerPool
from transforms.member_id.ingest import validate_ip

log = logging.getLogger(__name__)

KEY_CACHE_S = 5.0  # a key's row (id, limit, admin flag) is reused this long: a deleted key stops within it
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


EARLIEST_ACCESS = datetime(1995, 1, 1, tzinfo=timezone.utc)
LATEST_AHEAD = timedelta(days=1)  # clocks run ahead; a later access time is refused
# The schema states what is accepted as precisely as JSON Schema can; the validators below then
# refuse what it cannot state (non-public addresses, impossible dates, times in the future).
ACCESS_TIME_PATTERN = (r"^(199[5-9]|20[0-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                       r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
USER_AGENT_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"  # not blank, no control chars


class EstimationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    ip: str = Field(max_length=64, examples=["81.2.69.160"], json_schema_extra={
        "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}, description=(
        "public IPv4 or IPv6 address of the access; private and reserved addresses are refused "
        "(422) as the ingest quarantines them (same function)"))
    access_time: str = Field(pattern=ACCESS_TIME_PATTERN, max_length=40, examples=["2026-03-09T12:34:56Z"],
                             description=("RFC 3339 time of the access with Z or an offset, between "
                                          "1995-01-01 and one day after now"))
    user_agent: str = Field(min_length=1, max_length=2048, pattern=USER_AGENT_PATTERN, description=(
        "User-Agent header of the access: not blank, no control characters"),
        examples=["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36"])

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        _refuse_bad_text(value)
        ip, reason = validate_ip(value)
        if ip is None:
            raise ValueError(reason)
        return ip

    @field_validator("access_time")
    @classmethod
    def _utc(cls, value: str) -> str:
        """The time in UTC, ISO format."""
        return check_access_time(value)

    @field_validator("user_agent")
    @classmethod
    def _ua(cls, value: str) -> str:
        _refuse_bad_text(value)
        if not value.strip():
            raise ValueError("blank")
        return value


def _refuse_bad_text(value: str) -> None:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)


def check_access_time(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value).astimezone(timezone.utc)
    except ValueError:
        raise ValueError("not a valid date and time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ValueError("outside the supported time range") from None
    if not EARLIEST_ACCESS <= parsed <= datetime.now(timezone.utc) + LATEST_AHEAD:
        raise ValueError("outside the supported time range (1995-01-01 to one day after now)")
    return parsed.isoformat()


class Accepted(BaseModel):
    key: str
    status: str = "processing"
    result_url: str


class EstimationResult(BaseModel):
    key: str
    status: str = Field(description="processing | success | error")
    member_id: Optional[str] = Field(None, description='estimated member; "" when no member is estimated')
    likelihood: Optional[float] = None
    error: Optional[str] = Field(None, description="why the estimation failed (e.g. which field could not be derived)")
    model_version: Optional[str] = None


IDEMPOTENCY_PATTERN = r"^[\x21-\x7e]{1,200}$"  # printable ASCII, no spaces
BATCH_IDEMPOTENCY_PATTERN = r"^[\x21-\x7e]{1,190}$"  # stored per item as "<key> <i>" (db.idempotency_keys)
MAX_BATCH = 100  # requests per batch POST / keys per batch GET
REQUEST_KEY_PATTERN = r"^[0-9a-f]{32}$"
UNFINISHED = ("pending", "processing")
WAIT = Query(0.0, ge=0.0, le=30.0, description=(
    "seconds to wait for the result before answering `processing` (long poll); 0 answers at once"))


class EstimationBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[EstimationRequest] = Field(min_length=1, max_length=MAX_BATCH, description=(
        f"1 to {MAX_BATCH} accesses; all are accepted or none (the rate limit must hold them all)"))


class AcceptedBatch(BaseModel):
    items: list[Accepted] = Field(description="one per submitted access, in order")


class EstimationResults(BaseModel):
    items: list[EstimationResult] = Field(description="one per requested key, in order")


def result_body(request_key: str, row) -> dict:
    status = "processing" if row["status"] in UNFINISHED else row["status"]
    return {"key": request_key, "status": status, "member_id": row.get("member_id"),
            "likelihood": row.get("likelihood"), "error": row.get("error"), "model_version": row.get("model_version")}


def create_app(db_url: str, lake_uri: str, city_mmdb: str, isp_mmdb: str, workers: int = 2,
               reload_s: float = 10.0, lease_s: float = 60.0, max_attempts: int = 3, retry_s: float = 1.0,
               retention_s: float = 7 * 86400.0, max_body_bytes: int = 65_536) -> FastAPI:
    engine = db.connect(db_url)
    pool = WorkerPool(engine, ModelSource(lake_uri, reload_s), (city_mmdb, isp_mmdb), workers, lease_s,
                      max_attempts=max_attempts, retry_s=retry_s, retention_s=retention_s)
    key_cache: dict[str, tuple[float, dict]] = {}  # raw key -> (expiry on the monotonic clock, row)
    # SQL calls run in threads, at most as many at once as the engine keeps connections: more (the
    # thread pool has 40) made SQLAlchemy open and close overflow connections all the time, a
    # PostgreSQL backend process each
    sql_slots = anyio.CapacityLimiter(db.POOL_SIZE)

    async def run_in_threadpool(function, *args):
        return await anyio.to_thread.run_sync(functools.partial(function, *args), limiter=sql_slots)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        pool.start()
        yield
        pool.stop()

    app = FastAPI(title="trackscope member-ID estimation", version="1.1", lifespan=lifespan,
                  description="Asynchronous member-ID estimation from (IP, access time, User-Agent); SPEC §S3. "
                              "Errors are RFC 9457 problem details (application/problem+json).")
    webapp.install(app, max_body_bytes)
    app.state.pool, app.state.engine = pool, engine

    async def client(x_api_key: Optional[str] = Depends(API_KEY)) -> dict:
        # APIKeyHeader reads the header directly: FastAPI's generic Header() parsing cost more
        # than the rest of the request handling
        pool.start()  # mounted sub-apps (Airflow plugin) get no lifespan events
        if not x_api_key:
            raise HTTPException(401, "X-API-Key header required", headers={"WWW-Authenticate": "X-API-Key"})
        now = time.monotonic()
        expires, found = key_cache.get(x_api_key, (0.0, None))
        if expires <= now:  # known keys are answered without a thread hop for KEY_CACHE_S seconds
            row = await run_in_threadpool(db.find_key, engine, x_api_key) if len(x_api_key) <= 200 else None
            if row is None:
                key_cache.pop(x_api_key, None)
                raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "X-API-Key"})
            found = dict(row)
            key_cache[x_api_key] = (now + KEY_CACHE_S, found)
        return found

    common = problem_responses(400, 401, 413, s400="invalid Content-Length",
                               s401="X-API-Key missing or unknown", s413="request body too large")
    result_link = {"GetEstimation": {"operationId": "get_estimation",
                                     "parameters": {"request_key": "$response.body#/key"}}}

    @app.post("/v1/estimations", status_code=202, response_model=Accepted, operation_id="submit_estimation",
              responses={202: {"links": result_link, "headers": {"Location": {"schema": {"type": "string"}}}},
                         **common, **problem_responses(409, 422, 429, s400="body is not valid JSON",
                                                      s409="Idempotency-Key already used for a different request",
                                                      s422="invalid field (see `errors`)",
                                                      s429="rate limit; see Retry-After")})
    async def submit(request: EstimationRequest, key: dict = Depends(client),
                     idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key", pattern=IDEMPOTENCY_PATTERN,
                                                             description=(
                         "client-chosen id of this request: a retry with the same key returns the first "
                         "request's key and is neither stored nor counted again; another request under "
                         "a used key gets 409"))) -> JSONResponse:
        try:
            request_key, retry_after = await run_in_threadpool(
                db.submit, engine, key["id"], key["rate_per_minute"], request.ip, request.access_time,
                request.user_agent, idempotency_key)
        except db.IdempotencyConflict:
            raise HTTPException(409, "Idempotency-Key already used for a different request") from None
        if request_key is None:
            raise HTTPException(429, f"limit of {key['rate_per_minute']} requests per minute reached",
                                headers={"Retry-After": str(retry_after)})
        pool.wake.set()
        url = f"/v1/estimations/{request_key}"
        headers = {"Location": url}
        if retry_after == -1:
            headers["Idempotent-Replayed"] = "true"
        # a Response is sent as is: FastAPI skips re-validating what this code just built
        return JSONResponse({"key": request_key, "status": "processing", "result_url": url}, 202, headers=headers)

    async def finished_rows(request_keys: list[str], key: dict, wait: float) -> dict[str, dict]:
        """The rows of ``request_keys`` (404 unless every one is this API key's), after waiting up
        to ``wait`` seconds for the unfinished ones."""
        deadline = time.monotonic() + wait
        with contextlib.ExitStack() as stack:
            waits = {k: stack.enter_context(pool.waiters.waiting(k)) for k in dict.fromkeys(request_keys)}
            rows = await run_in_threadpool(db.fetch_many, engine, list(waits))
            if len(rows) != len(waits) or any(row["api_key_id"] != key["id"] for row in rows.values()):
                raise HTTPException(404, "no such estimation request for this API key")
            for request_key, waiting in waits.items():
                while rows[request_key]["status"] in UNFINISHED and (left := deadline - time.monotonic()) > 0:
                    # this process's workers hand over the result at once; results of another
                    # process's workers come from the result poller (ResultWaiters)
                    try:
                        await asyncio.wait_for(waiting.event.wait(), timeout=left)
                    except asyncio.TimeoutError:
                        break
                    waiting.event.clear()
                    # no row: its result was not written by the worker that woke us (re-claimed): re-read
                    rows[request_key] = waiting.row or await run_in_threadpool(db.fetch, engine, request_key)
        return rows

    @app.get("/v1/estimations/{request_key}", response_model=EstimationResult, operation_id="get_estimation",
             responses={**common, **problem_responses(404, 422, s404="no such request for this API key",
                                                      s422="invalid `wait` or malformed key")})
    async def result(request_key: str = Path(pattern=REQUEST_KEY_PATTERN, description="the key the POST returned"),
                     key: dict = Depends(client), wait: float = WAIT) -> JSONResponse:
        rows = await finished_rows([request_key], key, wait)
        return JSONResponse(result_body(request_key, rows[request_key]))

    batch_link = {"GetEstimations": {"operationId": "get_estimations",
                                     "parameters": {"key": "$response.body#/items/0/key"}}}

    @app.post("/v1/estimation-batches", status_code=202, response_model=AcceptedBatch,
              operation_id="submit_estimations", responses={
                  202: {"links": batch_link}, **common, **problem_responses(
                      409, 422, 429, s400="body is not valid JSON",
                      s409="Idempotency-Key already used for a different batch",
                      s422="invalid field (see `errors`)", s429="rate limit (the batch counts as its size); see Retry-After")},
              description=(f"Up to {MAX_BATCH} estimations in one call and one transaction (all accepted or none): "
                           "the same as that many single POSTs, for clients with many accesses at once. "
                           "Results: GET /v1/estimations?key=…&key=… (or each key's result_url)."))
    async def submit_batch(batch: EstimationBatch, key: dict = Depends(client),
                           idempotency_key: Optional[str] = Header(
                               None, alias="Idempotency-Key", pattern=BATCH_IDEMPOTENCY_PATTERN, description=(
                                   "client-chosen id of this batch: a retry with the same key and the same "
                                   "requests returns the first batch's keys and is neither stored nor counted "
                                   "again; another batch under a used key gets 409 (keys of single POSTs "
                                   "and of batches are separate)"))) -> JSONResponse:
        fields = [(r.ip, r.access_time, r.user_agent) for r in batch.requests]
        try:
            request_keys, retry_after = await run_in_threadpool(
                db.submit_many, engine, key["id"], key["rate_per_minute"], fields, idempotency_key)
        except db.IdempotencyConflict:
            raise HTTPException(409, "Idempotency-Key already used for a different batch") from None
        if request_keys is None:
            raise HTTPException(429, f"limit of {key['rate_per_minute']} requests per minute reached (the batch "
                                     f"counts as {len(fields)})", headers={"Retry-After": str(retry_after)})
        pool.wake.set()
        headers = {"Idempotent-Replayed": "true"} if retry_after == -1 else None
        return JSONResponse({"items": [{"key": k, "status": "processing", "result_url": f"/v1/estimations/{k}"}
                                       for k in request_keys]}, 202, headers=headers)

    @app.get("/v1/estimations", response_model=EstimationResults, operation_id="get_estimations",
             responses={**common, **problem_responses(404, 422, s404="a key is not a request of this API key",
                                                      s422="invalid `wait`, malformed or too many keys")},
             description="Results of several requests in one call; with `wait`, answers once all are finished "
                         "or the wait is over.")
    async def results(request_keys: list[Annotated[str, StringConstraints(pattern=REQUEST_KEY_PATTERN)]] = Query(
                          alias="key", min_length=1, max_length=MAX_BATCH, description=(
                              f"1 to {MAX_BATCH} keys returned by POSTs (repeat the parameter)")),
                      key: dict = Depends(client), wait: float = WAIT) -> JSONResponse:
        rows = await finished_rows(request_keys, key, wait)
        return JSONResponse({"items": [result_body(k, rows[k]) for k in request_keys]})

    @app.get("/v1/usage", operation_id="my_usage", responses=common)
    def my_usage(key: dict = Depends(client)) -> dict:
        return db.usage(engine, key["id"])[0]

    @app.get("/v1/admin/usage", operation_id="all_usage",
             responses={**common, **problem_responses(403, s403="admin API key required")})
    def all_usage(key: dict = Depends(client)) -> list[dict]:
        if not key["is_admin"]:
            raise HTTPException(403, "admin API key required")
        return db.usage(engine)

    @app.get("/health", operation_id="health", responses=problem_responses(400, 413))
    def health() -> dict:
        version, _ = pool.models.current()
        return {"status": "ok", "model_version": version, "workers": len(pool.threads),
                "processed": pool.processed, "time": datetime.now(timezone.utc).isoformat()}

    return app


def create_app_from_settings() -> FastAPI:
    from transforms.common.settings import load
    from transforms.member_id.settings import MemberIdSettings

    s = load(MemberIdSettings)
    return create_app(s.mid_api_db_url, s.lake_uri, s.mid_city_mmdb, s.mid_isp_mmdb, s.mid_api_workers,
                      s.mid_api_reload_s, s.mid_api_lease_s, s.mid_api_max_attempts, s.mid_api_retry_s,
                      s.mid_api_retention_days * 86400.0, s.mid_api_max_body_bytes)
