"""Issue 16: the protocol on real-looking sparse logs, one ingest for CLI and DAG, the replay scenario."""
import json

import numpy as np
import pandas as pd
import pytest

from transforms.common.quarantine import Quarantine, quarantine_spec
from transforms.search_auth import cli, evaluation, schemas, stages
from transforms.search_auth.features import features_from_log
from transforms.synthetic.search_auth_logs import generate
from transforms.search_auth.ingest import click_domain, load_log

SMALL = dict(trees=20, doc2vec_dims=16, doc2vec_epochs=5, doc2vec_workers=1)

BAD_LOG = (
    "AnonID\tQuery\tQueryTime\tItemRank\tClickURL\n"
    "7\tweather tokyo\t2026-01-05 08:10:00\t\t\n"
    "7\tweather tokyo\t2026-01-05 08:10:00\t1\thttp://www.tenki.test/a\n"  # another click: merged
    "7\tweather tokyo\t2026-01-05 08:10:00\t1\thttp://www.tenki.test/a\n"  # exact duplicate line
    "7\tpython tutorial\t2026-01-05 23:59:59\t\t\n"
    "8\tbad\x07query\t2026-01-05 12:01:00\t\t\n"
    "\torphan\t2026-01-05 12:02:00\t\t\n"
    "8\tnot a time\t2026-13-45 99:00:00\t\t\n"
    "8\tbroken\tline\twith\ttoo\tmany\tfields\n"
    "8\tlate night\t2026-01-06 00:00:01\t\t\n"
    "9\t" + "x" * 300 + "\t2026-01-06 09:00:00\t\t\n"
    "9\tctrl\x1b[31m\t2026-01-06 09:01:00\t2\thttp://evil.test\n"
)


def _dag_quarantine(settings, days):
    rows = []
    for ds in days:
        stages.ingest_queries(settings, ds)
        frame = settings.lake.read_partition(quarantine_spec(schemas.QUERIES.name, schemas.KEY), ds)
        rows += list(zip(frame["row"], frame["reason"]))
    return sorted(rows)


def test_cli_and_dag_quarantine_the_same_rows(sa_settings):
    path = f"{sa_settings.sa_input_dir}/log.txt"
    with open(path, "w") as handle:
        handle.write(BAD_LOG)
    dag_rows = _dag_quarantine(sa_settings, ["2026-01-05", "2026-01-06"])
    quarantine = Quarantine("ingest")
    queries, counts = load_log(path, sa_settings.sa_timezone, sa_settings.sa_max_query_chars, quarantine)
    assert sorted((r["row"], r["reason"]) for r in quarantine.rows) == dag_rows
    reasons = {r.split(" (")[0] for _, r in dag_rows}
    assert reasons == {"control characters", "empty user", "malformed line", "over-long query", "unparseable time",
                       "duplicate"}
    assert counts["read"] == 11 and counts["kept"] == 3 and counts["merged"] == 1 and counts["duplicates"] == 1
    assert counts["unaccounted"] == 0
    assert queries.set_index("query").loc["weather tokyo", "click_domains"] == "tenki.test"
    assert sorted(queries["ds"]) == ["2026-01-05", "2026-01-05", "2026-01-06"]


def test_click_domain():
    assert click_domain("http://www.nytimes.com/") == "nytimes.com"
    assert click_domain("https://Sub.Example.org:8080/x?y") == "sub.example.org"
    assert click_domain("") == ""


