"""The monitoring pages as a FastAPI app served inside Airflow's API server (see
``plugins/trackscope_monitoring.py``), behind Airflow's authentication.

Routes (under the plugin's ``/trackscope`` prefix):

* ``/`` — the nav page: latest runs, report, checkpoints, quarantine, gate decision per domain;
  needs a logged-in user.
* ``/runs/{dag_id}/{run_id}`` — one DAG run's report, checkpoints, quarantine, gate decision and
  alerts (the "trackscope" tab of a DAG run); needs read access to that DAG's runs.
* ``/reports/{domain}/{key=value}`` — a report folder rendered as HTML.
* ``/lake/{path}`` — report files (the survey's HTML page, charts, CSVs) streamed from the lake;
  only files under ``reports/``.

The lake is the one the tasks write to: ``TRACKSCOPE_LAKE_URI`` (or the Airflow Variable
``trackscope_lake_uri``), a local folder or object storage. Rendering lives in
:mod:`transforms.common.monitoring`; this module only adds the metadata DB and the auth.
"""
from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from transforms.common import monitoring
from transforms.common import settings as settings_module
from transforms.common.settings import BaseSettings

log = logging.getLogger(__name__)
CSP = ("default-src 'self'; script-src 'none'; object-src 'none'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def _variable(name: str):
    try:
        from airflow.models.variable import Variable

        return Variable.get(name, default_var=None)
    except Exception:  # noqa: BLE001 - no DB: the environment decides
        return None


def current_lake():
    return settings_module.load(BaseSettings, variable_getter=_variable).lake


def _run_info(run) -> monitoring.RunInfo:
    extras = []
    for event in getattr(run, "consumed_asset_events", None) or []:
        if isinstance(event.extra, dict):
            extras.append(event.extra)
    return monitoring.RunInfo(dag_id=run.dag_id, run_id=run.run_id, state=str(run.state or ""),
                              logical_date=run.logical_date, start_date=run.start_date, end_date=run.end_date,
                              conf=dict(run.conf or {}), event_extras=extras)


def find_run(dag_id: str, run_id: str):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        return _run_info(run) if run is not None else None


def latest_runs() -> list[monitoring.RunInfo]:
    """The newest run of every DAG."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        newest = select(DagRun.dag_id, func.max(DagRun.id).label("id")).group_by(DagRun.dag_id).subquery()
        runs = session.scalars(select(DagRun).join(newest, DagRun.id == newest.c.id).order_by(DagRun.dag_id)).all()
        return [_run_info(run) for run in runs]


def _base(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _dependencies():
    """Airflow's auth dependencies: (logged in, may read the runs of the path's dag_id)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag, requires_authenticated

    return requires_authenticated(), requires_access_dag("GET", DagAccessEntity.RUN)


def create_app(lake_factory=current_lake, authenticated=None, dag_run_access=None,
               run_lookup=find_run, runs_lookup=latest_runs) -> FastAPI:
    """The app; the arguments replace Airflow's pieces in tests of the pages alone."""
    if authenticated is None or dag_run_access is None:
        authenticated, dag_run_access = _dependencies()
    app = FastAPI(title="trackscope monitoring", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def no_scripts(request: Request, call_next):
        # pages and report files are documents: no script runs in them (a report quoting crawled
        # text cannot act inside Airflow's origin); only the Airflow UI (same origin) may frame them
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.get("/", response_class=HTMLResponse, dependencies=[Depends(authenticated)])
    def overview(request: Request):
        return monitoring.overview_page(lake_factory(), runs_lookup(), _base(request))

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[Depends(dag_run_access)])
    def run_view(dag_id: str, run_id: str, request: Request):
        run = run_lookup(dag_id, run_id)
        if run is None:
            raise HTTPException(404, f"no run {run_id} of {dag_id}")
        return monitoring.run_page(lake_factory(), run, _base(request))

    @app.get("/reports/{domain}/{partition}", response_class=HTMLResponse, dependencies=[Depends(authenticated)])
    def report_view(domain: str, partition: str, request: Request):
        body = monitoring.report_page(lake_factory(), domain, partition, _base(request))
        if body is None:
            raise HTTPException(404, f"no {domain} report {partition}")
        return body

    @app.get("/lake/{path:path}", dependencies=[Depends(authenticated)])
    def lake_file(path: str):
        try:
            data, content_type = monitoring.read_servable(lake_factory(), path)
        except (PermissionError, ValueError) as error:
            raise HTTPException(403, str(error)) from error
        except (FileNotFoundError, OSError) as error:
            raise HTTPException(404, f"not found: {path}") from error
        return Response(data, media_type=content_type,
                        headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"})

    @app.get("/runs/{dag_id}", include_in_schema=False)
    def no_run(dag_id: str, request: Request):
        return RedirectResponse(f"{_base(request)}/")

    return app
