import pandas as pd
import pyarrow as pa
import pytest

from transforms.common.lake import DatasetSpec

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


def test_staged_partition_is_invisible_until_published(lake):
    lake.write_partition(SPEC, "d", pd.DataFrame({"id": [1], "name": ["old"]}))
    lake.stage_partition(SPEC, "d", pd.DataFrame({"id": [2, 3], "name": ["new", "new"]}))
    assert lake.read_partition(SPEC, "d")["name"].tolist() == ["old"]
    assert lake.read_partition(SPEC, "d", staged=True)["name"].tolist() == ["new", "new"]
    assert lake.staged_partitions(SPEC) == ["d"]
    assert lake.publish_staged(SPEC, "d") == 2
    assert lake.read_partition(SPEC, "d")["name"].tolist() == ["new", "new"]
    assert lake.publish_staged(SPEC, "d") == 2  # idempotent
    assert lake.staged_partitions(SPEC) == []


def test_a_never_published_partition_is_not_listed(lake):
    lake.stage_partition(SPEC, "only-staged", pd.DataFrame({"id": [1], "name": ["x"]}))
    assert lake.partitions(SPEC) == []
    assert lake.read_partition(SPEC, "only-staged").empty


def test_replaced_versions_are_collected_and_leftovers_vacuumed(lake, tmp_path):
    import os

    for i in range(5):
        lake.write_partition(SPEC, "d", pd.DataFrame({"id": [i], "name": ["x"]}))
    folder = tmp_path / "lake" / "things" / "ds=d"
    versions = [p for p in os.listdir(folder) if p.startswith("v")]
    assert len(versions) <= 2 + 3  # current + previous; younger than the grace period are kept
    lake.stage_partition(SPEC, "d", pd.DataFrame({"id": [9], "name": ["killed before publish"]}))
    (folder / "_staged.json").unlink()  # as if the writer died before recording it
    assert lake.vacuum(grace_s=0) >= 1
    kept = sorted(p for p in os.listdir(folder) if p.startswith("v"))
    assert len(kept) == 2 and lake.read_partition(SPEC, "d")["id"].tolist() == [4]


def test_report_folders_are_versioned(lake, tmp_path):
    for text in ("one", "two"):
        local = tmp_path / text
        local.mkdir()
        (local / "index.html").write_text(text)
        published = lake.replace_dir_from_local(str(local), "reports/x/crawl_id=c")
        assert published == lake.current_dir("reports/x/crawl_id=c")
        assert open(f"{published}/index.html").read() == text


def test_lone_surrogates_and_nul_are_stored_safely(lake):
    lake.write_json("docs/bad.json", {"ua": "a\ud800b\x00c"})
    assert lake.read_json("docs/bad.json") == {"ua": "a\ufffdb\x00c"}
