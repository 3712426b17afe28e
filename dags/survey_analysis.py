"""Session-replay survey, part 2: request-log extraction → detection → disclosure → report."""
from datetime import datetime

from airflow.sdk import Asset, Param, dag, task

from transforms.common.airflow_glue import run_stage

SURVEY_RAW = Asset(name="survey_raw_visits", uri="file:///trackscope/survey/raw_visits")
SURVEY_REPORT = Asset(name="survey_report", uri="file:///trackscope/survey/report")

DOC = """
### Session-replay survey: analysis
Runs for the crawl id of the triggering `survey_raw_visits` event (or the `crawl_id` param).
1. **extract**: raw visits (crawler or HAR import) → `survey_site_visits`, `survey_requests`,
   `survey_crawl_history`, `survey_pages`; checkpoint: every request belongs to a visit and lies
   in the crawl window.
2. **detect**: services of `transforms/survey/data/signatures.yaml` per site; checkpoint: only
   known services, one row per site × service.
3. **disclosure** (privacy-policy classes) and **categories**, then the **report**
   (`reports/survey/crawl_id=<id>/index.html` in the lake).
A failed checkpoint stops everything after it; its summary is in the task log and in
`_checkpoints/<name>/<crawl_id>/summary.txt`.
"""


@dag(
    dag_id="survey_analysis", schedule=[SURVEY_RAW], start_date=datetime(2026, 1, 1), catchup=False,
    tags=["survey"], doc_md=DOC, default_args={"owner": "trackscope", "retries": 0},
    params={"crawl_id": Param(None, type=["null", "string"])},
)
def survey_analysis():
    @task
    def extract_crawl():
        return run_stage("transforms.survey.stages.extract_crawl", key="crawl_id")

    @task
    def check_extraction():
        run_stage("transforms.survey.stages.check_extraction", key="crawl_id")

    @task
    def detect_services():
        return run_stage("transforms.survey.stages.detect_services", key="crawl_id")

    @task
    def check_detection():
        run_stage("transforms.survey.stages.check_detection", key="crawl_id")

    @task
    def classify_disclosures():
        return run_stage("transforms.survey.stages.classify_disclosures", key="crawl_id")

    @task
    def categorize_sites():
        return run_stage("transforms.survey.stages.categorize_sites", key="crawl_id")

    @task(outlets=[SURVEY_REPORT])
    def build_report():
        return run_stage("transforms.survey.stages.build_report", key="crawl_id")

    (extract_crawl() >> check_extraction() >> detect_services() >> check_detection()
     >> [classify_disclosures(), categorize_sites()] >> build_report())


survey_analysis()
