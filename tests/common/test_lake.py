import pandas as pd
import pyarrow as pa
import pytest

from transforms.common.lake import DatasetSpec

SPEC = DatasetSpec("things", pa.schema([("id", pa.int64()), ("name", pa.string())]), "ds")


def test_partition_write_is_idempotent_and_replaces(any_lake):
    frame = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    any_lake.write_partition(SPEC, "2026-01-01", frame)
    any_lake.write_partition(SPEC, "2026-01-01", frame)  # rerun of the same date
    assert len(any_lake.read_partition(SPEC, "2026-01-01")) == 2
    any_lake.write_partition(SPEC, "2026-01-01", frame.head(1))  # backfill replaces
    assert any_lake.read_partition(SPEC, "2026-01-01")["id"].tolist() == [1]


def test_partitions_are_listed_and_read_together(any_lake):
    for day in ("2026-01-02", "2026-01-01"):
        any_lake.write_partition(SPEC, day, pd.DataFrame({"id": [1], "name": [day]}))
    assert any_lake.partitions(SPEC) == ["2026-01-01", "2026-01-02"]
    both = any_lake.read(SPEC)
    assert sorted(both["ds"]) == ["2026-01-01", "2026-01-02"]


def test_failed_write_leaves_previous_partition_and_no_visible_debris(any_lake, monkeypatch):
    any_lake.write_partition(SPEC, "d", pd.DataFrame({"id": [1], "name": ["ok"]}))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("pyarrow.parquet.write_table", broken)
    with pytest.raises(OSError):
        any_lake.write_partition(SPEC, "d", pd.DataFrame({"id": [2], "name": ["new"]}))
    assert any_lake.read_partition(SPEC, "d")["name"].tolist() == ["ok"]
    assert any_lake.partitions(SPEC) == ["d"]


def test_schema_is_enforced(any_lake):
    with pytest.raises(ValueError, match="missing columns"):
        any_lake.write_partition(SPEC, "d", pd.DataFrame({"id": [1]}))
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError)):
        any_lake.write_partition(SPEC, "d", pd.DataFrame({"id": ["not a number"], "name": ["x"]}))


def test_missing_partition_reads_empty_with_schema(any_lake):
    empty = any_lake.read_partition(SPEC, "nope")
    assert list(empty.columns) == ["id", "name"] and empty.empty


def test_json_documents_roundtrip(any_lake):
    any_lake.write_json("docs/a.json", {"x": 1})
    assert any_lake.read_json("docs/a.json") == {"x": 1}
    assert any_lake.list_files("docs", ".json") == ["a.json"]


def test_staged_partition_is_invisible_until_published(any_lake):
    any_lake.write_partition(SPEC, "d", pd.DataFrame({"id": [1], "name": ["old"]}))
    any_lake.stage_partition(SPEC, "d", pd.DataFrame({"id": [2, 3], "name": ["new", "new"]}))
    assert any_lake.read_partition(SPEC, "d")["name"].tolist() == ["old"]
    assert any_lake.read_partition(SPEC, "d", staged=True)["name"].tolist() == ["new", "new"]
    assert any_lake.staged_partitions(SPEC) == ["d"]
    assert any_lake.publish_staged(SPEC, "d") == 2
    assert any_lake.read_partition(SPEC, "d")["name"].tolist() == ["new", "new"]
    assert any_lake.publish_staged(SPEC, "d") == 2  # idempotent
    assert any_lake.staged_partitions(SPEC) == []


def test_a_never_published_partition_is_not_listed(any_lake):
    any_lake.stage_partition(SPEC, "only-staged", pd.DataFrame({"id": [1], "name": ["x"]}))
    assert any_lake.partitions(SPEC) == []
    assert any_lake.read_partition(SPEC, "only-staged").empty


def _versions(lake, folder):
    import pyarrow.fs as pafs

    return sorted(i.base_name for i in lake.fs.get_file_info(pafs.FileSelector(folder)) if i.base_name.startswith("v"))


def test_replaced_versions_are_collected_and_leftovers_vacuumed(any_lake):
    for i in range(5):
        any_lake.write_partition(SPEC, "d", pd.DataFrame({"id": [i], "name": ["x"]}))
    folder = any_lake.partition_path(SPEC, "d")
    assert len(_versions(any_lake, folder)) <= 5  # younger than the grace period: may be a live writer's
    any_lake.stage_partition(SPEC, "d", pd.DataFrame({"id": [9], "name": ["killed before publish"]}))
    any_lake.fs.delete_file(f"{folder}/_staged.json")  # as if the writer died before recording it
    assert any_lake.vacuum(grace_s=0) >= 1
    assert len(_versions(any_lake, folder)) == 2 and any_lake.read_partition(SPEC, "d")["id"].tolist() == [4]


def test_report_folders_are_versioned(any_lake, tmp_path):
    for text in ("one", "two"):
        local = tmp_path / text
        local.mkdir()
        (local / "index.html").write_text(text)
        published = any_lake.replace_dir_from_local(str(local), "reports/x/crawl_id=c")
        assert published == any_lake.current_dir("reports/x/crawl_id=c")
        with any_lake.fs.open_input_stream(f"{published}/index.html") as src:
            assert src.read().decode() == text


def test_lone_surrogates_and_nul_are_stored_safely(any_lake):
    any_lake.write_json("docs/bad.json", {"ua": "a\ud800b\x00c"})
    assert any_lake.read_json("docs/bad.json") == {"ua": "a\ufffdb\x00c"}
