"""Session and action features on hand-built event streams with known answers."""
import math

import numpy as np
import pandas as pd
import pytest

from transforms.mouse import features


def _events(rows):
    frame = pd.DataFrame(rows, columns=["t", "event", "button", "x", "y"])
    return frame.assign(source="test", user_id="u", session_id="s", task="star", is_illegal=-1,
                        seq=range(len(frame)), scroll_y=np.nan)


def test_session_features_of_a_straight_constant_speed_stroke():
    rows = [(i * 0.01, "move", "none", 100 + 10 * i, 50) for i in range(11)]  # 1000 px/s, 100 px
    rows += [(0.11, "press", "left", 200, 50), (0.12, "drag", "none", 210, 60), (0.13, "release", "left", 220, 70)]
    rows += [(0.2, "scroll_down", "scroll", 220, 70), (0.3, "scroll_down", "scroll", 220, 70)]
    f = features.session_features(_events(rows))
    assert f["duration_s"] == pytest.approx(0.3)
    assert f["speed_median"] == pytest.approx(1000)
    assert f["x_min"] == 100 and f["x_max"] == 220 and f["y_max"] == 70
    assert (f["stroke_x_min"], f["stroke_x_max"], f["stroke_y_min"], f["stroke_y_max"]) == (200, 220, 50, 70)
    assert f["distance"] == pytest.approx(100 + math.hypot(10, 10))
    assert f["n_samples"] == 16
    assert f["scroll_speed_mean"] == pytest.approx(10)  # one notch per 0.1 s


def test_segmentation_into_move_point_click_and_drag():
    rows = [(i * 0.01, "move", "none", 10 * i, 0) for i in range(6)]  # move ...
    rows += [(2.0 + i * 0.01, "move", "none", 100 + 5 * i, 100) for i in range(6)]  # ... pause ends it; then a click
    rows += [(2.1, "press", "left", 125, 100), (2.2, "release", "left", 125, 100)]
    rows += [(3.0, "press", "left", 125, 100)] + [(3.0 + 0.01 * i, "drag", "none", 125 + 10 * i, 100 + 10 * i)
                                                   for i in range(1, 6)] + [(3.1, "release", "left", 175, 150)]
    kinds = [kind for kind, _, _ in features.segment_actions(_events(rows), pause_s=1.0)]
    assert kinds == ["move", "point_click", "drag"]
    sessions, actions = features.compute(_events(rows), pause_s=1.0, min_points=4)
    assert actions["action_type"].tolist() == ["move", "point_click", "drag"]
    click = actions.iloc[1]
    assert click["click_dwell_s"] == pytest.approx(0.1) and click["pause_before_s"] == pytest.approx(1.95)
    drag = actions.iloc[2]
    assert drag["straightness"] == pytest.approx(1.0) and drag["direction_cos"] == pytest.approx(math.sqrt(0.5))


def test_action_kinematics_of_a_circle_arc():
    angle = np.linspace(0, math.pi / 2, 21)
    t = np.linspace(0, 0.2, 21)
    f = features.action_features("move", t, 100 * np.cos(angle), 100 * np.sin(angle), 0.0)
    assert f["v_mean"] == pytest.approx(100 * (math.pi / 2) / 0.2, rel=0.01)  # arc length / time
    assert f["curvature_mean"] == pytest.approx(0.01, rel=0.05)  # 1 / radius
    assert f["straightness"] == pytest.approx(math.sqrt(2) / (math.pi / 2), rel=0.01)
    assert f["max_deviation"] == pytest.approx(100 - 100 / math.sqrt(2), rel=0.01)
    assert f["a_std"] == pytest.approx(0, abs=1e-6)


