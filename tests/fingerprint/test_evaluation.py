"""Calibration, Table 5 rates and the claim that the hybrid beats ssdeep out of sample."""
from datetime import date

import numpy as np
import pandas as pd

from transforms.fingerprint import evaluation as ev
from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator
from transforms.fingerprint.methods import Method, Ssdeep, all_methods, prepare_records
from transforms.fingerprint.table import VisitTable


def test_counts_rates_and_threshold_on_known_scores():
    counts = ev.Counts.empty(np.arange(0, 101, dtype=float))
    scores = np.array([90, 80, 70, 40, 30, 75, 20, 10, 5, 0], dtype=float)
    same = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    bucket = np.array([0, 0, 1, 9, 0, 1, 9, 9, 0, 0])
    counts.add(scores, same, bucket)
    k = counts.index_of(70)
    overall = counts.rates(k)
    assert (overall["tp"], overall["fn"], overall["fp"], overall["tn"]) == (3, 1, 1, 5)
    assert overall["tp_rate"] == 0.75 and overall["tn_rate"] == 5 / 6 and overall["precision"] == 0.75
    assert counts.rates(k, slice(9, 10))["tp_rate"] == 0.0
    threshold, error = counts.best_threshold()  # 31..40 separate perfectly but for the 75: FNR 0, FPR 1/6
    assert threshold == 31 and abs(error - 1 / 6) < 1e-12
    assert 0 <= counts.eer() <= 0.25


def test_linking_accuracy_on_known_scores():
    # visits in time order: u1, u2, u1 (again), u3; earlier-pair scores given below
    frame = prepare_records([{"uid": u, "ts": f"2014-01-0{d}T00:00:00+00:00"} for u, d in
                             (("u1", 1), ("u2", 2), ("u1", 3), ("u3", 4))])
    table = VisitTable(frame)
    best = ev.BestEarlier.empty(table)
    i, j = np.array([0, 0, 1, 0, 1, 2]), np.array([1, 2, 2, 3, 3, 3])
    scores = np.array([40, 90, 60, 50, 70, 30], dtype=float)
    best.add(table, i, j, scores, ev.same_uid(table, i, j))
    assert best.same[2] == 90 and best.other[2] == 60 and best.other[3] == 70
    # at 80: u1 again matched to itself (90 > 60), u2 (40) and u3 (70) stay new, u1 first is new
    assert best.accuracy(np.array([30.0, 80.0, 95.0])).tolist() == [0.5, 1.0, 0.75]


def test_buckets_follow_the_paper():
    frame = prepare_records([{"uid": "a", "ts": f"2014-01-{d:02d}T00:00:00+00:00", "screen": "1x1x1"} for d in (1, 1, 2, 8)])
    table = VisitTable(frame)
    i, j = np.array([0, 0, 0, 2]), np.array([1, 2, 3, 3])
    assert ev.gap_bucket(table, i, j).tolist() == [0, 1, 2, 1]
    assert len(ev.BUCKETS) == 10 and ev.BUCKETS[0] == "[0,1)" and ev.BUCKETS[-1] == "[56,411]"


