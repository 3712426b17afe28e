"""DAG conventions in one place: start date, default args, params, schedules and every asset.

Imported by the DAG files only (it imports ``airflow.sdk``); all logic stays in the stages that
:func:`transforms.common.airflow_glue.run_stage` calls at run time.
"""
from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import Asset, Param

from transforms.common.keys import DAY_PATTERN, KEY_PATTERN
from transforms.common.notify import on_task_failure

# Any historical logical date can run: operators backfill logs from the 1990s on (NASA 1995,
# AOL 2006, ...). With catchup off, a new deployment still schedules only the latest interval.
HISTORY_START = datetime(1990, 1, 1, tzinfo=timezone.utc)
# every task's failure is alerted (log, lake, webhook / e-mail as configured: transforms/common/notify.py)
DEFAULT_ARGS = {"owner": "trackscope", "retries": 0, "on_failure_callback": on_task_failure}

# Every asset, declared once (a DAG file imports the ones it produces or consumes).
SURVEY_RAW = Asset(name="survey_raw_visits", uri="file:///trackscope/survey/raw_visits")
SURVEY_REPORT = Asset(name="survey_report", uri="file:///trackscope/survey/report")
FP_LINKS = Asset(name="fingerprint_links", uri="file:///trackscope/fingerprint/links")
FP_REPORT = Asset(name="fingerprint_report", uri="file:///trackscope/fingerprint/report")
MID_ENRICHED = Asset(name="mid_enriched", uri="file:///trackscope/member_id/enriched")
SA_FEATURES = Asset(name="sa_daily_features", uri="file:///trackscope/search_auth/daily_features")
SA_TEMPLATES = Asset(name="sa_templates", uri="file:///trackscope/search_auth/templates")
SA_MODEL = Asset(name="sa_model", uri="file:///trackscope/search_auth/model")
MOUSE_FEATURES = Asset(name="mouse_features", uri="file:///trackscope/mouse/features")


def day_param(description: str = "Day YYYY-MM-DD to process (default: the logical date)", default=None) -> Param:
    """A ``ds``-style param: null or a day; anything else is refused when the run is triggered."""
    return Param(default, type=["null", "string"], pattern=DAY_PATTERN, description=description)


def key_param(description: str, default=None) -> Param:
    """A partition-key param (``crawl_id``): null or a safe key, refused at trigger otherwise."""
    kinds = "string" if default is not None else ["null", "string"]
    return Param(default, type=kinds, pattern=KEY_PATTERN, description=description)


def daily_partitions():
    """The schedule of DAGs that process one day ``ds``: the run for day D starts once D has ended
    and has logical date D (Airflow 3's plain "@daily" would start D's run at D 00:00 and name it
    D, i.e. process a day that has just begun)."""
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable("@daily", timezone="UTC")


def _is_daily(schedule) -> bool:
    from airflow.sdk import CronDataIntervalTimetable

    return isinstance(schedule, CronDataIntervalTimetable) and getattr(schedule, "expression", "") in ("@daily",
                                                                                                      "0 0 * * *")


def dag_args(dag_id: str, doc_md: str, tags: list[str], schedule, **extra) -> dict:
    """The keyword arguments every trackscope ``@dag`` shares, plus the DAG's own: failure alerts
    on every task, and a deadline alert on daily pipelines and retrains (transforms/common/deadlines.py)."""
    from transforms.common.deadlines import deadline_for

    default_args = {**DEFAULT_ARGS, **extra.pop("default_args", {})}
    if "deadline" not in extra:
        deadline = deadline_for(dag_id, _is_daily(schedule))
        if deadline is not None:
            extra["deadline"] = deadline
    return {"dag_id": dag_id, "doc_md": doc_md, "tags": tags, "schedule": schedule, "start_date": HISTORY_START,
            "catchup": False, "default_args": default_args, **extra}
