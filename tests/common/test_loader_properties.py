"""No loader crashes on any input (property-based): files mixing valid lines with hostile ones —
random bytes, invalid UTF-8, lone surrogates, NUL, over-long fields, wrong JSON types — load
without an exception, every bad row lands in quarantine with a reason, and the read / kept /
merged / quarantined / duplicate counts add up (nothing lost silently)."""
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.common.quarantine import Quarantine

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DAY = "2006-03-01"

hostile_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30).map(lambda t: t + "\x00"),
    st.sampled_from(["\ud800", "²", "٣", "99999999999999999999999", "-1", "", " ", "\t\t\t", "x" * 5_000,
                     "nan", "1e400", "[]", "{}", "null", "\u202e"]),
)
hostile_bytes = st.one_of(st.binary(max_size=80), st.sampled_from([b"\xff\xfe\x00", b"\xc3\x28", b"\x00" * 10]))


def _lines(valid: list[str], extra_text: list[str], extra_bytes: list[bytes], order: list[int]) -> bytes:
    """Valid lines with hostile ones mixed in (no raw newlines inside a line)."""
    pool = [v.encode() for v in valid] + [t.encode("utf-8", "surrogatepass").replace(b"\n", b" ").replace(b"\r", b" ")
                                          for t in extra_text] + [b.replace(b"\n", b" ").replace(b"\r", b" ")
                                                                  for b in extra_bytes]
    ordered = [pool[i % len(pool)] for i in order] if order else pool
    return b"\n".join(ordered) + b"\n"


AOL_HEADER = "AnonID\tQuery\tQueryTime\tItemRank\tClickURL"
# hostile lines mixed into a loader's valid ones (the arguments every line-loader test takes)
with_hostile_lines = given(extra_text=st.lists(hostile_text, max_size=6), extra_bytes=st.lists(hostile_bytes, max_size=4),
                           order=st.lists(st.integers(0, 30), max_size=30))


def write_aol(folder: Path, rows: list[str], extra_text, extra_bytes, order) -> Path:
    """An AOL-format log (header + ``rows``) with the hostile lines mixed in."""
    path = folder / "log.txt"
    path.write_bytes(AOL_HEADER.encode() + b"\n" + _lines(rows, extra_text, extra_bytes, order))
    return path


def _assert_accounted(counts: dict, quarantine: Quarantine) -> None:
    assert counts["unaccounted"] == 0, counts
    for row in quarantine.rows:
        assert row["reason"], row


def _no_unsafe_text(frame) -> None:
    for column in frame.columns:
        if frame[column].dtype == object:
            for value in frame[column].dropna():
                if isinstance(value, str):
                    assert "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value), (column, value)


@PROPERTY
@with_hostile_lines
def test_search_log_loader(tmp_path_factory, extra_text, extra_bytes, order):
    from transforms.search_auth.ingest import input_index, load_day

    folder = tmp_path_factory.mktemp("aol")
    write_aol(folder, ["17\tweather\t2006-03-01 10:00:00\t\t", "17\tweather\t2006-03-01 10:00:00\t1\thttp://weather.com",
                       "18\tnews\t2006-03-01 11:30:00\t\t"], extra_text, extra_bytes, order)
    quarantine = Quarantine("ingest")
    try:
        queries, counts = load_day(str(folder), DAY, "UTC", 1000, quarantine, input_index(None, "UTC"))
    except Exception as error:  # noqa: BLE001 - only "nothing for this day" may stop a load
        from transforms.common.inputs import NothingToDo

        assert isinstance(error, NothingToDo), repr(error)
        return
    _assert_accounted(counts, quarantine)
    _no_unsafe_text(queries)


