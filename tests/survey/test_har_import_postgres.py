"""HAR import → analysis through Airflow with its metadata DB on PostgreSQL (127.0.0.1:5432)."""
import json
import uuid

import pytest

from tests.airflow_run import airflow_env, migrate, run_dag
from transforms.common.lake import Lake
from transforms.survey import schemas

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/{}"


@pytest.fixture
def postgres_airflow(tmp_path):
    sa = pytest.importorskip("sqlalchemy")
    admin = sa.create_engine(PG.format("postgres"), isolation_level="AUTOCOMMIT")
    try:
        admin.connect().close()
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    name = f"trackscope_airflow_{uuid.uuid4().hex[:8]}"
    with admin.connect() as db:
        db.execute(sa.text(f'CREATE DATABASE "{name}"'))
    env = airflow_env(tmp_path / "airflow", AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=PG.format(name),
                      TRACKSCOPE_LAKE_URI=(tmp_path / "lake").as_uri())
    migrate(env)
    yield env
    with admin.connect() as db:
        db.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _har(path, site, tracker_url):
    entries = [
        {"pageref": "p", "startedDateTime": "2024-05-01T09:00:00.000Z", "_resourceType": "document",
         "request": {"method": "GET", "url": f"https://{site}/"},
         "response": {"status": 200, "content": {"mimeType": "text/html", "text": "<html><title>x</title></html>"}}},
        {"pageref": "p", "startedDateTime": "2024-05-01T09:00:01.000Z", "_resourceType": "script",
         "request": {"method": "GET", "url": tracker_url}, "response": {"status": 200, "content": {}}},
    ]
    path.write_text(json.dumps({"log": {"version": "1.2", "pages": [{"id": "p", "title": site}], "entries": entries}}))


def test_har_files_import_and_analyse_on_postgres_metadata(postgres_airflow, tmp_path):
    _har(tmp_path / "a.har", "shop.co.jp", "https://www.clarity.ms/tag/abc")
    _har(tmp_path / "b.har", "news.example.com", "https://static.hotjar.com/c/hotjar-1.js")
    conf = {"crawl_id": "har-2024-05", "har_paths": [str(tmp_path / "*.har")]}
    imported = run_dag(postgres_airflow, "survey_har_import", conf)
    assert imported.state == "success", imported.output[-3000:]
    analysed = run_dag(postgres_airflow, "survey_analysis", {"crawl_id": "har-2024-05"})
    assert analysed.state == "success", analysed.output[-3000:]
    lake = Lake(postgres_airflow["TRACKSCOPE_LAKE_URI"])
    visits = lake.read_partition(schemas.SITE_VISITS, "har-2024-05")
    # keyed by the full page host (issue 13), not the registrable domain
    assert sorted(visits["domain"]) == ["news.example.com", "shop.co.jp"] and set(visits["source"]) == {"har"}
    detections = lake.read_partition(schemas.DETECTIONS, "har-2024-05")
    found = {(r.domain, r.service_id) for r in detections.itertuples() if r.detected}
    assert found == {("shop.co.jp", "clarity"), ("news.example.com", "hotjar")}
