"""Settings of the fingerprint pipeline (env ``TRACKSCOPE_FP_*``, Variables ``trackscope_fp_*``)."""
import dataclasses

from transforms.common.settings import DEFAULT_HOME, BaseSettings
from transforms.fingerprint.attributes import ATTRIBUTES


@dataclasses.dataclass(frozen=True)
class FingerprintSettings(BaseSettings):
    fp_input_dir: str = str(DEFAULT_HOME / "fingerprint" / "input")  # visits-YYYY-MM-DD.{jsonl,csv,parquet}
    fp_max_attribute_chars: int = 4096  # longer values are capped (and the row says which)
    # attribute presence is data: the attributes this deployment collects (comma-separated; default the
    # 20 of SPEC §S2). Others in the input are ignored; coverage of each is reported, never required.
    fp_attributes: str = ",".join(ATTRIBUTES)
    fp_min_attributes: int = 2  # a visit with fewer present attributes (of the collected ones) fails the checkpoint
    fp_coverage_warn: float = 0.5  # a collected attribute present on fewer visits is named in the log and report
    fp_max_anonymity_set: int = 1  # linking abstains ("ambiguous") when the best match is shared by more devices
    fp_gate_min_link_accuracy: float = 0.85  # promotion floor: visits of the test window linked right
    fp_gate_max_false_merge: float = 0.01  # promotion ceiling: visits merged into another device
    fp_gate_link_visits: int = 3000  # the test window's latest visits linked by the candidate for those floors
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

    @property
    def collected(self) -> list[str]:
        """The collected attributes, in the fixed order; unknown names raise (a typo must not silently drop one)."""
        names = [n.strip() for n in self.fp_attributes.split(",") if n.strip()]
        unknown = sorted(set(names) - set(ATTRIBUTES))
        if unknown or not names:
            raise ValueError(f"fp_attributes: unknown attribute(s) {unknown or '(none given)'}; known: {ATTRIBUTES}")
        return [n for n in ATTRIBUTES if n in names]
