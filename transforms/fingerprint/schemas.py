"""The fingerprint pipeline's datasets, all partitioned by day ``ds=YYYY-MM-DD``.

Each contract gives the Parquet schema and the baseline GX suite (transforms/common/contract.py);
checkpoints.py adds only the rules that need another table, a setting or the method's score range.
"""
import pyarrow as pa

from transforms.common.contract import Col
from transforms.common.lake import DatasetSpec
from transforms.fingerprint.attributes import ATTRIBUTES

KEY = "ds"
_TS = pa.timestamp("us", tz="UTC")
DECISIONS = ("matched", "new device", "ambiguous")
_ATTRIBUTE_COLS = [Col(name, pa.string()) for name in ATTRIBUTES]
_SSDEEP = r"^\d+:[0-9A-Za-z+/]*:[0-9A-Za-z+/]*$"
_MD5 = r"^[0-9a-f]{32}$"
_RATE = {"min": 0, "max": 1}

VISITS = DatasetSpec("fp_visits", [
    Col("visit_id", pa.string(), nullable=False), Col("uid", pa.string()), Col("ts", _TS, nullable=False),
    *_ATTRIBUTE_COLS,
    Col("truth_device", pa.string(), doc="generator ground truth (synthetic data only)"),
    Col("capped", pa.string(), doc="attributes cut at fp_max_attribute_chars"),
    # a visit without any attribute is quarantined at ingest
    Col("n_attributes", pa.int32(), nullable=False, min=1, max=len(ATTRIBUTES)),
    Col("fp_md5", pa.string(), nullable=False, pattern=_MD5),
    Col("fp_ssdeep", pa.string(), nullable=False, pattern=_SSDEEP),
    Col("source", pa.string()),
], KEY, unique=("visit_id",))

LINKS = DatasetSpec("fp_links", [
    Col("visit_id", pa.string(), nullable=False), Col("ts", _TS), Col("uid", pa.string()),
    Col("device_id", pa.string(), nullable=False),
    Col("decision", pa.string(), nullable=False, values=DECISIONS,
        doc="ambiguous: the best match is shared by several devices"),
    Col("score", pa.float64(), doc="in the method's score range (checkpoints.after_linking); null for a new device"),
    Col("matched_visit_id", pa.string()), Col("method", pa.string(), nullable=False), Col("threshold", pa.float64()),
    Col("anonymity_set", pa.int64(), min=0, doc="stored devices whose fingerprint equals the visit's exactly"),
], KEY, unique=("visit_id",))

# Each device's most recent fingerprints after linking day ``ds`` (what the next day links against).
STORE = DatasetSpec("fp_device_store", [
    Col("device_id", pa.string(), nullable=False), Col("visit_id", pa.string(), nullable=False),
    Col("uid", pa.string()), Col("ts", _TS), *_ATTRIBUTE_COLS,
    Col("fp_md5", pa.string(), pattern=_MD5), Col("fp_ssdeep", pa.string(), pattern=_SSDEEP),
], KEY)

CALIBRATION = DatasetSpec("fp_calibration", [
    Col("method", pa.string(), nullable=False), Col("threshold", pa.float64(), nullable=False),
    Col("calibrated", pa.bool_()),
    Col("best_threshold", pa.float64()), Col("best_fp_plus_fn", pa.float64()),
    Col("fp_plus_fn_at_threshold", pa.float64()),
    Col("train_pairs_same", pa.int64(), min=0), Col("train_pairs_diff", pa.int64(), min=0),
    Col("link_threshold", pa.float64(), doc="one-to-many linking: threshold where most visits link right"),
    Col("link_accuracy", pa.float64(), **_RATE,
        doc="... and that share, linking the calibration window in time order"),
    Col("link_false_merge", pa.float64(), **_RATE, doc="... and the share merged into another UID's device there"),
    Col("fit_window", pa.string()), Col("calibration_window", pa.string()),
], KEY, unique=("method",))

EVALUATION = DatasetSpec("fp_evaluation", [
    Col("method", pa.string(), nullable=False), Col("bucket", pa.string(), nullable=False),
    Col("threshold", pa.float64()),
    *[Col(name, pa.int64(), min=0) for name in ("n_same", "n_diff", "tp", "fp", "fn", "tn")],
    *[Col(name, pa.float64(), **_RATE) for name in ("tp_rate", "tn_rate", "precision", "recall", "eer")],
    Col("test_window", pa.string()),
], KEY, unique=("method", "bucket"))
