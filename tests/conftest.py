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


@pytest.fixture(scope="session")
def s3_endpoint():
    """host:port of an S3-compatible server on loopback (moto), for the whole session."""
    pytest.importorskip("moto", reason="moto[server] is not installed")
    from tests.s3_server import s3_server

    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["local", "s3"])
def any_lake_uri(request, tmp_path):
    """A lake URI on a local folder and, second, on object storage (S3 on loopback)."""
    if request.param == "local":
        return (tmp_path / "lake").as_uri()
    from tests.s3_server import new_bucket_uri

    return new_bucket_uri(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def any_lake(any_lake_uri):
    from transforms.common.lake import Lake

    return Lake(any_lake_uri)


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
