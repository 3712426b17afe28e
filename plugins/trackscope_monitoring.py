"""Airflow plugin: trackscope's monitoring inside the Airflow UI, behind Airflow's login.

* a "trackscope" entry in the navigation: the latest report, checkpoint results, quarantine
  counts and model gate decision of every domain, and recent alerts;
* a "trackscope" tab on every DAG run: that run's report, checkpoints, quarantine and gate.

Both are pages of the FastAPI app mounted at ``/trackscope`` (transforms/common/monitoring_app.py),
reading the lake at ``TRACKSCOPE_LAKE_URI``.
"""
from airflow.plugins_manager import AirflowPlugin

from transforms.common.monitoring_app import create_app


class TrackscopeMonitoringPlugin(AirflowPlugin):
    name = "trackscope_monitoring"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/trackscope", "name": "trackscope monitoring"}]
    external_views = [
        {"name": "trackscope", "href": "trackscope/", "destination": "nav", "url_route": "trackscope",
         "category": "browse"},
        {"name": "trackscope report", "href": "trackscope/runs/{DAG_ID}/{RUN_ID}", "destination": "dag_run",
         "url_route": "trackscope_run"},
    ]
