"""Member-ID estimation, nightly: retrain the pairwise models, evaluate by time split, gate."""
from airflow.sdk import dag, task

from transforms.common.airflow_glue import run_stage
from transforms.common.dagkit import dag_args, daily_partitions, day_param

DOC = """
### Member-ID estimation: nightly retraining
For run date D (the `ds` param, else the logical date; run after `member_id_ingest` for D):
1. **train_models**: store = usable accesses of the `mid_train_days` days ending D-2; streams
   `mid_train_pairs` same/different-member pairs; trains gradient boosting and the paper's MLP.
2. **evaluate_models**: threshold calibrated on D-1, metrics on D for both models
   (`reports/member_id/ds=D/report.md` in the lake); saves the served model (+ its store up to D)
   as a candidate version.
3. **promotion_gate**: promotes the candidate only if its decision accuracy is not worse than the
   current model's (tolerance `mid_gate_tolerance`). The API picks up a promoted model by itself.
"""


@dag(**dag_args("member_id_retrain", DOC, ["member_id", "model"], daily_partitions(),
                 params={"ds": day_param()}))
def member_id_retrain():
    @task
    def train_models():
        return run_stage("transforms.member_id.stages.train_models")

    @task
    def evaluate_models():
        return run_stage("transforms.member_id.stages.evaluate_models")

    @task
    def promotion_gate():
        return run_stage("transforms.member_id.stages.promotion_gate")

    train_models() >> evaluate_models() >> promotion_gate()


member_id_retrain()
