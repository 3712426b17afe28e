"""Fingerprint linking, nightly: fit + calibrate + evaluate all methods → checkpoint → gate → report."""
from airflow.sdk import dag, task

from transforms.common.airflow_glue import run_stage
from transforms.common.dagkit import dag_args, daily_partitions, day_param, FP_REPORT


DOC = """
### Browser-fingerprint linking: nightly calibration and evaluation
For the run's date `ds`, on three disjoint windows of `fp_visits` ending at `ds`
(fit `fp_fit_days` < calibration `fp_calibration_days` < test `fp_test_days`):
1. **calibrate**: fits the hybrid linker on the fit window and sets each method's threshold
   where FP rate + FN rate is smallest on the calibration window (`fp_calibration`); the fitted
   methods are kept as a signed `fp_methods_fit` artifact.
   **score_shard** (mapped, `fp_eval_shards` tasks, parallel on a distributed executor): scores
   its share of the test window's visit pairs with every method (Fybrid, OpenAM 11/12, Eckersley,
   YIKS, ssdeep, ssdeep_info, hybrid) per time-gap bucket. **evaluate**: merges the shards (the
   same figures as one process) into `fp_evaluation`, links the test window's latest
   `fp_gate_link_visits` visits in time order (accuracy, false merges, abstentions) and registers
   the linker as a candidate `fp_linker` model.
2. **check_calibration**: thresholds inside each score range and stable against the previous
   calibration (`fp_max_threshold_shift`), rates within [0, 1].
3. **promotion_gate**: the candidate becomes the linker used by `fingerprint_daily` only if its
   test FP+FN rate is not worse than the current one (`fp_gate_tolerance`) and it meets the
   absolute floors (link accuracy ≥ `fp_gate_min_link_accuracy`, false-merge rate ≤
   `fp_gate_max_false_merge`); otherwise the current linker stays and the report says why.
4. **build_report**: `reports/fingerprint/ds=<ds>/report.md` (Table 5 layout), CSVs and the
   TP-rate-by-gap plot in the lake.
"""


@dag(**dag_args("fingerprint_nightly", DOC, ["fingerprint"], daily_partitions(), max_active_runs=1,
                 params={"ds": day_param("Last day of the test window")}))
def fingerprint_nightly():
    @task
    def calibrate() -> str:
        return run_stage("transforms.fingerprint.stages.calibrate")

    @task
    def shards() -> list[int]:
        return run_stage("transforms.fingerprint.stages.eval_shards")

    @task
    def score_shard(fitted: str, shard: int) -> str:
        return run_stage("transforms.fingerprint.stages.score_shard", fitted, shard)

    @task
    def evaluate(fitted: str, scored: list[str]) -> str:
        return run_stage("transforms.fingerprint.stages.evaluate_shards", fitted)

    @task
    def check_calibration():
        run_stage("transforms.fingerprint.stages.check_calibration")

    @task
    def promotion_gate(version: str) -> dict:
        return run_stage("transforms.fingerprint.stages.promotion_gate", version)

    @task(outlets=[FP_REPORT])
    def build_report() -> str:
        return run_stage("transforms.fingerprint.stages.build_report")

    fitted = calibrate()
    scored = score_shard.partial(fitted=fitted).expand(shard=shards())
    version = evaluate(fitted, scored)
    version >> check_calibration() >> promotion_gate(version) >> build_report()


fingerprint_nightly()
