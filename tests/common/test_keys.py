import pandas as pd
import pyarrow as pa
import pytest

from transforms.common.contract import DatasetSpec
from transforms.common.keys import InvalidPartitionKey, check_day, check_key, check_relpath

SPEC = DatasetSpec("things", pa.schema([("id", pa.int64())]), "crawl_id")
HOSTILE = ["../../../../victim", "..", ".", "", "/etc", "a/b", "a\\b", "a\x00b", "x" * 101, "日本", "ok..x",
           " lead", "-dash-first", "tab\tx", "new\nline", "%2e%2e"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_keys_are_refused(value):
    with pytest.raises(InvalidPartitionKey):
        check_key(value)


@pytest.mark.parametrize("value", ["2026-09-01", "har-2024-05", "demo_1", "crawl.v2", "A" * 100])
def test_ordinary_keys_pass(value):
    assert check_key(value) == value


@pytest.mark.parametrize("value", ["2026-02-30", "2026-1-1", "20260101", "2026-01-01/..", "../2026-01-01", ""])
def test_days_must_be_real_days(value):
    with pytest.raises(InvalidPartitionKey):
        check_day(value)


@pytest.mark.parametrize("path", ["../x", "a/../b", "/abs", "a//b", "a/./b", "", "a\\b", ".hidden"])
def test_lake_paths_cannot_leave_the_lake(path):
    with pytest.raises(InvalidPartitionKey):
        check_relpath(path)


@pytest.mark.parametrize("value", HOSTILE)
def test_the_lake_refuses_before_any_io(lake, tmp_path, value):
    with pytest.raises(InvalidPartitionKey):
        lake.write_partition(SPEC, value, pd.DataFrame({"id": [1]}))
    with pytest.raises(InvalidPartitionKey):
        lake.read_partition(SPEC, value)
    assert not (tmp_path / "lake").exists()


def test_run_key_validates_conf_and_asset_events():
    from types import SimpleNamespace

    from transforms.common.airflow_glue import run_key

    with pytest.raises(InvalidPartitionKey):
        run_key({"params": {"crawl_id": "../../../../victim"}})
    with pytest.raises(InvalidPartitionKey):
        run_key({"params": {}, "triggering_asset_events": {"a": [SimpleNamespace(extra={"crawl_id": "/tmp"})]}})
    with pytest.raises(InvalidPartitionKey):
        run_key({"params": {"ds": "2006-03-05/../.."}}, "ds")
    assert run_key({"params": {"ds": "2006-03-05"}}, "ds") == "2006-03-05"
