"""Per-session features (the paper's, SPEC S1.4) and per-action features.

Actions follow the usual mouse-dynamics segmentation (Ahmed & Traore; Antal & Egyed on Balabit):
* **move** (MM): cursor moves without a button, ended by a pause longer than ``pause_s``, a
  scroll, or a press;
* **point-click** (PC): the moves leading to a press plus the press and release (no drag between);
* **drag** (DD): press, drag samples, release.
Actions with fewer than ``min_points`` samples carry no usable velocity profile and are skipped
(counted, and quarantined with a reason when a quarantine is given).

Robustness (issue 17), both settings of :func:`compute`:
* ``resample_s`` > 0: each action's trajectory is linearly interpolated onto a fixed time step
  before its features, so loggers sampling every 16 ms and every 110 ms give comparable
  velocity / acceleration / curvature profiles and point counts (``n_points`` becomes duration
  over the step). Pauses inside an action are then gaps longer than ``RESAMPLED_PAUSE_S`` in the
  raw samples (above both usual sampling intervals).
* ``screen_normalise``: coordinates are divided by the session's screen bounds (the largest x and
  y seen in the session), so pixel distances and speeds are fractions of the screen and a larger
  monitor does not identify its user.
"""
from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from transforms.mouse.schemas import (ACTION_EXTENDED_FEATURE_NAMES, ACTION_FEATURE_NAMES,  # noqa: F401
                                      ACTION_POSITION_FEATURES, SESSION_FEATURE_NAMES)

log = logging.getLogger(__name__)
META = ["source", "user_id", "session_id", "task", "is_illegal"]
PAUSE_WITHIN_S = 0.1  # gaps longer than this inside an action count as hesitation
SHARP_TURN_RAD = math.pi / 6
RESAMPLED_PAUSE_S = 0.3
DIRECTION_BINS = 8
# per-session features that measure where on the screen the cursor went (monitor size)
SCREEN_EXTENT_FEATURES = ["x_max", "x_min", "y_max", "y_min", "stroke_x_max", "stroke_x_min", "stroke_y_max",
                          "stroke_y_min"]


def _stats(values: np.ndarray) -> tuple[float, float, float]:
    if values.size == 0:
        return (math.nan, math.nan, math.nan)
    return float(values.mean()), float(np.median(values)), float(values.std())


def session_features(session: pd.DataFrame) -> dict:
    """The paper's per-session features from one session's events (in order)."""
    t, x, y = (session[c].to_numpy(float) for c in ("t", "x", "y"))
    pointer = session["event"].isin(["move", "drag"]).to_numpy()
    px, py, pt = x[pointer], y[pointer], t[pointer]
    steps = np.hypot(np.diff(px), np.diff(py))
    dts = np.diff(pt)
    speeds = steps[dts > 0] / dts[dts > 0]
    stroke = session["event"].isin(["drag", "press", "release"]).to_numpy() & (session["button"] != "scroll").to_numpy()
    scroll = session[session["event"].isin(["scroll_up", "scroll_down"])]
    scroll_dt = np.diff(scroll["t"].to_numpy(float))
    if scroll["scroll_y"].notna().all() and len(scroll):
        amounts = np.abs(np.diff(scroll["scroll_y"].to_numpy(float)))
    else:  # Balabit: each event is one wheel notch
        amounts = np.ones_like(scroll_dt)
    scroll_speeds = amounts[scroll_dt > 0] / scroll_dt[scroll_dt > 0]
    speed_mean, speed_median, speed_std = _stats(speeds)
    scroll_mean, scroll_median, scroll_std = _stats(scroll_speeds)
    nan = math.nan
    return {
        "duration_s": float(t[-1] - t[0]) if len(t) else 0.0,
        "speed_mean": speed_mean, "speed_median": speed_median, "speed_std": speed_std,
        "x_max": float(x.max()), "x_min": float(x.min()), "y_max": float(y.max()), "y_min": float(y.min()),
        "stroke_x_max": float(x[stroke].max()) if stroke.any() else nan,
        "stroke_x_min": float(x[stroke].min()) if stroke.any() else nan,
        "stroke_y_max": float(y[stroke].max()) if stroke.any() else nan,
        "stroke_y_min": float(y[stroke].min()) if stroke.any() else nan,
        "distance": float(steps.sum()), "n_samples": float(len(session)),
        "scroll_speed_mean": scroll_mean, "scroll_speed_median": scroll_median, "scroll_speed_std": scroll_std,
    }


