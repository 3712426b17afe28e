"""The few things DAG tasks need from Airflow at run time (imported only inside tasks)."""
from __future__ import annotations

from transforms.common import settings as settings_module


def _variable(name: str):
    from airflow.sdk import Variable

    try:
        return Variable.get(name, default=None)
    except Exception:  # noqa: BLE001 - no metadata DB / API reachable: fall back to env
        return None


def runtime_settings(cls=None):
    """Settings (of ``cls``) with Airflow Variables ``trackscope_<name>`` overriding the environment."""
    return settings_module.load(cls, variable_getter=_variable)


def run_key(context, param: str = "crawl_id") -> str:
    """The partition a run works on: an explicit param, else the triggering asset event's extra,
    else the run's logical date (so scheduled runs and backfills get one partition per date)."""
    explicit = (context.get("params") or {}).get(param)
    if explicit:
        return str(explicit)
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in reversed(list(events)):
            if (event.extra or {}).get(param):
                return str(event.extra[param])
    logical = context.get("logical_date") or context.get("data_interval_end")
    return logical.strftime("%Y-%m-%d") if logical else context["ds"]


def current_key(param: str = "ds") -> str:
    """The partition the running task works on (see :func:`run_key`)."""
    from airflow.sdk import get_current_context

    return run_key(get_current_context(), param)


def task_context(param: str = "crawl_id", cls=None):
    """(settings, partition key) for the running task: the pair every stage function takes."""
    return runtime_settings(cls), current_key(param)


def daily_partitions():
    """The schedule of DAGs that process one day ``ds``: the run for day D starts once D has ended
    and has logical date D (Airflow 3's plain "@daily" would start D's run at D 00:00 and name it
    D, i.e. process a day that has just begun)."""
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable("@daily", timezone="UTC")


def run_param(name: str):
    """A parameter of the running DAG run (``None`` when not given)."""
    from airflow.sdk import get_current_context

    return (get_current_context().get("params") or {}).get(name)


def run_stage(stage: str, *args, key: str = "ds"):
    """Run ``stage`` ("transforms.<domain>.stages.<function>") as the current task:
    ``function(settings, partition, *args)``. The module is imported here, at run time, so DAG
    files stay cheap to parse; its ``SETTINGS`` class is loaded with Airflow Variables over the
    environment and the partition is the run's ``key`` param, asset event or logical date."""
    import importlib

    module_name, _, function = stage.rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, function)(*task_context(key, module.SETTINGS), *args)