def test_cli_prints_counts_and_users_option_limits_users(sa_settings, tmp_path, capsys):
    log = tmp_path / "log.txt"
    generate(str(log), n_users=9, n_days=91, seed=5, shape="real")
    with open(log, "a") as handle:
        handle.write("1000\tbad\x07query\t2026-02-01 10:00:00\t\t\n")
    out = tmp_path / "report"
    args = ["evaluate", "--log", str(log), "--out", str(out), "--users", "5", "--trees", "10", "--dims", "8",
            "--epochs", "2", "--min-active-days", "1", "--methods", "thesis,sparse", "--no-progress"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "lines read" in printed and "quarantined 1 (control characters: 1)" in printed
    result = json.loads((out / "results.json").read_text())
    assert result["users"] + result["users_excluded"] == 5
    assert (out / "quarantine.csv").exists() and (out / "deciles.csv").exists()
    # a file of user ids
    ids = tmp_path / "users.txt"
    ids.write_text("1001\n1003\n1004\n")
    assert cli.main(args[:6] + [str(ids)] + args[7:]) == 0
    result = json.loads((out / "results.json").read_text())
    assert result["users"] + result["users_excluded"] == 3


def test_users_without_test_days_are_excluded_and_counted():
    protocol = evaluation.Protocol(min_active_days=3)
    active = np.ones((5, 91), bool)
    active[1, 56:] = False  # no test day at all
    active[2, 28:56] = False  # no training day
    active[3, 60:] = False  # 4 test days: enough
    active[4, :26] = False  # 2 template days: too few
    keep, excluded = evaluation.select_users(active, protocol)
    assert keep.tolist() == [True, False, False, True, False]
    assert excluded == {"fewer than 3 active template days": 1, "fewer than 3 active train days": 1,
                        "fewer than 3 active test days": 1, "no test days at all": 1}
    keep, _ = evaluation.select_users(active, evaluation.Protocol(min_active_days=0))
    assert keep.tolist() == [True, False, False, True, True]  # even at 0, each period needs a day


def test_protocol_on_a_sparse_log_excludes_users_without_test_days(tmp_path):
    log = tmp_path / "log.txt"
    generate(str(log), n_users=10, n_days=91, seed=6, p_active=0.9)
    features = features_from_log(str(log), "Asia/Tokyo", 256)[0]
    gone = sorted(features["user_id"].unique())[:2]
    late = pd.to_datetime(features["ds"]) >= pd.Timestamp("2026-02-26")  # test days start on day 57
    features = features[~(features["user_id"].isin(gone) & late)]
    result = evaluation.evaluate(features, "2026-01-01", evaluation.Protocol(methods=(evaluation.THESIS,), **SMALL))
    assert result["users"] == 8 and result["excluded"]["no test days at all"] == 2
    per_user = result["per_user"][evaluation.THESIS]
    assert not set(gone) & set(per_user["user_id"])  # never scored, never "zero error"
    assert sum(row["users"] for row in result["deciles"][evaluation.THESIS]) == 8


def test_replay_scenario_is_scored_and_the_veto_stops_it(tmp_path, monkeypatch):
    log = tmp_path / "log.txt"
    generate(str(log), n_users=12, n_days=91, seed=7, shape="real")
    features = features_from_log(str(log), "Asia/Tokyo", 256)[0]
    assert "domains" in features.columns and features["domains"].map(len).sum() > 0
    attack_shapes = []
    real_sweep = evaluation.pair_forests_sweep

    def recording_sweep(*args):
        attack_shapes.append((args[8].shape, args[0].shape[1]))  # (attack rows, features of the method)
        return real_sweep(*args)

    monkeypatch.setattr(evaluation, "pair_forests_sweep", recording_sweep)
    result = evaluation.evaluate(features, "2026-01-01", evaluation.Protocol(
        methods=(evaluation.EXTENDED, evaluation.SPARSE), min_active_days=5, **SMALL))
    # the forest scores the replayed days' features (B, test days, features), not the veto flags
    n, test_days = result["users"], evaluation.Protocol().test_days
    assert {shape for shape, _ in attack_shapes} == {(n, test_days, 7), (n, test_days, 11)}
    assert all(shape[2] == n_features for shape, n_features in attack_shapes)
    ext, sparse = result["methods"][evaluation.EXTENDED], result["methods"][evaluation.SPARSE]
    assert ext["impersonation_tried"] > 0 and ext["impersonation_tried"] == sparse["impersonation_tried"]
    assert sparse["impersonation_FAR"] < ext["impersonation_FAR"]
    assert sparse["replay_defence"] and 0 < sparse["genuine_accept"] <= 1
    assert "domain_overlap" in sparse["importances"]
    sweep = result["sweep"][evaluation.SPARSE]
    fars = [row["impersonation_FAR"] for row in sweep]
    assert fars == sorted(fars, reverse=True)  # a higher threshold never accepts more attacks
    assert "per activity decile" in evaluation.thesis_table(result)


def test_real_shape_generator_is_sparse_with_outages_and_clicks(tmp_path):
    summary = generate(str(tmp_path / "log.txt"), n_users=60, n_days=91, seed=2, shape="real")
    features = features_from_log(summary["file"], "Asia/Tokyo", 256)[0]
    days = features.groupby("user_id")["ds"].nunique()
    assert days.between(20, 40).mean() > 0.2 and days.max() > 70 and days.min() < 20
    per_day = features.groupby("ds")["search_count"].sum()
    assert all(per_day.get(d, 0) < 0.1 * per_day.median() for d in summary["outage_days"])
    counts = features["search_count"]
    assert counts.max() > 8 * counts.median()  # heavy-tailed volume
    assert summary["clicked_queries"] > 0.3 * summary["queries"]
    popular = features["document"].map(lambda doc: "google" in doc).groupby(features["user_id"]).any()
    assert popular.mean() > 0.3  # popular queries are shared by many users


from tests.common.test_loader_properties import (PROPERTY, _assert_accounted, with_hostile_lines,  # noqa: E402
                                                  write_aol)


@PROPERTY
@with_hostile_lines
def test_whole_log_loader_accounts_for_every_line(tmp_path_factory, extra_text, extra_bytes, order):
    """The CLI/bench loader under hostile lines: every line is kept, merged, quarantined or a duplicate."""
    path = write_aol(tmp_path_factory.mktemp("aol"), ["17\tweather\t2006-03-01 10:00:00\t\t",
                                                      "17\tweather\t2006-03-01 10:00:00\t1\thttp://weather.com",
                                                      "18\tnews\t2006-03-02 11:30:00\t\t"],
                     extra_text, extra_bytes, order)
    quarantine = Quarantine("ingest")
    queries, counts = load_log(str(path), "UTC", 1000, quarantine)
    _assert_accounted(counts, quarantine)
    assert counts["read"] == len(path.read_bytes().split(b"\n")) - 2  # header and the last newline
