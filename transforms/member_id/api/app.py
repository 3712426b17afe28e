"""FastAPI app: POST an access → 202 + key; GET the key → processing | success | error
(``?wait=S`` long-polls up to S seconds for the result, so clients need not poll in a loop).

Mounted in Airflow by ``plugins/member_id_api.py`` and runnable alone:
``uvicorn transforms.member_id.api.app:create_app_from_settings --factory`` (``--workers N`` runs
N processes on one SQL store; PostgreSQL is recommended then, see docs/member_id.md).
Clients authenticate with ``X-API-Key`` (stored hashed); each key has a per-minute limit (429 +
Retry-After; counted in SQL, so it holds across API processes and restarts) and usage counts
(``/v1/usage``; all keys for admin keys at ``/v1/admin/usage``).
Logs carry request keys and counts, never IP addresses or User-Agents.
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from datetime import datetime, timezone
from typing import Optional

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field, field_validator

from transforms.member_id.api import db
from transforms.member_id.api.workers import ModelSource, WorkerPool

log = logging.getLogger(__name__)

KEY_CACHE_S = 5.0  # a key's row (id, limit, admin flag) is reused this long: a deleted key stops within it
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


class EstimationRequest(BaseModel):
    ip: str = Field(description="IPv4 or IPv6 address of the access", examples=["203.0.113.7"])
    access_time: datetime = Field(description="ISO 8601 time of the access (UTC if no offset)",
                                  examples=["2026-03-09T12:34:56Z"])
    user_agent: str = Field(min_length=1, max_length=2048, description="User-Agent header of the access")

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError("not an IPv4 or IPv6 address") from None

    @field_validator("access_time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


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


def create_app(db_url: str, lake_uri: str, city_mmdb: str, isp_mmdb: str, workers: int = 2,
               reload_s: float = 10.0, lease_s: float = 60.0) -> FastAPI:
    engine = db.connect(db_url)
    pool = WorkerPool(engine, ModelSource(lake_uri, reload_s), (city_mmdb, isp_mmdb), workers, lease_s)
    key_cache: dict[str, tuple[float, dict]] = {}  # raw key -> (expiry on the monotonic clock, row)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        pool.start()
        yield
        pool.stop()

    app = FastAPI(title="trackscope member-ID estimation", version="1.0", lifespan=lifespan,
                  description="Asynchronous member-ID estimation from (IP, access time, User-Agent); SPEC §S3.")
    app.state.pool, app.state.engine = pool, engine

    async def client(x_api_key: Optional[str] = Depends(API_KEY)) -> dict:
        # APIKeyHeader reads the header directly: FastAPI's generic Header() parsing cost more
        # than the rest of the request handling
        pool.start()  # mounted sub-apps (Airflow plugin) get no lifespan events
        if x_api_key is None:
            raise RequestValidationError([{"type": "missing", "loc": ("header", "x-api-key"),
                                           "msg": "Field required", "input": None}])
        now = time.monotonic()
        expires, found = key_cache.get(x_api_key, (0.0, None))
        if expires <= now:  # known keys are answered without a thread hop for KEY_CACHE_S seconds
            row = await run_in_threadpool(db.find_key, engine, x_api_key)
            if row is None:
                key_cache.pop(x_api_key, None)
                raise HTTPException(401, "unknown API key")
            found = dict(row)
            key_cache[x_api_key] = (now + KEY_CACHE_S, found)
        return found

    @app.post("/v1/estimations", status_code=202, response_model=Accepted,
              responses={401: {}, 422: {}, 429: {"description": "rate limit; see Retry-After"}})
    async def submit(request: EstimationRequest, key: dict = Depends(client)) -> JSONResponse:
        request_key, retry_after = await run_in_threadpool(
            db.submit, engine, key["id"], key["rate_per_minute"], request.ip, request.access_time.isoformat(),
            request.user_agent)
        if request_key is None:
            raise HTTPException(429, f"limit of {key['rate_per_minute']} requests per minute reached",
                                headers={"Retry-After": str(retry_after)})
        pool.wake.set()
        url = f"/v1/estimations/{request_key}"
        # a Response is sent as is: FastAPI skips re-validating what this code just built
        return JSONResponse({"key": request_key, "status": "processing", "result_url": url}, 202,
                            headers={"Location": url})

    @app.get("/v1/estimations/{request_key}", response_model=EstimationResult, responses={404: {}})
    async def result(request_key: str, key: dict = Depends(client),
                     wait: float = Query(0.0, ge=0.0, le=30.0, description=(
                         "seconds to wait for the result before answering `processing` (long poll); 0 answers at once"))
                     ) -> JSONResponse:
        deadline = time.monotonic() + wait
        with pool.waiters.waiting(request_key) as waiting:
            row = await run_in_threadpool(db.fetch, engine, request_key)
            if row is None or row["api_key_id"] != key["id"]:
                raise HTTPException(404, "no such estimation request for this API key")
            while row["status"] in ("pending", "processing") and (left := deadline - time.monotonic()) > 0:
                # this process's workers hand over the result at once; results of another
                # process's workers come from the result poller (ResultWaiters)
                try:
                    await asyncio.wait_for(waiting.event.wait(), timeout=left)
                except asyncio.TimeoutError:
                    break
                waiting.event.clear()
                # no row: its result was not written by the worker that woke us (re-claimed): re-read
                row = waiting.row or await run_in_threadpool(db.fetch, engine, request_key)
        status = "processing" if row["status"] in ("pending", "processing") else row["status"]
        return JSONResponse({"key": request_key, "status": status, "member_id": row.get("member_id"),
                             "likelihood": row.get("likelihood"), "error": row.get("error"),
                             "model_version": row.get("model_version")})

    @app.get("/v1/usage")
    def my_usage(key: dict = Depends(client)) -> dict:
        return db.usage(engine, key["id"])[0]

    @app.get("/v1/admin/usage")
    def all_usage(key: dict = Depends(client)) -> list[dict]:
        if not key["is_admin"]:
            raise HTTPException(403, "admin API key required")
        return db.usage(engine)

    @app.get("/health")
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
                      s.mid_api_reload_s, s.mid_api_lease_s)
