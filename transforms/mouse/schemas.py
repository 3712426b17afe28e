"""Datasets of the mouse pipeline, all partitioned by day ``ds=YYYY-MM-DD``."""
import pyarrow as pa

from transforms.common.contract import Col
from transforms.common.lake import DatasetSpec

KEY = "ds"
EVENT_TYPES = ("move", "drag", "press", "release", "click", "scroll_up", "scroll_down")
BUTTONS = ("none", "left", "right", "middle", "scroll")
ACTION_TYPES = ("move", "point_click", "drag")
MAX_COORDINATE = 10_000  # Balabit logs carry 65535-style sentinels when the cursor leaves the screen

# One row per interaction event, in session order. user_id is namespaced by source
# ("balabit:user7", "recorder:alice"); is_illegal: -1 unlabelled/training, 0/1 Balabit test label.
_COORDINATE = {"min": 0, "max": MAX_COORDINATE}
EVENTS = DatasetSpec("mouse_events", [
    Col("source", pa.string()), Col("user_id", pa.string(), nullable=False),
    Col("session_id", pa.string(), nullable=False), Col("task", pa.string()),
    Col("is_illegal", pa.int8(), values=(-1, 0, 1)), Col("seq", pa.int32(), nullable=False),
    Col("t", pa.float64(), nullable=False), Col("event", pa.string(), values=EVENT_TYPES),
    Col("button", pa.string(), values=BUTTONS), Col("x", pa.float64(), **_COORDINATE),
    Col("y", pa.float64(), **_COORDINATE), Col("scroll_y", pa.float64()),
], KEY, unique=("session_id", "seq"))

SESSION_META = [Col("source", pa.string()), Col("user_id", pa.string(), nullable=False),
                Col("session_id", pa.string(), nullable=False), Col("task", pa.string()),
                Col("is_illegal", pa.int8(), values=(-1, 0, 1))]

SESSION_FEATURE_NAMES = [
    "duration_s", "speed_mean", "speed_median", "speed_std", "x_max", "x_min", "y_max", "y_min",
    "stroke_x_max", "stroke_x_min", "stroke_y_max", "stroke_y_min", "distance", "n_samples",
    "scroll_speed_mean", "scroll_speed_median", "scroll_speed_std",
]
_SESSION_RULES = {"duration_s": {"min": 0}, "n_samples": {"min": 1}}
SESSION_FEATURES = DatasetSpec("mouse_session_features", SESSION_META + [
    Col(n, pa.float64(), **_SESSION_RULES.get(n, {})) for n in SESSION_FEATURE_NAMES], KEY, unique=("session_id",))

ACTION_FEATURE_NAMES = [
    "is_move", "is_point_click", "is_drag", "duration_s", "n_points", "travel", "chord", "straightness",
    "direction_sin", "direction_cos", "v_mean", "v_std", "v_max", "vx_mean", "vy_mean", "a_mean", "a_std",
    "a_max", "jerk_mean", "jerk_std", "curvature_mean", "curvature_std", "angular_v_mean", "angular_v_std",
    "max_deviation", "critical_points", "pause_within_s", "pause_before_s", "time_to_peak_v",
    "click_dwell_s",
]
# Issue 17, the Balabit challenge path only (``features.compute(..., extended=True)``): where the
# action starts / ends on the screen (a screen-extent group, dropped with the session extents),
# then ratios / quantiles of the velocity profile and path, and the direction histogram.
ACTION_POSITION_FEATURES = ["start_x", "start_y", "end_x", "end_y"]
ACTION_EXTENDED_FEATURE_NAMES = ACTION_POSITION_FEATURES + [
    "v_p25", "v_p50", "v_p75", "v_peak_ratio", "t_peak_ratio", "accel_time_ratio", "speed_peaks", "turning_per_px",
    "abs_dx_ratio", "deviation_ratio", "effective_speed", "end_speed_ratio",
] + [f"direction_share_{i}" for i in range(8)]
_ACTION_RULES = {"duration_s": {"min": 0}, "straightness": {"min": 0, "max": 1.000001},  # float rounding
                 "v_mean": {"nullable": False}, "curvature_std": {"nullable": False}}
ACTIONS = DatasetSpec("mouse_actions", SESSION_META + [
    Col("action_index", pa.int32(), nullable=False), Col("action_type", pa.string(), values=ACTION_TYPES),
    Col("t_start", pa.float64())] + [Col(n, pa.float64(), **_ACTION_RULES.get(n, {})) for n in ACTION_FEATURE_NAMES],
    KEY, unique=("session_id", "action_index"))
