"""The search-auth stages as functions of (settings, ds): what the DAG tasks call.

Each stage reads the lake and replaces only its own ``ds`` partition, so a backfilled day
equals the daily run of that day.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from transforms.common.days import day_range, span, window
from transforms.common.quarantine import Quarantine
from transforms.search_auth import checkpoints, panel as panel_mod, schemas
from transforms.search_auth.features import daily_features
from transforms.search_auth.ingest import input_index, load_day
from transforms.search_auth.settings import SearchAuthSettings

log = logging.getLogger(__name__)
SETTINGS = SearchAuthSettings  # what the DAGs load for these stages


def ingest_queries(settings: SearchAuthSettings, ds: str) -> dict:
    quarantine = Quarantine("ingest")
    queries, counts = load_day(settings.sa_input_dir, ds, settings.sa_timezone, settings.sa_max_query_chars,
                               quarantine, input_index(settings.lake, settings.sa_timezone))
    rows = settings.lake.stage_partition(schemas.QUERIES, ds, queries)
    quarantine.write(settings.lake, schemas.QUERIES.name, schemas.KEY, ds)
    return {"ds": ds, "queries": rows, "users": int(queries["user_id"].nunique()), **counts}


def check_queries(settings: SearchAuthSettings, ds: str) -> None:
    checkpoints.after_ingest(settings.lake, ds, settings.lake.read_partition(schemas.QUERIES, ds, staged=True))
    settings.lake.publish_staged(schemas.QUERIES, ds)


def build_daily_features(settings: SearchAuthSettings, ds: str) -> dict:
    features = daily_features(settings.lake.read_partition(schemas.QUERIES, ds))
    rows = settings.lake.stage_partition(schemas.DAILY_FEATURES, ds, features)
    return {"ds": ds, "users": rows}


def check_daily_features(settings: SearchAuthSettings, ds: str) -> None:
    checkpoints.after_features(settings.lake, ds, settings.lake.read_partition(schemas.DAILY_FEATURES, ds, staged=True))
    settings.lake.publish_staged(schemas.DAILY_FEATURES, ds)


def read_features(settings: SearchAuthSettings, first: str, last: str) -> pd.DataFrame:
    lake = settings.lake
    present = set(lake.partitions(schemas.DAILY_FEATURES))
    wanted = [d for d in day_range(first, last) if d in present]
    return lake.read(schemas.DAILY_FEATURES, wanted)


def template_table(settings: SearchAuthSettings, ds: str, doc2vec=None) -> pd.DataFrame:
    """Templates for authenticating day ``ds`` from the 28 days before it, with suitability and
    uniqueness indices (query ones only when a Doc2Vec model is given)."""
    template_days = settings.sa_template_days
    days = window(ds, template_days + 1)  # the template days, then ds
    features = read_features(settings, days[0], days[-2])
    panel = panel_mod.from_features(features, days)
    if len(panel.users) == 0:
        return pd.DataFrame(columns=schemas.TEMPLATES.schema.names)
    if doc2vec is not None:
        from transforms.search_auth.vectors import panel_vectors

        panel.docvec = panel_vectors(doc2vec, panel, settings.sa_seed)
    t = panel_mod.templates(panel, template_days, "skip", template_days)
    time_idx = [template_days - k for k in panel_mod.TIME_OFFSETS]
    query_idx = [template_days - k for k in panel_mod.QUERY_OFFSETS]
    self_time = panel_mod.self_similarity(panel.hours[:, time_idx], t.time_days)
    self_query = (panel_mod.self_similarity(panel.docvec[:, query_idx], t.query_days) if panel.docvec is not None
                  else np.full(len(panel.users), np.nan))
    unique_time = panel_mod.uniqueness(t.time, t.usable)
    unique_query = (panel_mod.uniqueness(t.doc_mean, t.usable) if t.doc_mean is not None
                    else np.full(len(panel.users), np.nan))
    complete = t.time_days.all(axis=1) & t.query_days.all(axis=1)
    state = np.where(t.active_days < settings.sa_min_active_days, "insufficient_history",
                     np.where(complete, "ok", "partial"))
    return pd.DataFrame({
        "user_id": panel.users.astype(str), "state": state, "active_days": t.active_days.astype(np.int32),
        "window_start": days[0], "window_end": days[-2], "template_sqr": t.sqr, "template_mean_count": t.mean_count,
        "time_template": list(t.time), "time_days_present": t.time_days.sum(axis=1).astype(np.int32),
        "query_days_present": t.query_days.sum(axis=1).astype(np.int32),
        "cv_count": panel_mod.cv_of_counts(panel, template_days, template_days), "self_sim_time": self_time,
        "self_sim_query": self_query, "uniqueness_time": unique_time, "uniqueness_query": unique_query})


def rebuild_templates(settings: SearchAuthSettings, ds: str) -> dict:
    from transforms.search_auth.training import bundle_for_day

    version, bundle = bundle_for_day(settings, ds)
    table = template_table(settings, ds, bundle["doc2vec"] if bundle else None)
    settings.lake.stage_partition(schemas.TEMPLATES, ds, table)
    states = table["state"].value_counts().to_dict()
    log.info("templates %s: %d users %s (query indices %s)", ds, len(table), states,
             f"from Doc2Vec of model {version}" if bundle else "empty: no model trained before this day")
    return {"ds": ds, "users": len(table), "states": states, "model": version}


def check_templates(settings: SearchAuthSettings, ds: str) -> None:
    checkpoints.after_templates(settings.lake, ds, settings.lake.read_partition(schemas.TEMPLATES, ds, staged=True),
                                settings.sa_template_days)
    settings.lake.publish_staged(schemas.TEMPLATES, ds)


def evaluation_report(settings: SearchAuthSettings, first_day: str, min_active_days: int | None = None,
                      missing: str = "skip", trees: int = 100) -> dict:
    """The evaluation protocol on the lake's daily features; report folder in the lake.
    ``min_active_days`` (per period; default: the ``sa_min_active_days`` setting)."""
    import tempfile

    from transforms.search_auth import evaluation

    if min_active_days is None:
        min_active_days = settings.sa_min_active_days
    protocol = evaluation.Protocol(min_active_days=min_active_days, missing=missing, trees=trees,
                                   doc2vec_dims=settings.sa_doc2vec_dims, doc2vec_epochs=settings.sa_doc2vec_epochs,
                                   seed=settings.sa_seed)
    days = span(first_day, protocol.total_days)
    features = read_features(settings, days[0], days[-1])
    result = evaluation.evaluate(features, first_day, protocol)
    target = f"reports/search_auth/evaluation/first_day={first_day}"
    with tempfile.TemporaryDirectory() as local:
        evaluation.write_report(result, local)
        path = settings.lake.replace_dir_from_local(local, target)
    log.info("evaluation report %s\n%s", path, evaluation.thesis_table(result))
    return {"report": path, "users": result["users"], "excluded": result["excluded"],
            **{name: {k: v for k, v in r.items() if k != "importances"} for name, r in result["methods"].items()}}
