"""Loading the AOL and CSV/Parquet formats, quarantine reasons, and the daily features."""
import numpy as np
import pandas as pd

from transforms.common.quarantine import quarantine_spec
from transforms.search_auth import schemas, stages
from transforms.search_auth.features import daily_features
from transforms.search_auth.text import has_space, nouns

AOL = (
    "AnonID\tQuery\tQueryTime\tItemRank\tClickURL\n"
    "7\t東京の天気\t2026-01-05 08:10:00\t\t\n"
    "7\t東京の天気\t2026-01-05 08:10:00\t1\thttp://tenki.test\n"  # click line: same query once
    "7\tpython tutorial\t2026-01-05 23:59:59\t\t\n"
    "8\tiphone 修理\t2026-01-05 12:00:00\t\t\n"
    "8\tbad\x07query\t2026-01-05 12:01:00\t\t\n"
    "\torphan\t2026-01-05 12:02:00\t\t\n"
    "8\tnot a time\t2026-13-45 99:00:00\t\t\n"
    "8\tbroken\tline\twith\ttoo\tmany\tfields\n"
    "8\tlate night\t2026-01-06 00:00:01\t\t\n"  # the next day in Tokyo
    "9\t" + "x" * 300 + "\t2026-01-05 09:00:00\t\t\n"
)


def _reasons(settings, ds):
    frame = settings.lake.read_partition(quarantine_spec(schemas.QUERIES.name, schemas.KEY), ds)
    return sorted(r.split(" (")[0] for r in frame["reason"])


def test_aol_format_loads_and_bad_rows_are_quarantined(sa_settings):
    with open(f"{sa_settings.sa_input_dir}/aol.txt", "w") as handle:
        handle.write(AOL)
    summary = stages.ingest_queries(sa_settings, "2026-01-05")
    queries = sa_settings.lake.read_partition(schemas.QUERIES, "2026-01-05", staged=True)
    assert sorted(queries["query"]) == ["iphone 修理", "python tutorial", "東京の天気"]
    assert summary["queries"] == 3
    assert _reasons(sa_settings, "2026-01-05") == ["control characters", "empty user", "malformed line",
                                                   "over-long query", "unparseable time"]
    assert queries.set_index("query").loc["python tutorial", "hour"] == 23
    assert stages.ingest_queries(sa_settings, "2026-01-06")["queries"] == 1
    assert _reasons(sa_settings, "2026-01-06") == []


def test_csv_and_parquet_with_timezones(sa_settings):
    pd.DataFrame({"user_id": ["a", "a", "b"], "ts": ["2026-01-05T01:00:00Z", "2026-01-05 10:00:00", "garbage"],
                  "query": ["ramen", "ラーメン 新宿", "x"]}).to_csv(f"{sa_settings.sa_input_dir}/log.csv", index=False)
    pd.DataFrame({"user_id": ["c"], "ts": ["2026-01-05 20:00:00"], "query": ["sushi"]}).to_parquet(
        f"{sa_settings.sa_input_dir}/log.parquet")
    stages.ingest_queries(sa_settings, "2026-01-05")
    queries = sa_settings.lake.read_partition(schemas.QUERIES, "2026-01-05", staged=True).sort_values("query")
    assert queries["query"].tolist() == ["ramen", "sushi", "ラーメン 新宿"]
    assert queries["hour"].tolist() == [10, 20, 10]  # 01:00Z is 10:00 in Tokyo
    assert _reasons(sa_settings, "2026-01-05") == ["unparseable time"]


def test_nouns_japanese_english_mixed():
    assert nouns("東京の天気") == ("東京", "天気")
    assert nouns("how to learn Python") == ("learn", "python")
    assert "修理" in nouns("iphone 修理") and "iphone" in nouns("iphone 修理")
    assert has_space("iphone\u3000修理") and not has_space("天気")


def test_daily_features_values():
    queries = pd.DataFrame({"user_id": ["u", "u", "u", "v"], "ts": pd.to_datetime(
        ["2026-01-05 01:00", "2026-01-05 00:30", "2026-01-05 02:00", "2026-01-05 03:00"], utc=True),
        "hour": [9, 9, 11, 12], "query": ["天気 東京", "ramen", "sushi tokyo", "news"]})
    out = daily_features(queries).set_index("user_id")
    assert out.loc["u", "search_count"] == 3
    assert np.isclose(out.loc["u", "sqr"], 1 / 3)
    assert list(out.loc["u", "hour_vector"])[9] == 2 and out.loc["u", "hour_sum"] == 3
    assert list(out.loc["u", "document"]) == ["ramen", "天気", "東京", "sushi", "tokyo"]  # time order
    assert out.loc["v", "search_count"] == 1 and out.loc["v", "sqr"] == 1.0
