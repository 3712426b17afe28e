"""Session-replay survey, part 1: Tranco list → crawl (mapped over batches) → crawl checkpoint."""
from datetime import timedelta

from airflow.sdk import Metadata, dag, task

from transforms.common.airflow_glue import current_key, run_stage
from transforms.common.dagkit import dag_args, key_param, SURVEY_RAW

NETWORK_RETRIES = {"retries": 2, "retry_delay": timedelta(minutes=1)}

DOC = """
### Session-replay survey: crawl
Loads the configured Tranco list (`TRACKSCOPE_TRANCO_LIST`, Variable `trackscope_tranco_list`),
selects every `.jp` site in the top M and the top K others, and crawls them with headless Chromium
in batches (one mapped task per batch, `trackscope_browsers_per_task` browsers each). Every request
each page sends is kept from the ChromeDriver performance log. A rerun of the same `crawl_id`
skips finished sites. Raw visits land in `raw/survey/crawl_id=<id>/`; the checkpoint then asserts
every selected site has exactly one finished visit, and the `survey_raw_visits` asset event
starts **survey_analysis** for that crawl id.
"""


@dag(**dag_args("survey_crawl", DOC, ["survey", "network"], "@monthly", max_active_runs=1,
                 params={"crawl_id": key_param("Defaults to the logical date")}))
def survey_crawl():
    @task(**NETWORK_RETRIES)
    def select_sites() -> list[list[dict]]:
        return run_stage("transforms.survey.stages.select_sites", key="crawl_id")

    # queue "crawl": on CeleryExecutor only workers with browsers take it (scripts/cluster.py)
    @task(**NETWORK_RETRIES, execution_timeout=timedelta(hours=6), max_active_tis_per_dag=4, queue="crawl")
    def crawl_batch(batch: list[dict]) -> dict:
        return run_stage("transforms.survey.stages.crawl", batch, key="crawl_id")

    @task(retries=0, outlets=[SURVEY_RAW])
    def check_crawl():
        outcomes = run_stage("transforms.survey.stages.check_crawl", key="crawl_id")
        yield Metadata(SURVEY_RAW, {"crawl_id": current_key("crawl_id"), "outcomes": outcomes})

    crawl_batch.expand(batch=select_sites()) >> check_crawl()


survey_crawl()
