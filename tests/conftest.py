import os

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@pytest.fixture
def lake_uri(tmp_path):
    return (tmp_path / "lake").as_uri()


@pytest.fixture
def lake(lake_uri):
    from transforms.common.lake import Lake

    return Lake(lake_uri)


@pytest.fixture
def settings(lake_uri, monkeypatch):
    """Settings pointing at a fresh temporary lake (environment also set, for subprocesses)."""
    from transforms.common import settings as settings_module

    monkeypatch.setenv("TRACKSCOPE_LAKE_URI", lake_uri)
    return settings_module.load()


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """A migrated SQLite Airflow metadata DB shared by the session's DAG-run tests."""
    from tests.airflow_run import airflow_env, migrate

    home = tmp_path_factory.mktemp("airflow")
    migrate(airflow_env(home))
    return home
