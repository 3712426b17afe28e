"""Session-replay survey, part 2: request-log extraction → detection → disclosure → report."""
from airflow.sdk import dag, task

from transforms.common.airflow_glue import run_stage
from transforms.common.dagkit import dag_args, key_param, SURVEY_RAW, SURVEY_REPORT


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


@dag(**dag_args("survey_analysis", DOC, ["survey"], [SURVEY_RAW],
                 params={"crawl_id": key_param("Crawl to analyse (default: the triggering event's)")}))
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
