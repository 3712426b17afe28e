"""Settings of the fingerprint pipeline (env ``TRACKSCOPE_FP_*``, Variables ``trackscope_fp_*``)."""
import dataclasses

from transforms.common.settings import DEFAULT_HOME, BaseSettings


@dataclasses.dataclass(frozen=True)
class FingerprintSettings(BaseSettings):
    fp_input_dir: str = str(DEFAULT_HOME / "fingerprint" / "input")  # visits-YYYY-MM-DD.{jsonl,csv,parquet}
    fp_max_attribute_chars: int = 4096  # longer values are capped (and the row says which)
    fp_min_attributes: int = 10  # coverage checkpoint: a visit with fewer attributes fails it
    fp_store_keep: int = 5  # recent fingerprints kept per device
    fp_store_retention_days: int = 450  # devices unseen for longer leave the store
    fp_fallback_threshold: float = 90.0  # ssdeep linking threshold until a linker is promoted (stricter
    # than the paper's pairwise 67: one visit meets the whole store, see docs/fingerprint.md)
    fp_fit_days: int = 150  # hybrid linker fitted on these days ...
    fp_calibration_days: int = 150  # ... thresholds calibrated on the next ones ...
    fp_test_days: int = 411  # ... and evaluated on the last ones (ending at the run's date)
    fp_max_different_pairs: int = 200_000  # sampled different-UID pairs for fitting
    fp_max_threshold_shift: float = 0.25  # calibration stability: shift / score range vs last run
    fp_gate_tolerance: float = 0.005  # promotion: FP+FN rate may be this much worse
    fp_seed: int = 0
    fp_eval_shards: int = 2  # the nightly scores the test pairs in this many parallel tasks