def segment_actions(session: pd.DataFrame, pause_s: float) -> list[tuple[str, list[int], float]]:
    """(type, row positions, click dwell seconds) for each action of one session."""
    actions: list[tuple[str, list[int], float]] = []
    moves: list[int] = []
    press: int | None = None
    drags: list[int] = []
    events, times = session["event"].to_numpy(), session["t"].to_numpy(float)

    def close_moves():
        nonlocal moves
        if moves:
            actions.append(("move", moves, 0.0))
        moves = []

    for i, (event, t) in enumerate(zip(events, times)):
        if event == "move":
            if press is not None:  # a move while "pressed" means the release was lost
                press, drags = None, []
            if moves and t - times[moves[-1]] > pause_s:
                close_moves()
            moves.append(i)
        elif event == "press":
            press, drags = i, []
        elif event == "drag" and press is not None:
            drags.append(i)
        elif event == "release" and press is not None:
            dwell = float(t - times[press])
            if len(drags) >= 2:
                close_moves()
                actions.append(("drag", [press] + drags + [i], dwell))
            else:
                actions.append(("point_click", moves + [press] + drags + [i], dwell))
                moves = []
            press, drags = None, []
        elif event in ("scroll_up", "scroll_down"):
            close_moves()
    close_moves()
    return actions


