"""The few things DAG tasks need from Airflow at run time (imported only inside tasks)."""
from __future__ import annotations

from transforms.common import settings as settings_module
from transforms.common.keys import check_day, check_key


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
    else the run's logical date (so scheduled runs and backfills get one partition per date).
    Validated before any I/O: a ``ds`` must be a real day, any other key a safe name."""
    check = check_day if param == "ds" else check_key
    explicit = (context.get("params") or {}).get(param)
    if explicit:
        return check(str(explicit), param)
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in reversed(list(events)):
            if (event.extra or {}).get(param):
                return check(str(event.extra[param]), param)
    logical = context.get("logical_date") or context.get("data_interval_end")
    return check(logical.strftime("%Y-%m-%d") if logical else context["ds"], param)


def current_key(param: str = "ds") -> str:
    """The partition the running task works on (see :func:`run_key`)."""
    from airflow.sdk import get_current_context

    return run_key(get_current_context(), param)


def task_context(param: str = "crawl_id", cls=None):
    """(settings, partition key) for the running task: the pair every stage function takes."""
    return runtime_settings(cls), current_key(param)


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

    from transforms.common.inputs import NothingToDo

    module_name, _, function = stage.rpartition(".")
    module = importlib.import_module(module_name)
    settings, partition = task_context(key, module.SETTINGS)
    try:
        result = getattr(module, function)(settings, partition, *args)
    except NothingToDo as empty:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        message = f"{function} has nothing to do for {key}={partition}: {empty}"
        if settings.empty_partition == "skip":
            raise AirflowSkipException(message + " (skipped: empty_partition=skip)") from empty
        raise AirflowFailException(message + " (set trackscope_empty_partition=skip to skip such days)") from empty
    result = json_safe(result)
    _annotate_outlets(settings, key, partition, module_name, function, result)
    return result


def json_safe(value):
    """``value`` with NaN/±inf floats as None: a task's return value travels as strict JSON (a
    metric that is undefined on a day, e.g. an AUC without impostors, failed the task)."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return json_safe(value.item())
    return value


def _annotate_outlets(settings, key: str, partition: str, module_name: str, function: str, result) -> None:
    """Put the partition, the stage's counts and the partition's quarantine counts on the asset
    events of the running task's outlets (shown with each event in the UI's Assets view)."""
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
        outlets = list(getattr(context.get("task"), "outlets", None) or [])
        if not outlets:
            return
        extra = outlet_extra(settings.lake, key, partition, module_name, function, result)
        for outlet in outlets:
            context["outlet_events"][outlet].extra.update(extra)
    except Exception as error:  # noqa: BLE001 - extras are information: never fail the task for them
        import logging

        logging.getLogger(__name__).warning("asset event extras not set: %s", error)


def outlet_extra(lake, key: str, partition: str, module_name: str, function: str, result) -> dict:
    """The extra of an asset event: ``{key: partition, "stage", <scalar counts the stage returned>,
    "quarantined": rows, "quarantine_reasons": {reason: rows}}`` (quarantine of the stage's domain)."""
    from transforms.common import monitoring

    extra: dict = {key: partition, "stage": function}
    if isinstance(result, dict):
        for name, value in list(result.items())[:30]:
            if isinstance(value, bool) or value is None:
                extra.setdefault(str(name), value)
            elif isinstance(value, (int, float)) or hasattr(value, "item"):
                try:
                    extra.setdefault(str(name), value.item() if hasattr(value, "item") else value)
                except (TypeError, ValueError):
                    continue
            elif isinstance(value, str):
                extra.setdefault(str(name), value[:200])
    domain = module_name.split(".")[1] if module_name.startswith("transforms.") else ""
    if domain in monitoring.DOMAINS:
        counts = monitoring.quarantine_counts(lake, monitoring.DOMAINS[domain][1], key, partition)
        reasons: dict = {}
        for count in counts:
            if count.rows:
                reasons[count.reason[:120]] = reasons.get(count.reason[:120], 0) + count.rows
        extra["quarantined"] = sum(reasons.values())
        extra["quarantine_reasons"] = dict(sorted(reasons.items(), key=lambda item: -item[1])[:10])
    return extra
