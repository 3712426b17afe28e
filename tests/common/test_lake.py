import pandas as pd
import pyarrow as pa
import pytest

from transforms.common.lake import DatasetSpec, Lake

SPEC = DatasetSpec("things", pa.schema([("id", pa.int64()), ("name", pa.string())]), "ds")


def test_partition_write_is_idempotent_and_replaces(lake):
    frame = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    lake.write_partition(SPEC, "2026-01-01", frame)
    lake.write_partition(SPEC, "2026-01-01", frame)  # rerun of the same date
    assert len(lake.read_partition(SPEC, "2026-01-01")) == 2
    lake.write_partition(SPEC, "2026-01-01", frame.head(1))  # backfill replaces
    assert lake.read_partition(SPEC, "2026-01-01")["id"].tolist() == [1]


def test_partitions_are_listed_and_read_together(lake):
    for day in ("2026-01-02", "2026-01-01"):
        lake.write_partition(SPEC, day, pd.DataFrame({"id": [1], "name": [day]}))
    assert lake.partitions(SPEC) == ["2026-01-01", "2026-01-02"]
    both = lake.read(SPEC)
    assert sorted(both["ds"]) == ["2026-01-01", "2026-01-02"]


def test_failed_write_leaves_previous_partition_and_no_visible_debris(lake, monkeypatch):
    lake.write_partition(SPEC, "d", pd.DataFrame({"id": [1], "name": ["ok"]}))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("pyarrow.parquet.write_table", broken)
    with pytest.raises(OSError):
        lake.write_partition(SPEC, "d", pd.DataFrame({"id": [2], "name": ["new"]}))
    assert lake.read_partition(SPEC, "d")["name"].tolist() == ["ok"]
    assert lake.partitions(SPEC) == ["d"]


def test_schema_is_enforced(lake):
    with pytest.raises(ValueError, match="missing columns"):
        lake.write_partition(SPEC, "d", pd.DataFrame({"id": [1]}))
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError)):
        lake.write_partition(SPEC, "d", pd.DataFrame({"id": ["not a number"], "name": ["x"]}))


def test_missing_partition_reads_empty_with_schema(lake):
    empty = lake.read_partition(SPEC, "nope")
    assert list(empty.columns) == ["id", "name"] and empty.empty


def test_json_documents_roundtrip(lake):
    lake.write_json("docs/a.json", {"x": 1})
    assert lake.read_json("docs/a.json") == {"x": 1}
    assert lake.list_files("docs", ".json") == ["a.json"]
