"""Ingest: formats, quarantine reasons, capping, and the coverage checkpoint."""
import json

import pandas as pd
import pytest

from transforms.common.quarantine import quarantine_spec
from transforms.common.validation import CheckpointFailed
from transforms.fingerprint import schemas, stages
from transforms.synthetic.fingerprint_visits import add_bad_lines, write_daily_files
from tests.fingerprint.conftest import with_settings


def _one_day(history):
    day = history[40]["ts"][:10]
    return day, [v for v in history if v["ts"].startswith(day)]


def test_bad_records_are_quarantined_with_reasons(fp_settings, history):
    day, visits = _one_day(history)
    path = write_daily_files(visits, __import__("pathlib").Path(fp_settings.fp_input_dir))[0]
    add_bad_lines(path)
    with path.open("a") as out:
        out.write(json.dumps(dict(visits[0], ts="2001-01-01T00:00:00+00:00", uid="elsewhere")) + "\n")
        out.write(json.dumps({"uid": "empty", "ts": visits[0]["ts"]}) + "\n")
        out.write("[1, 2]\n")
    counts = stages.ingest_visits(fp_settings, day)
    lake = fp_settings.lake
    stored = lake.read_partition(schemas.VISITS, day, staged=True)
    reasons = lake.read_partition(quarantine_spec("fp_visits", "ds"), day)["reason"].tolist()
    assert counts["visits"] == len(visits) + 1  # + the over-long one, capped
    assert any(r.startswith("malformed JSON") for r in reasons)
    assert "not UTF-8" in reasons and "missing or unparsable timestamp" in reasons
    assert any(r.startswith("duplicate visit") for r in reasons)
    assert any("outside partition" in r for r in reasons)
    assert "no fingerprint attributes" in reasons and "not a JSON object" in reasons
    capped = stored[stored["uid"] == "u-long"].iloc[0]
    assert capped["capped"] == "fonts" and len(capped["fonts"]) == fp_settings.fp_max_attribute_chars
    stages.check_ingest(fp_settings, day)
    # a rerun replaces the partition and the quarantine rows instead of adding to them
    stages.ingest_visits(fp_settings, day)
    assert len(lake.read_partition(schemas.VISITS, day, staged=True)) == len(stored)
    assert len(lake.read_partition(quarantine_spec("fp_visits", "ds"), day)) == len(reasons)


def test_csv_and_parquet_inputs_give_the_same_rows(fp_settings, history, tmp_path):
    day, visits = _one_day(history)
    frame = pd.DataFrame(visits)
    frame.to_csv(tmp_path / f"visits-{day}.csv", index=False)
    frame.to_parquet(tmp_path / f"visits-{day}.parquet")
    rows = {}
    for suffix in ("csv", "parquet"):
        folder = tmp_path / suffix
        folder.mkdir()
        (tmp_path / f"visits-{day}.{suffix}").rename(folder / f"visits-{day}.{suffix}")
        settings = with_settings(fp_settings, fp_input_dir=str(folder), lake_uri=(tmp_path / f"lake-{suffix}").as_uri())
        stages.ingest_visits(settings, day)
        rows[suffix] = settings.lake.read_partition(schemas.VISITS, day, staged=True).drop(columns=["source"])
    pd.testing.assert_frame_equal(rows["csv"], rows["parquet"])
    assert len(rows["csv"]) == len(visits)


def test_coverage_checkpoint_fails_on_sparse_visits(fp_settings, history):
    day, visits = _one_day(history)
    sparse = [{"uid": v["uid"], "ts": v["ts"], "http_user_agent": v.get("http_user_agent")} for v in visits]
    write_daily_files(sparse, __import__("pathlib").Path(fp_settings.fp_input_dir))
    stages.ingest_visits(fp_settings, day)
    with pytest.raises(CheckpointFailed, match="n_attributes"):
        stages.check_ingest(fp_settings, day)


def test_a_deployment_collecting_few_attributes_is_linked_and_its_coverage_reported(fp_settings, history):
    """Real collections often have UA, screen and language only (no fonts, IP, time zone): no
    checkpoint may require an attribute; the coverage says what is there."""
    day, visits = _one_day(history)
    sparse = [{"uid": v["uid"], "ts": v["ts"], "http_user_agent": v.get("http_user_agent"), "screen": "414 × 896",
               "accept_language": v.get("accept_language"), "fonts": "Arial"} for v in visits]
    write_daily_files(sparse, __import__("pathlib").Path(fp_settings.fp_input_dir))
    settings = with_settings(fp_settings, fp_attributes="http_user_agent,screen,accept_language")
    stages.ingest_visits(settings, day)
    stages.check_ingest(settings, day)  # no time zone anywhere, and that is fine
    stored = settings.lake.read_partition(schemas.VISITS, day)
    assert stored["fonts"].isna().all()  # not collected by this deployment: ignored
    assert (stored["screen"] == "414x896").all() and (stored["n_attributes"] <= 3).all()
    coverage = pd.DataFrame(settings.lake.read_json(stages._coverage_path(day))["rows"]).set_index("attribute")
    assert coverage.loc["screen", "share"] == 1.0 and coverage.loc["timezone", "share"] == 0.0
    assert coverage["collected"].sum() == 3 and not coverage.loc["timezone", "collected"]


def test_unknown_attribute_names_in_the_setting_are_refused(fp_settings):
    with pytest.raises(ValueError, match="unknown attribute"):
        with_settings(fp_settings, fp_attributes="http_user_agent,screen_resolution").collected
