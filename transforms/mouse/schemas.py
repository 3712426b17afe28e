"""Datasets of the mouse pipeline, all partitioned by day ``ds=YYYY-MM-DD``."""
import pyarrow as pa

from transforms.common.lake import DatasetSpec

KEY = "ds"
EVENT_TYPES = ("move", "drag", "press", "release", "click", "scroll_up", "scroll_down")
BUTTONS = ("none", "left", "right", "middle", "scroll")

# One row per interaction event, in session order. user_id is namespaced by source
# ("balabit:user7", "recorder:alice"); is_illegal: -1 unlabelled/training, 0/1 Balabit test label.
EVENTS = DatasetSpec("mouse_events", pa.schema([
    ("source", pa.string()), ("user_id", pa.string()), ("session_id", pa.string()), ("task", pa.string()),
    ("is_illegal", pa.int8()), ("seq", pa.int32()), ("t", pa.float64()), ("event", pa.string()),
    ("button", pa.string()), ("x", pa.float64()), ("y", pa.float64()), ("scroll_y", pa.float64()),
]), KEY)

SESSION_META = [("source", pa.string()), ("user_id", pa.string()), ("session_id", pa.string()),
                ("task", pa.string()), ("is_illegal", pa.int8())]

SESSION_FEATURE_NAMES = [
    "duration_s", "speed_mean", "speed_median", "speed_std", "x_max", "x_min", "y_max", "y_min",
    "stroke_x_max", "stroke_x_min", "stroke_y_max", "stroke_y_min", "distance", "n_samples",
    "scroll_speed_mean", "scroll_speed_median", "scroll_speed_std",
]
SESSION_FEATURES = DatasetSpec("mouse_session_features", pa.schema(
    SESSION_META + [(n, pa.float64()) for n in SESSION_FEATURE_NAMES]), KEY)

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
ACTIONS = DatasetSpec("mouse_actions", pa.schema(
    SESSION_META + [("action_index", pa.int32()), ("action_type", pa.string()), ("t_start", pa.float64())]
    + [(n, pa.float64()) for n in ACTION_FEATURE_NAMES]), KEY)