def resample(t: np.ndarray, x: np.ndarray, y: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The trajectory at a fixed time step (the first and last sample kept; linear in between)."""
    if step <= 0 or t.size < 2 or t[-1] - t[0] < step:
        return t, x, y
    grid = np.arange(t[0], t[-1], step)
    if t[-1] - grid[-1] > 1e-9:
        grid = np.append(grid, t[-1])
    return grid, np.interp(grid, t, x), np.interp(grid, t, y)


def action_features(kind: str, t: np.ndarray, x: np.ndarray, y: np.ndarray, dwell: float,
                    resample_s: float = 0.0, extended: bool = False) -> dict:
    keep = np.concatenate([[True], np.diff(t) > 0])  # same-timestamp samples: keep the first
    t, x, y = t[keep], x[keep], y[keep]
    raw_dt = np.diff(t)
    pause_within = float(raw_dt[raw_dt > PAUSE_WITHIN_S].sum())
    if resample_s > 0:
        pause_within = float(raw_dt[raw_dt > RESAMPLED_PAUSE_S].sum())
        t, x, y = resample(t, x, y, resample_s)
    dx, dy, dt = np.diff(x), np.diff(y), np.diff(t)
    step = np.hypot(dx, dy)
    travel = float(step.sum())
    chord_x, chord_y = x[-1] - x[0], y[-1] - y[0]
    chord = float(math.hypot(chord_x, chord_y))
    v = step / dt if dt.size else np.zeros(0)
    a = np.diff(v) / dt[1:] if v.size > 1 else np.zeros(0)
    jerk = np.diff(a) / dt[2:] if a.size > 1 else np.zeros(0)
    moving = step > 0
    theta = np.unwrap(np.arctan2(dy[moving], dx[moving])) if moving.any() else np.zeros(0)
    dtheta = np.diff(theta)
    curvature = dtheta / step[moving][1:] if dtheta.size else np.zeros(0)
    angular_v = dtheta / dt[moving][1:] if dtheta.size else np.zeros(0)
    if chord > 0:
        deviation = np.abs(chord_x * (y - y[0]) - chord_y * (x - x[0])) / chord
    else:
        deviation = np.hypot(x - x[0], y - y[0])
    direction = math.atan2(chord_y, chord_x)

    def mean(a_):
        return float(a_.mean()) if a_.size else 0.0

    def std(a_):
        return float(a_.std()) if a_.size else 0.0

    extra = _extended_features(t, x, y, dx, dy, dt, step, v, a, dtheta, chord, deviation) if extended else {}
    return {**extra,
        "is_move": float(kind == "move"), "is_point_click": float(kind == "point_click"),
        "is_drag": float(kind == "drag"), "duration_s": float(t[-1] - t[0]), "n_points": float(len(t)),
        "travel": travel, "chord": chord, "straightness": chord / travel if travel > 0 else 1.0,
        "direction_sin": math.sin(direction), "direction_cos": math.cos(direction),
        "v_mean": mean(v), "v_std": std(v), "v_max": float(v.max()) if v.size else 0.0,
        "vx_mean": mean(dx / dt) if dt.size else 0.0, "vy_mean": mean(dy / dt) if dt.size else 0.0,
        "a_mean": mean(a), "a_std": std(a), "a_max": float(np.abs(a).max()) if a.size else 0.0,
        "jerk_mean": mean(jerk), "jerk_std": std(jerk),
        "curvature_mean": mean(curvature), "curvature_std": std(curvature),
        "angular_v_mean": mean(angular_v), "angular_v_std": std(angular_v),
        "max_deviation": float(deviation.max()), "critical_points": float((np.abs(dtheta) > SHARP_TURN_RAD).sum()),
        "pause_within_s": pause_within,
        "time_to_peak_v": float(t[1:][int(v.argmax())] - t[0]) if v.size else 0.0,
        "click_dwell_s": dwell,
    }


def _extended_features(t, x, y, dx, dy, dt, step, v, a, dtheta, chord, deviation) -> dict:
    """Shape of the velocity profile and of the path as ratios and quantiles (comparable across
    sampling rates once resampled), the direction histogram weighted by distance, and where on
    the screen the action starts and ends (``ACTION_POSITION_FEATURES``, a screen-extent group)."""
    duration = float(t[-1] - t[0])
    travel = float(step.sum())
    v_q = np.quantile(v, [0.25, 0.5, 0.75]) if v.size else np.zeros(3)
    v_max = float(v.max()) if v.size else 0.0
    v_mean = float(v.mean()) if v.size else 0.0
    out = {"start_x": float(x[0]), "start_y": float(y[0]), "end_x": float(x[-1]), "end_y": float(y[-1]),
           "v_p25": float(v_q[0]), "v_p50": float(v_q[1]), "v_p75": float(v_q[2]),
           "v_peak_ratio": v_max / v_mean if v_mean > 0 else 0.0,
           "t_peak_ratio": float(t[1:][int(v.argmax())] - t[0]) / duration if v.size and duration > 0 else 0.0,
           "accel_time_ratio": float(dt[1:][a > 0].sum()) / duration if a.size and duration > 0 else 0.0,
           "speed_peaks": float(((v[1:-1] > v[:-2]) & (v[1:-1] >= v[2:]) & (v[1:-1] > 0.2 * v_max)).sum())
           if v.size > 2 else 0.0,
           "turning_per_px": float(np.abs(dtheta).sum()) / travel if travel > 0 else 0.0,
           "abs_dx_ratio": float(np.abs(dx).sum()) / travel if travel > 0 else 0.0,
           "deviation_ratio": float(deviation.max()) / chord if chord > 0 else 0.0,
           "effective_speed": chord / duration if duration > 0 else 0.0,
           "end_speed_ratio": float(v[-1]) / v_max if v_max > 0 else 0.0}
    # share of the travelled distance per direction: bin 0 starts at leftwards (-pi), bins go
    # counter-clockwise as seen on screen (y grows downwards, hence -dy); rightwards is bin 4
    bins = ((np.arctan2(-dy, dx) + math.pi) / (2 * math.pi) * DIRECTION_BINS).astype(int) % DIRECTION_BINS
    histogram = np.bincount(bins, weights=step, minlength=DIRECTION_BINS) / travel if travel > 0 else \
        np.zeros(DIRECTION_BINS)
    out.update({f"direction_share_{i}": float(histogram[i]) for i in range(DIRECTION_BINS)})
    return out


def normalise_screen(session: pd.DataFrame) -> pd.DataFrame:
    """Coordinates as fractions of the session's screen bounds (largest x / y seen)."""
    width, height = float(session["x"].max()), float(session["y"].max())
    return session.assign(x=session["x"] / (width if width > 0 else 1.0), y=session["y"] / (height if height > 0 else 1.0))


def sampling_rates(events: pd.DataFrame) -> pd.DataFrame:
    """Per user: median / 10th / 90th percentile interval (ms) between consecutive cursor samples
    (move or drag, positive gaps under 1 s), and sessions and samples counted."""
    moves = events[events["event"].isin(["move", "drag"])].sort_values(["session_id", "seq"])
    gap = moves.groupby("session_id", sort=False)["t"].diff()
    moves = moves.assign(gap_ms=gap * 1000)
    moves = moves[(moves["gap_ms"] > 0) & (moves["gap_ms"] < 1000)]
    if moves.empty:
        return pd.DataFrame(columns=["user_id", "sessions", "samples", "median_ms", "p10_ms", "p90_ms"])
    grouped = moves.groupby("user_id")["gap_ms"]
    out = pd.DataFrame({"sessions": moves.groupby("user_id")["session_id"].nunique(), "samples": grouped.size(),
                        "median_ms": grouped.median(), "p10_ms": grouped.quantile(0.1), "p90_ms": grouped.quantile(0.9)})
    return out.reset_index()


def compute(events: pd.DataFrame, pause_s: float, min_points: int, resample_s: float = 0.0,
            screen_normalise: bool = False, quarantine=None, extended: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(session features, action features) for every session in ``events``. Actions shorter than
    ``min_points`` distinct timestamps are counted and, with a ``quarantine``, recorded there.
    ``extended``: the action frame also has ``ACTION_EXTENDED_FEATURE_NAMES`` (the daily lake
    schema ``mouse_actions`` has the base features only)."""
    sessions, actions = [], []
    skipped: dict[str, int] = {}
    for _, session in events.sort_values(["session_id", "seq"]).groupby("session_id", sort=True):
        meta = {k: session[k].iloc[0] for k in META}
        if screen_normalise:
            session = normalise_screen(session)
        sessions.append({**meta, **session_features(session)})
        previous_end = None
        index = 0
        t_all, x_all, y_all = (session[c].to_numpy(float) for c in ("t", "x", "y"))
        for kind, positions, dwell in segment_actions(session, pause_s):
            t, x, y = t_all[positions], x_all[positions], y_all[positions]
            if len(np.unique(t)) < min_points:
                skipped[kind] = skipped.get(kind, 0) + 1
                if quarantine is not None:
                    quarantine.add({"session_id": meta["session_id"], "user_id": meta["user_id"], "action_type": kind,
                                    "t_start": float(t[0]), "samples": len(positions)},
                                   f"action too short (< {min_points} distinct timestamps)", "features")
                continue
            row = {**meta, "action_index": index, "action_type": kind, "t_start": float(t[0]),
                   **action_features(kind, t, x, y, dwell, resample_s, extended)}
            row["pause_before_s"] = 0.0 if previous_end is None else max(0.0, float(t[0]) - previous_end)
            previous_end = float(t[-1])
            actions.append(row)
            index += 1
    session_frame = pd.DataFrame(sessions, columns=META + SESSION_FEATURE_NAMES)
    columns = ACTION_FEATURE_NAMES + (ACTION_EXTENDED_FEATURE_NAMES if extended else [])
    action_frame = pd.DataFrame(actions, columns=META + ["action_index", "action_type", "t_start"] + columns)
    log.info("features: %d sessions, %d actions (%d too short, skipped: %s)", len(session_frame), len(action_frame),
             sum(skipped.values()), skipped)
    return session_frame.astype({"is_illegal": "int8"}), action_frame.astype({"is_illegal": "int8", "action_index": "int32"})