def test_resampling_removes_the_sampling_rate_and_screen_normalising_the_monitor():
    """The same constant-speed stroke logged every 16 ms and every 110 ms gives the same resampled
    features; the same gesture on a screen twice as large gives the same normalised features."""
    def stroke(step, scale=1.0, offset=0.0):
        times = np.arange(0, 1.1 + 1e-9, step)
        return [(t, "move", "none", scale * (100 + 500 * t) + offset, scale * (300 + 200 * t)) for t in times]

    def action(rows, **options):
        _, actions = features.compute(_events(rows), 1.0, 4, **options)
        assert len(actions) == 1
        return actions.iloc[0]

    fine, coarse = stroke(0.016), stroke(0.11)
    raw_fine, raw_coarse = action(fine), action(coarse)
    assert raw_fine["n_points"] > 5 * raw_coarse["n_points"]  # the artefact: point counts
    assert raw_coarse["pause_within_s"] > 0 == raw_fine["pause_within_s"]  # ... and 110 ms "pauses"
    a, b = action(fine, resample_s=0.02), action(coarse, resample_s=0.02)
    for name in ("n_points", "v_mean", "duration_s", "travel", "pause_within_s"):
        assert a[name] == pytest.approx(b[name], rel=0.05), name
    # a session on a 2x larger screen (an extra sample marks its bounds), normalised by them
    small = fine + [(1.2, "move", "none", 1000, 800)]
    large = [(t, e, btn, 2 * x, 2 * y) for t, e, btn, x, y in small]
    s, l = action(small, screen_normalise=True), action(large, screen_normalise=True)
    assert s["v_mean"] == pytest.approx(l["v_mean"]) and s["travel"] == pytest.approx(l["travel"])
    assert action(small)["v_mean"] * 2 == pytest.approx(action(large)["v_mean"])


def test_short_actions_are_quarantined_with_a_reason():
    from transforms.common.quarantine import Quarantine

    rows = [(i * 0.02, "move", "none", 10 + i, 10) for i in range(6)]
    rows += [(3.0, "move", "none", 50, 50), (3.02, "move", "none", 52, 50)]  # after a pause: 2 samples
    quarantine = Quarantine("features")
    _, actions = features.compute(_events(rows), 1.0, 4, quarantine=quarantine)
    assert len(actions) == 1
    assert quarantine.counts() == {"action too short (< 4 distinct timestamps)": 1}
    assert '"action_type": "move"' in quarantine.rows[0]["row"]


def test_sampling_rate_report_per_user():
    fast = _events([(i * 0.016, "move", "none", i, i) for i in range(50)])
    slow = _events([(i * 0.11, "move", "none", i, i) for i in range(50)]).assign(user_id="v", session_id="s2")
    report = features.sampling_rates(pd.concat([fast, slow], ignore_index=True)).set_index("user_id")
    assert report.loc["u", "median_ms"] == pytest.approx(16) and report.loc["v", "median_ms"] == pytest.approx(110)


def test_extended_features_of_a_straight_rightward_stroke_and_an_upward_one():
    t = np.arange(11) * 0.02
    right = features.action_features("move", t, 100 + 10 * np.arange(11.0), np.full(11, 50.0), 0.0, extended=True)
    assert (right["start_x"], right["start_y"], right["end_x"], right["end_y"]) == (100.0, 50.0, 200.0, 50.0)
    assert right["direction_share_4"] == pytest.approx(1.0)
    assert sum(right[f"direction_share_{i}"] for i in range(8)) == pytest.approx(1.0)
    assert right["v_peak_ratio"] == pytest.approx(1.0) and right["deviation_ratio"] == pytest.approx(0.0)
    assert right["abs_dx_ratio"] == pytest.approx(1.0) and right["effective_speed"] == pytest.approx(500.0)
    up = features.action_features("move", t, np.full(11, 50.0), 300 - 10 * np.arange(11.0), 0.0, extended=True)
    assert up["direction_share_6"] == pytest.approx(1.0) and up["abs_dx_ratio"] == pytest.approx(0.0)
    # the daily schema keeps the base features only
    assert "start_x" not in features.action_features("move", t, np.arange(11.0), np.zeros(11), 0.0)
