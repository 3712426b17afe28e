"""Import historical crawls exported as HAR 1.2 into a crawl id, then analyse them like a crawl."""
from datetime import datetime

from airflow.sdk import Asset, Metadata, Param, dag, get_current_context, task

SURVEY_RAW = Asset(name="survey_raw_visits", uri="file:///trackscope/survey/raw_visits")

DOC = """
### Session-replay survey: HAR import
Trigger with `{"crawl_id": "har-2024-05", "har_paths": ["/data/crawl/*.har"]}`. Each HAR page
becomes one visit of that crawl id (`source = har`); the `survey_raw_visits` event then runs
**survey_analysis**, which fills the same tables as a crawl. Unreadable files and entries go to
`quarantine_survey_raw`.
"""


@dag(
    dag_id="survey_har_import", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
    tags=["survey", "import"], doc_md=DOC, default_args={"owner": "trackscope", "retries": 0},
    params={"crawl_id": Param("har-import", type="string"),
            "har_paths": Param([], type="array", description="Paths or glob patterns of .har files")},
)
def survey_har_import():
    @task(outlets=[SURVEY_RAW])
    def import_har():
        import glob

        from transforms.common.airflow_glue import run_key, runtime_settings
        from transforms.survey.har import import_files

        context = get_current_context()
        crawl_id = run_key(context)
        paths = sorted({p for pattern in context["params"]["har_paths"] for p in glob.glob(pattern)})
        counts = import_files(runtime_settings().lake, crawl_id, paths)
        yield Metadata(SURVEY_RAW, {"crawl_id": crawl_id, **counts})

    import_har()


survey_har_import()
