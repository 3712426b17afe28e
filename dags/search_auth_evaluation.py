"""Search-history authentication: the thesis evaluation protocol on the lake's daily features."""
from airflow.sdk import Param, dag, task

from transforms.common.dagkit import dag_args, day_param

DOC = """
### Search-history authentication: evaluation
Manual runs. On `sa_daily_features` from `first_day` for 91 days: templates from days 1–28,
training days 29–56, test days 57–91, one random forest per ordered user pair, for the thesis'
4 features, the extended 7 and the sparse-user method (11 features + replay veto) side by side;
impersonation (replayed queries) false-accept rate next to the genuine accept rate, results per
activity decile, a threshold sweep, per-user errors (goats / lambs / wolves), suitability and
uniqueness indices. Users without enough active days in a period are left out and counted.
Params: `first_day`, `min_active_days` (active days needed in EACH period; empty: the
`sa_min_active_days` setting), `missing` (`skip`: days without searches are not requests;
`zero`: they are empty requests), `trees`.
Report: `reports/search_auth/evaluation/first_day=<day>/` in the lake (results.txt, JSON, CSV, PNG).
CLI twin: `python -m transforms.search_auth.cli evaluate`.
"""


@dag(**dag_args("search_auth_evaluation", DOC, ["search_auth", "evaluation"], None, params={
    "first_day": day_param("First day of the protocol's 91 days", "2026-01-01"),
    "min_active_days": Param(None, type=["null", "integer"]),
    "missing": Param("skip", enum=["skip", "zero"]), "trees": Param(100, type="integer")}))
def search_auth_evaluation():
    @task
    def evaluate_protocol(params=None):
        from transforms.common.airflow_glue import runtime_settings
        from transforms.search_auth.stages import SETTINGS, evaluation_report

        days = params["min_active_days"]
        return evaluation_report(runtime_settings(SETTINGS), params["first_day"], None if days is None else int(days),
                                 params["missing"], int(params["trees"]))

    evaluate_protocol()


search_auth_evaluation()
