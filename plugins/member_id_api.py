"""Airflow plugin: serves the member-ID estimation API inside the Airflow API server at /member-id."""
from airflow.plugins_manager import AirflowPlugin

from transforms.member_id.api.app import create_app_from_settings


class MemberIdApiPlugin(AirflowPlugin):
    name = "member_id_api"
    fastapi_apps = [{"app": create_app_from_settings(), "url_prefix": "/member-id",
                     "name": "Member-ID estimation API"}]
