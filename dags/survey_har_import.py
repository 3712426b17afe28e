"""Import historical crawls exported as HAR 1.2 into a crawl id, then analyse them like a crawl."""
from airflow.sdk import Metadata, Param, dag, get_current_context, task

from transforms.common.dagkit import dag_args, key_param, SURVEY_RAW

DOC = """
### Session-replay survey: HAR import
Trigger with `{"crawl_id": "har-2024-05", "har_paths": ["/data/crawl/*.har"]}`. Each HAR page
becomes one visit of that crawl id (`source = har`); the `survey_raw_visits` event then runs
**survey_analysis**, which fills the same tables as a crawl. Unreadable files and entries go to
`quarantine_survey_raw`.
"""


@dag(**dag_args("survey_har_import", DOC, ["survey", "import"], None, params={
    "crawl_id": key_param("Crawl id the HAR pages are imported into", "har-import"),
    "har_paths": Param([], type="array", description="Paths or glob patterns of .har files")}))
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