def test_hybrid_beats_ssdeep_on_a_later_test_window():
    # enough returning devices in the fit window for the learned part (≈ 2,100 visits)
    history = HistoryGenerator(GeneratorConfig(seed=11, devices=1000, days=720, start=date(2013, 7, 1))).visits()
    frame = prepare_records(history)
    ts = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    fit = VisitTable(frame[ts < "2014-01-01"])
    calibration = VisitTable(frame[(ts >= "2014-01-01") & (ts < "2014-06-01")])
    test = VisitTable(frame[ts >= "2014-06-01"])
    methods = all_methods()
    calibrated = ev.fit_and_calibrate(fit, calibration, methods, max_different=50_000)
    assert set(calibrated["method"]) == {m.name for m in methods}
    ssdeep_row = calibrated.set_index("method").loc["ssdeep"]
    assert 30 <= ssdeep_row["threshold"] <= 100 and ssdeep_row["calibrated"]
    assert calibrated.set_index("method").loc["openam50", "threshold"] == -50  # fixed by the rule
    result = ev.evaluate(test, methods)
    overall = result[result["bucket"] == "all"].set_index("method")
    error = 2 - overall["tp_rate"] - overall["tn_rate"]
    assert error["hybrid"] < error["ssdeep"]
    assert overall.loc["hybrid", "eer"] <= overall.loc["ssdeep", "eer"]
    assert overall.loc["fybrid", "tn_rate"] > 0.999
    table = ev.table5(result)
    assert table.count("| TP |") == len(methods) and "pairs different-UID" in table
    # one-to-many linking needs a stricter threshold than pairwise verification: calibrated on the
    # calibration window as the most accurate one whose false-merge rate stays within 1 %, it
    # merges fewer visits of the later test window into another UID than the pairwise one does
    linked = ev.count_pairs(test, methods, linking=ev.LINKABLE)
    for m in (m for m in methods if m.name in ev.LINKABLE):
        row = calibrated.set_index("method").loc[m.name]
        assert row["link_threshold"] == m.linking_threshold >= m.threshold and 0 < row["link_accuracy"] <= 1
        assert row["link_false_merge"] <= 0.01 or row["link_threshold"] == m.score_grid.max()
        at = np.array([m.threshold, m.linking_threshold])
        merges = linked[m.name].linking.false_merges(at)
        assert merges[1] <= merges[0] and merges[1] < 0.05, (m.name, merges)
        assert linked[m.name].linking.accuracy(at)[1] > 0.3  # measured (ssdeep): 0.55
    per_bucket = result[result["bucket"] != "all"].groupby("method")["n_same"].sum()
    assert (per_bucket.sort_index() == overall["n_same"].sort_index()).all()
    assert overall["n_same"].iloc[0] + overall["n_diff"].iloc[0] == test.n * (test.n - 1) // 2
    # three shards scored apart, shipped as NumPy archives and merged give the same evaluation
    shards = [ev.counts_from_npz(ev.counts_to_npz(ev.count_pairs(test, methods, chunk=5_000, shard=k, shards=3)))
              for k in range(3)]
    pd.testing.assert_frame_equal(ev.evaluate(None, methods, ev.merge_counts(shards)), result)


def test_shards_split_the_pairs_exactly():
    from transforms.fingerprint.table import all_pairs

    n = 23
    whole = {(a, b) for i, j in all_pairs(n) for a, b in zip(i.tolist(), j.tolist())}
    assert len(whole) == n * (n - 1) // 2
    parts = [[(a, b) for i, j in all_pairs(n, chunk=7, shard=k, shards=4) for a, b in zip(i.tolist(), j.tolist())]
             for k in range(4)]
    assert sum(len(p) for p in parts) == len(whole) and set().union(*parts) == whole
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= n  # interleaved rows: even shards


def test_fixed_threshold_methods_keep_their_rule():
    class Constant(Method):
        name, calibrated, default_threshold = "constant", False, 0.5

        def scores(self, table, i, j):
            return np.full(len(i), 0.7)

    frame = prepare_records([{"uid": u, "ts": "2014-01-01T00:00:00+00:00", "screen": "1x1x1"} for u in "aab"])
    counts = ev.count_pairs(VisitTable(frame), [Constant(), Ssdeep()])
    assert counts["constant"].rates(counts["constant"].index_of(0.5))["tp_rate"] == 1.0


def test_linking_metrics_on_known_links():
    links = pd.DataFrame({
        "visit_id": ["a1", "b1", "a2", "c1", "b2", "d1"],
        "ts": pd.date_range("2014-01-01", periods=6, freq="D", tz="UTC"),
        "decision": ["new device", "new device", "matched", "matched", "ambiguous", "ambiguous"],
        "matched_visit_id": [None, None, "a1", "b1", "b1", "a1"]})
    labels = {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "c1": "C", "d1": "D"}
    m = ev.linking_metrics(links, labels)
    # a1, b1 new (right); a2 returning matched to A (right); c1 merged into B (false merge);
    # b2 returning but abstained (wrong); d1 new and abstained (right)
    assert (m["visits"], m["returning"], m["returning_right"], m["first"], m["first_right"]) == (6, 2, 1, 4, 3)
    assert m["false_merges"] == 1 and m["false_merge_rate"] == 1 / 6 and m["link_accuracy"] == 4 / 6
    assert m["ambiguous"] == 2 and m["returning_linked"] == 0.5
