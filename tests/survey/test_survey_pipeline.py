"""The survey end to end through Airflow on the fixture web, checked against its ground truth."""
import json
import shutil
from pathlib import Path

import pytest

from tests.airflow_run import airflow_env, run_dag
from transforms.common.lake import Lake
from transforms.survey import schemas
from transforms.survey.fixture_web import TRANCO_FIXTURE_PATH, FixtureWeb, load_ground_truth

CRAWL = "2026-09-01"


@pytest.fixture(scope="module")
def survey(airflow_home, tmp_path_factory):
    lake_uri = (tmp_path_factory.mktemp("survey") / "lake").as_uri()
    with FixtureWeb() as web:
        env = airflow_env(
            airflow_home, TRACKSCOPE_LAKE_URI=lake_uri, TRACKSCOPE_TRANCO_LIST=str(TRANCO_FIXTURE_PATH),
            TRACKSCOPE_HOST_RESOLVER_RULES=web.host_resolver_rules,
            TRACKSCOPE_CHROMIUM_EXTRA_ARGS="--ignore-certificate-errors",
            TRACKSCOPE_DWELL_S="1", TRACKSCOPE_PAGE_LOAD_TIMEOUT_S="20", TRACKSCOPE_BROWSERS_PER_TASK="4",
            TRACKSCOPE_JS_HEAP_LIMIT_MB="256",
            TRACKSCOPE_CRAWL_BATCH_SIZE="40")
        crawl = run_dag(env, "survey_crawl", {"crawl_id": CRAWL})
    analysis = run_dag(env, "survey_analysis", {"crawl_id": CRAWL})
    return {"env": env, "lake": Lake(lake_uri), "crawl": crawl, "analysis": analysis, "truth": load_ground_truth()}


def _sites(truth):
    return truth["sites"] if "sites" in truth else truth


def test_dags_succeed(survey):
    assert survey["crawl"].state == "success", survey["crawl"].output[-3000:]
    assert survey["analysis"].state == "success", survey["analysis"].output[-3000:]
    assert len(survey["crawl"].task_states["crawl_batch"]) >= 2  # mapped over batches


def test_visit_outcomes_match_ground_truth(survey):
    visits = survey["lake"].read_partition(schemas.SITE_VISITS, CRAWL).set_index("domain")
    expected = {d: s["expected_outcome"] for d, s in _sites(survey["truth"]).items()}
    assert visits["outcome"].to_dict() == expected


def test_detections_match_ground_truth_exactly(survey):
    detections = survey["lake"].read_partition(schemas.DETECTIONS, CRAWL)
    found = {(r.domain, r.service_id, r.evidence_source) for r in detections.itertuples() if r.detected}
    expected = {(d, service, source) for d, site in _sites(survey["truth"]).items()
                if site["expected_outcome"] == "ok" for service, source in site["services"].items()}
    assert found == expected


def test_disclosure_classes_match_ground_truth_exactly(survey):
    disclosures = survey["lake"].read_partition(schemas.DISCLOSURES, CRAWL)
    found = {(r.domain, r.service_id): r.disclosure_class for r in disclosures.itertuples()}
    expected = {(d, service): cls for d, site in _sites(survey["truth"]).items()
                if site["expected_outcome"] == "ok" for service, cls in site["disclosure"].items()}
    assert found == expected


def test_report_is_written(survey):
    lake = survey["lake"]
    index = Path(lake.current_dir(f"reports/survey/crawl_id={CRAWL}")) / "index.html"
    assert index.exists() and index.stat().st_size > 1000
    assert list(index.parent.glob("*.png")) or list(index.parent.glob("**/*.png"))


def test_failing_checkpoint_stops_downstream_tasks(survey):
    """A request stamped outside the crawl window fails the extraction checkpoint: nothing after it runs."""
    lake = survey["lake"]
    source = Path(lake.local_path(f"raw/survey/crawl_id={CRAWL}"))
    target = source.parent / "crawl_id=tampered"
    shutil.copytree(source, target)
    doc_path = next(p for p in sorted(target.glob("*.json")) if json.loads(p.read_text()).get("events"))
    doc = json.loads(doc_path.read_text())
    doc["crawl_id"] = "tampered"
    first = next(e for e in doc["events"] if e["method"] == "Network.requestWillBeSent")
    first["params"]["wallTime"] = 946684800.0  # 2000-01-01
    doc_path.write_text(json.dumps(doc))
    result = run_dag(survey["env"], "survey_analysis", {"crawl_id": "tampered"})
    assert result.state == "failed"
    assert result.states_of("check_extraction") == {"failed"}
    for downstream in ("detect_services", "check_detection", "classify_disclosures", "build_report"):
        assert result.states_of(downstream) == {"upstream_failed"}, downstream
    summary = lake.read_bytes("_checkpoints/survey_after_extraction/tampered/summary.txt").decode()
    assert "expect_column_values_to_be_between" in summary and "ts_epoch" in summary