@PROPERTY
@with_hostile_lines
def test_apache_combined_loader(tmp_path_factory, extra_text, extra_bytes, order):
    from transforms.common.inputs import NothingToDo
    from transforms.member_id.ingest import input_index, read_day

    folder = tmp_path_factory.mktemp("apache")
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
    valid = [f'8.8.8.8 - alice [01/Mar/2006:10:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "{ua}"',
             f'1.1.1.1 - - [01/Mar/2006:11:00:00 +0000] "GET /a HTTP/1.1" 404 0 "-" "{ua}"',
             f'10.0.0.1 - bob [01/Mar/2006:12:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"']
    (folder / "access.log").write_bytes(_lines(valid, extra_text, extra_bytes, order))
    quarantine = Quarantine("ingest")
    try:
        accesses, counts = read_day(str(folder), DAY, "user", quarantine, input_index(None))
    except NothingToDo:
        return
    _assert_accounted(counts, quarantine)
    _no_unsafe_text(accesses)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | hostile_text,
                           lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
                           max_leaves=6)


@PROPERTY
@given(records=st.lists(st.dictionaries(st.sampled_from(["uid", "ts", "user_agent", "screen", "timezone", "plugins",
                                                         "fonts", "language", "platform", "other"]),
                                        json_values, max_size=8), max_size=8),
       extra_text=st.lists(hostile_text, max_size=4), extra_bytes=st.lists(hostile_bytes, max_size=3))
def test_fingerprint_visit_loader(tmp_path_factory, records, extra_text, extra_bytes):
    from transforms.fingerprint.ingest import normalise_records, read_records

    folder = tmp_path_factory.mktemp("fp")
    valid = [json.dumps({"uid": "u1", "ts": "2006-03-01T10:00:00+00:00", "user_agent": "Mozilla/5.0",
                         "screen": "1920x1080x24", "timezone": "-540", "language": "ja"})]
    lines = valid + [json.dumps(r, ensure_ascii=True) for r in records]
    path = folder / "visits-2006-03-01.jsonl"
    path.write_bytes(_lines(lines, extra_text, extra_bytes, []))
    quarantine = Quarantine("ingest")
    raw = read_records(path, quarantine)
    visits = normalise_records(raw, DAY, 500, quarantine)
    nonblank = sum(1 for line in path.read_bytes().splitlines() if line.strip())
    assert len(visits) + len(quarantine) == nonblank, (len(visits), quarantine.counts())
    _no_unsafe_text(visits)


@PROPERTY
@given(extra_text=st.lists(hostile_text, max_size=8), extra_bytes=st.lists(hostile_bytes, max_size=4),
       order=st.lists(st.integers(0, 30), max_size=30))
def test_tranco_loader(extra_text, extra_bytes, order):
    from transforms.survey import tranco

    data = _lines(["1,google.com", "2,example.jp", "3,google.com", "²,bad.com", "99999999999999999999999,big.com"],
                  extra_text, extra_bytes, order)
    quarantine = Quarantine("tranco")
    sites = tranco.parse(data, "tranco_TEST.csv", quarantine).sites
    assert sites["rank"].dtype.kind == "i" and (sites["rank"] > 0).all()
    assert not sites["domain"].duplicated().any()
    _no_unsafe_text(sites)
    for row in quarantine.rows:
        assert row["reason"]


def test_tranco_regressions_from_the_issue():
    """Rank `²` and a rank beyond int64 crashed the load; now both are quarantined."""
    from transforms.survey import tranco

    quarantine = Quarantine("tranco")
    sites = tranco.parse("²,a.com\n99999999999999999999999,b.com\n3,c.com\n".encode(), "list.csv", quarantine).sites
    assert sites["domain"].tolist() == ["c.com"]
    assert sorted(quarantine.counts()) == ["rank is not an integer", "rank out of range"]


def test_duplicate_tranco_ranks_are_kept_and_noted(caplog):
    from transforms.survey import tranco

    listed = tranco.parse(b"1,a.com\n2,b.com\n2,c.com\n3,d.com\n", "list.csv", Quarantine("tranco"))
    assert listed.sites["domain"].tolist() == ["a.com", "b.com", "c.com", "d.com"] and listed.shared_ranks == 2
    assert "2 sites share a rank" in caplog.text
