"""Historical logs backfill like today's: a real `airflow backfill create` over a week of 2006
(search_auth_daily) and four days of 2015 (member_id_ingest), each from ONE multi-day input file,
executed by a scheduler (LocalExecutor, PostgreSQL metadata DB), writes exactly what daily
`airflow dags test` runs of the same dates write, and quarantines nothing of another day."""
import dataclasses
import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.airflow_run import airflow_env, postgres_metadata_db, run_dag, running_airflow
from transforms.common.quarantine import quarantine_spec
from transforms.member_id import schemas as mid_schemas
from transforms.synthetic.member_id_logs import Generator
from transforms.member_id.settings import MemberIdSettings
from transforms.search_auth import schemas as sa_schemas
from transforms.synthetic.search_auth_logs import generate
from transforms.common.days import day_range
from transforms.search_auth.settings import SearchAuthSettings

WEEK_2006 = day_range("2006-03-01", "2006-03-07")
RERUN = WEEK_2006[:3]  # an earlier backfill ran these; the week's backfill reprocesses them
DAYS_2015 = day_range("2015-05-17", "2015-05-20")
SA_OUTPUTS = (sa_schemas.QUERIES, sa_schemas.DAILY_FEATURES, sa_schemas.TEMPLATES)
MID_OUTPUTS = (mid_schemas.ACCESSES, mid_schemas.ENRICHED)


@pytest.fixture
def metadata_db():
    sa = pytest.importorskip("sqlalchemy")
    try:
        with postgres_metadata_db() as url:
            yield url
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")


