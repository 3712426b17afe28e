import gzip
import os

import pytest

from transforms.common.inputs import InputIndex, read_day_lines, scan_lines


def line_day(line: bytes):
    head = line.split(b"\t")[0].decode()
    return head[:10] if head[:4].isdigit() and len(head) >= 10 else None


ROWS = [b"2006-03-01 01\ta", b"garbage", b"2006-03-01 02\tb", b"2006-03-02 00\tc", b"junk",
        b"2006-03-01 23\tlate", b"2006-03-03 00\td"]


def write(path, rows, header=b""):
    data = (header + b"\n" if header else b"") + b"\n".join(rows) + b"\n"
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as out:
            out.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["log.txt", "log.txt.gz"])
def test_each_line_is_read_by_exactly_one_day(tmp_path, lake, name):
    path = write(tmp_path / name, ROWS, b"header")
    index = InputIndex(lake, "t", lambda p: scan_lines(p, line_day, has_header=True))
    manifest = index.manifest(path)
    assert {d: e["rows"] for d, e in manifest["days"].items()} == {"2006-03-01": 4, "2006-03-02": 2, "2006-03-03": 1}
    got = {day: [line for _, line in read_day_lines(path, manifest, day, line_day)] for day in manifest["days"]}
    assert got["2006-03-01"] == [b"2006-03-01 01\ta", b"garbage", b"2006-03-01 02\tb", b"2006-03-01 23\tlate"]
    assert got["2006-03-02"] == [b"2006-03-02 00\tc", b"junk"]  # a late line goes to its own day
    assert sorted(sum(got.values(), [])) == sorted(ROWS)
    assert [p for p, _ in index.files_for([path], "2006-03-03")] == [path]
    assert index.files_for([path], "2006-03-04") == []


def test_line_numbers_follow_the_file(tmp_path):
    path = write(tmp_path / "log.txt", ROWS, b"header")
    manifest = scan_lines(path, line_day, has_header=True)
    numbers = dict((line, n) for n, line in read_day_lines(path, manifest, "2006-03-02", line_day))
    assert numbers[b"junk"] == 6


def test_undatable_lines_at_the_start_join_the_first_day(tmp_path):
    path = write(tmp_path / "log.txt", [b"junk"] + ROWS)
    manifest = scan_lines(path, line_day)
    assert manifest["days"]["2006-03-01"]["rows"] == 5


def test_a_file_without_any_date_belongs_to_its_modification_day(tmp_path):
    path = write(tmp_path / "log.txt", [b"junk", b"more junk"])
    os.utime(path, (1141171200, 1141171200))  # 2006-03-01 00:00 UTC
    assert scan_lines(path, line_day)["days"] == {"2006-03-01": {"rows": 2, "ranges": [[0, 15, 1]]}}


def test_manifest_is_rebuilt_when_the_file_changes(tmp_path, lake):
    path = write(tmp_path / "log.txt", ROWS[:1])
    calls = []
    index = InputIndex(lake, "t", lambda p: calls.append(p) or scan_lines(p, line_day))
    assert list(index.manifest(path)["days"]) == ["2006-03-01"]
    index.manifest(path)
    assert len(calls) == 1
    write(path, ROWS[:1] + [b"2006-03-09 00\tz"])
    assert list(index.manifest(path)["days"]) == ["2006-03-01", "2006-03-09"]
    assert len(calls) == 2
