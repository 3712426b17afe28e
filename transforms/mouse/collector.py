"""Collector endpoint for the recorder: a FastAPI app (mounted in Airflow's API server by
``plugins/mouse_collector.py`` under ``/mouse``, or run standalone with uvicorn).

``POST /collect`` stores one batch as JSON in the lake (``raw/mouse/recorder/ds=<day>/``); batches
without consent are refused (403) and never stored. ``GET /recorder.js`` serves the snippet.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Callable, Optional

from fastapi import FastAPI, HTTPException, Response
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, Field

from transforms.common.lake import Lake
from transforms.mouse.recorder import batch_dir, recorder_js


class Batch(BaseModel):
    session: str = Field(min_length=1, max_length=100)
    user: str = Field(default="", max_length=200)
    task: str = Field(default="", max_length=100)
    page: str = Field(default="", max_length=2000)
    batch: int = 0
    consent: bool = False
    events: list[dict]


def _utc_day() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def create_app(lake: Optional[Lake] = None, day: Callable[[], str] = _utc_day,
               max_batch_events: Optional[int] = None) -> FastAPI:
    """``day`` names the partition a batch lands in (the UTC date by default; the demo pins it)."""
    from transforms.common import settings as settings_module
    from transforms.mouse.settings import MouseSettings

    def current_settings():
        return settings_module.load(MouseSettings)

    app = FastAPI(title="trackscope mouse collector")
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["POST", "GET"], allow_headers=["*"])

    @app.get("/recorder.js")
    def script() -> Response:
        return Response(recorder_js(), media_type="application/javascript")

    @app.post("/collect", status_code=202)
    def collect(batch: Batch) -> dict:
        if not batch.consent:
            raise HTTPException(403, "no consent: batch discarded")
        limit = max_batch_events or current_settings().mouse_max_batch_events
        if len(batch.events) > limit:
            raise HTTPException(413, f"batch of {len(batch.events)} events exceeds {limit}")
        target = lake or current_settings().lake
        ds = day()
        record = {**batch.model_dump(), "received_at": time.time()}
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
        target.write_bytes(f"{batch_dir(ds)}/{name}", json.dumps(record).encode())
        return {"stored": len(batch.events), "ds": ds}

    @app.get("/health")
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