def _aol_file(folder: Path) -> Path:
    """One AOL-format file spanning 2006-02-24..2006-03-09, with garbage lines inside the week."""
    path = folder / "user-ct-test-collection-2006.txt"
    generate(str(path), n_users=10, n_days=14, start="2006-02-24", seed=5)
    lines = path.read_text().splitlines()
    # after a 2006-03-04 line: an undatable line belongs to the day of the datable line before it
    at = next(i for i, line in enumerate(lines) if "\t2006-03-04 " in line) + 1
    lines[at:at] = ["this line has no fields", "1001\tno time here\tyesterday\t\t", "1002\t\t2006-03-04 10:00:00\t\t"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _apache_file(folder: Path) -> tuple[Path, Path, Path]:
    """One combined-format log spanning 2015-05-16..2015-05-21 (and its GeoIP files)."""
    generator = Generator(n_members=60, days=6, start=date(2015, 5, 16), seed=9)
    generator.write_geo(str(folder / "City.mmdb"), str(folder / "ISP.mmdb"))
    daily = folder / "daily"
    generator.write_logs(str(daily))
    logs = folder / "logs"
    logs.mkdir()
    combined = logs / "access.log"
    combined.write_text("".join(p.read_text() for p in sorted(daily.glob("access-*.log"))))
    return combined, folder / "City.mmdb", folder / "ISP.mmdb"


def _snapshot(lake, spec, days, by):
    frame = lake.read(spec, days)
    return frame.sort_values(["ds", *by]).reset_index(drop=True).map(
        lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)


def _stamp_day(row: str):
    """The day a quarantined row's own timestamp names, if it has one."""
    apache = re.search(r"\[(\d{2}/\w{3}/\d{4}):", row)
    if apache:
        return pd.to_datetime(apache.group(1), format="%d/%b/%Y").strftime("%Y-%m-%d")
    iso = re.search(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}", row)
    return iso.group(1) if iso else None


def test_historical_backfills_equal_daily_runs(tmp_path, airflow_home, metadata_db):
    inputs = tmp_path / "inputs"
    (inputs / "aol").mkdir(parents=True)
    aol = _aol_file(inputs / "aol")
    log, city, isp = _apache_file(inputs)
    common = {"TRACKSCOPE_SA_INPUT_DIR": str(aol.parent), "TRACKSCOPE_SA_TIMEZONE": "UTC",
              "TRACKSCOPE_SA_DOC2VEC_DIMS": "16", "TRACKSCOPE_MID_LOG_DIR": str(log.parent),
              "TRACKSCOPE_MID_CITY_MMDB": str(city), "TRACKSCOPE_MID_ISP_MMDB": str(isp)}
    lakes = {name: (tmp_path / f"{name}_lake").as_uri() for name in ("daily", "backfill")}

    backfill_env = airflow_env(tmp_path / "airflow", TRACKSCOPE_LAKE_URI=lakes["backfill"],
                               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_db, **common)
    with running_airflow(backfill_env, dag_ids=["search_auth_daily", "member_id_ingest"]) as airflow:
        earlier = airflow.backfill("search_auth_daily", RERUN[0], RERUN[-1])
        assert earlier.states == {ds: "success" for ds in RERUN}, earlier.runs

        # the daily schedule in the other lake: one `airflow dags test` per date, in order
        daily_env = airflow_env(airflow_home, TRACKSCOPE_LAKE_URI=lakes["daily"], **common)
        for dag_id, days in (("search_auth_daily", WEEK_2006), ("member_id_ingest", DAYS_2015)):
            for ds in days:
                run = run_dag(daily_env, dag_id, logical_date=ds)
                assert run.state == "success", run.output[-3000:]
                assert run.states_of("ingest_queries" if dag_id == "search_auth_daily" else "ingest_day") == {"success"}

        week = airflow.backfill("search_auth_daily", WEEK_2006[0], WEEK_2006[-1], reprocess_behavior="completed")
        assert week.states == {ds: "success" for ds in WEEK_2006}, week.runs
        assert airflow.try_numbers("search_auth_daily", RERUN[0])["ingest_queries"] == 2
        days = airflow.backfill("member_id_ingest", DAYS_2015[0], DAYS_2015[-1])
        assert days.states == {ds: "success" for ds in DAYS_2015}, days.runs

    daily = SearchAuthSettings(lake_uri=lakes["daily"]).lake
    backfilled = SearchAuthSettings(lake_uri=lakes["backfill"]).lake
    for spec, days, by in [(s, WEEK_2006, ["user_id"]) for s in SA_OUTPUTS] + \
                          [(s, DAYS_2015, ["ts", "ip", "user_agent"]) for s in MID_OUTPUTS]:
        expected, got = _snapshot(daily, spec, days, by), _snapshot(backfilled, spec, days, by)
        assert len(got) > 0, spec.name
        pd.testing.assert_frame_equal(expected, got, obj=spec.name)
    assert set(_snapshot(backfilled, sa_schemas.QUERIES, WEEK_2006, ["user_id"])["ds"]) == set(WEEK_2006)

    # every quarantined row belongs to the partition it is in, and the garbage lines are there once
    for dataset, days in (("sa_queries", WEEK_2006), ("mid_accesses", DAYS_2015)):
        bad = backfilled.read(quarantine_spec(dataset, "ds"), days)
        stamped = bad.assign(own=bad["row"].map(_stamp_day)).dropna(subset=["own"])
        assert (stamped["own"] == stamped["ds"]).all(), stamped[stamped["own"] != stamped["ds"]]
    sa_bad = backfilled.read(quarantine_spec("sa_queries", "ds"), WEEK_2006)
    assert (sa_bad["ds"] == "2006-03-04").sum() == 3 and len(sa_bad[sa_bad["reason"] != "duplicate"]) == 3
    mid_bad = backfilled.read(quarantine_spec("mid_accesses", "ds"), DAYS_2015)
    assert sorted(mid_bad.groupby("ds").size().to_dict()) == DAYS_2015  # each day's own noise lines
    assert not mid_bad["reason"].str.contains("outside the partition").any()
    # the multi-day file was indexed once per pipeline, not re-read whole per day
    manifests = [json.loads(p.read_text()) for p in (tmp_path / "backfill_lake" / "_inputs").rglob("*.json")]
    assert {Path(m["path"]).name for m in manifests} == {aol.name, log.name}
    assert all(d["ranges"] for m in manifests for d in m["days"].values())


def test_a_day_without_input_fails_loudly(tmp_path, monkeypatch):
    from transforms.common.inputs import NothingToDo
    from transforms.member_id import stages as mid_stages
    from transforms.search_auth import stages as sa_stages

    (tmp_path / "aol").mkdir()
    aol = _aol_file(tmp_path / "aol")
    settings = SearchAuthSettings(lake_uri=(tmp_path / "lake").as_uri(), sa_input_dir=str(aol.parent))
    with pytest.raises(NothingToDo, match=r"2006-02-24\.\.2006-03-09 \(14 days"):
        sa_stages.ingest_queries(settings, "2001-01-01")
    log, city, isp = _apache_file(tmp_path)
    mid = MemberIdSettings(lake_uri=settings.lake_uri, mid_log_dir=str(log.parent))
    with pytest.raises(NothingToDo, match="2015-05-16..2015-05-21"):
        mid_stages.ingest_day(mid, "2015-06-01")
    assert dataclasses.replace(settings).empty_partition == "fail"
