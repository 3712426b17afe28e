"""Airflow plugin: serves the mouse recorder's collector in Airflow's API server under /mouse
(``POST /mouse/collect``, ``GET /mouse/recorder.js``); batches land in the configured lake."""
from airflow.plugins_manager import AirflowPlugin

from transforms.mouse.collector import create_app


class MouseCollectorPlugin(AirflowPlugin):
    name = "mouse_collector"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/mouse", "name": "trackscope mouse collector"}]
