"""The fingerprint pipeline's datasets, all partitioned by day ``ds=YYYY-MM-DD``."""
import pyarrow as pa

from transforms.common.lake import DatasetSpec
from transforms.fingerprint.attributes import ATTRIBUTES

KEY = "ds"
_ATTRIBUTE_FIELDS = [(name, pa.string()) for name in ATTRIBUTES]
_TS = pa.timestamp("us", tz="UTC")

VISITS = DatasetSpec("fp_visits", pa.schema(
    [("visit_id", pa.string()), ("uid", pa.string()), ("ts", _TS)] + _ATTRIBUTE_FIELDS + [
        ("truth_device", pa.string()),  # generator ground truth (synthetic data only)
        ("capped", pa.string()),  # attributes cut at fp_max_attribute_chars
        ("n_attributes", pa.int32()), ("fp_md5", pa.string()), ("fp_ssdeep", pa.string()), ("source", pa.string()),
    ]), KEY)

LINKS = DatasetSpec("fp_links", pa.schema([
    ("visit_id", pa.string()), ("ts", _TS), ("uid", pa.string()), ("device_id", pa.string()),
    ("decision", pa.string()),  # "matched", "new device" or "ambiguous" (best match shared by several devices)
    ("score", pa.float64()), ("matched_visit_id", pa.string()), ("method", pa.string()), ("threshold", pa.float64()),
    ("anonymity_set", pa.int64()),  # stored devices whose fingerprint equals the visit's exactly
]), KEY)

# Each device's most recent fingerprints after linking day ``ds`` (what the next day links against).
STORE = DatasetSpec("fp_device_store", pa.schema(
    [("device_id", pa.string()), ("visit_id", pa.string()), ("uid", pa.string()), ("ts", _TS)]
    + _ATTRIBUTE_FIELDS + [("fp_md5", pa.string()), ("fp_ssdeep", pa.string())]), KEY)

CALIBRATION = DatasetSpec("fp_calibration", pa.schema([
    ("method", pa.string()), ("threshold", pa.float64()), ("calibrated", pa.bool_()),
    ("best_threshold", pa.float64()), ("best_fp_plus_fn", pa.float64()), ("fp_plus_fn_at_threshold", pa.float64()),
    ("train_pairs_same", pa.int64()), ("train_pairs_diff", pa.int64()),
    ("link_threshold", pa.float64()),  # one-to-many linking: threshold where most visits link right
    ("link_accuracy", pa.float64()),  # ... and that share, linking the calibration window in time order
    ("link_false_merge", pa.float64()),  # ... and the share merged into another UID's device there
    ("fit_window", pa.string()), ("calibration_window", pa.string()),
]), KEY)

EVALUATION = DatasetSpec("fp_evaluation", pa.schema([
    ("method", pa.string()), ("bucket", pa.string()), ("threshold", pa.float64()),
    ("n_same", pa.int64()), ("n_diff", pa.int64()), ("tp", pa.int64()), ("fp", pa.int64()),
    ("fn", pa.int64()), ("tn", pa.int64()), ("tp_rate", pa.float64()), ("tn_rate", pa.float64()),
    ("precision", pa.float64()), ("recall", pa.float64()), ("eer", pa.float64()), ("test_window", pa.string()),
]), KEY)

DECISIONS = ["matched", "new device", "ambiguous"]
