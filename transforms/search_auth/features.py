"""Per user and day: search count, SQR, 24-bin local-hour vector and the query document."""
from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from transforms.search_auth.text import has_space, nouns

log = logging.getLogger(__name__)


def daily_features(queries: pd.DataFrame) -> pd.DataFrame:
    """One row per user with at least one query (the input of one day, any order)."""
    started = time.perf_counter()
    columns = ["user_id", "search_count", "sqr", "hour_vector", "document", "hour_sum"]
    if queries.empty:
        return pd.DataFrame(columns=columns)
    queries = queries.sort_values(["user_id", "ts", "query"], kind="stable", ignore_index=True)
    distinct = pd.unique(queries["query"])
    tokens = {q: nouns(q) for q in distinct}
    spaced = {q: has_space(q) for q in distinct}
    users, first = np.unique(queries["user_id"].to_numpy(dtype=object), return_index=True)
    codes = np.searchsorted(users, queries["user_id"].to_numpy(dtype=object))
    counts = np.bincount(codes, minlength=len(users))
    single = np.bincount(codes, weights=~queries["query"].map(spaced).to_numpy(dtype=bool), minlength=len(users))
    hours = np.zeros((len(users), 24), dtype=np.int32)
    np.add.at(hours, (codes, queries["hour"].to_numpy(dtype=np.int64)), 1)
    bounds = np.append(first, len(queries))
    query_list = queries["query"].tolist()
    documents = [[t for q in query_list[bounds[i]:bounds[i + 1]] for t in tokens[q]] for i in range(len(users))]
    out = pd.DataFrame({"user_id": users.astype(str), "search_count": counts.astype(np.int32),
                        "sqr": single / counts, "hour_vector": list(hours), "document": documents,
                        "hour_sum": hours.sum(axis=1).astype(np.int32)})
    if "click_domains" in queries.columns:  # AOL logs: the clicked domains of the day, in order
        clicked = queries["click_domains"].fillna("").astype(str).tolist()
        out["domains"] = [[d for c in clicked[bounds[i]:bounds[i + 1]] for d in c.split()] for i in range(len(users))]
    log.info("daily features: %d queries (%d distinct) of %d users in %.1fs", len(queries), len(distinct),
             len(users), time.perf_counter() - started)
    return out


def features_from_log(path: str, timezone: str, max_query_chars: int, quarantine=None, progress: bool = False):
    """``sa_daily_features`` rows (with ``ds``) of every day of one log file, read through the
    DAG's checks (:func:`transforms.search_auth.ingest.load_log`); returns (features, counts, quarantine)."""
    from transforms.common.quarantine import Quarantine
    from transforms.search_auth.ingest import load_log

    quarantine = quarantine if quarantine is not None else Quarantine("ingest")
    queries, counts = load_log(path, timezone, max_query_chars, quarantine)
    groups = queries.groupby("ds", sort=True)
    if progress:
        from tqdm import tqdm

        groups = tqdm(groups, total=queries["ds"].nunique(), desc="daily features", unit="day")
    frames = [daily_features(group).assign(ds=ds) for ds, group in groups]
    columns = ["user_id", "search_count", "sqr", "hour_vector", "document", "hour_sum", "domains", "ds"]
    features = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return features, counts, quarantine


def describe_counts(counts: dict) -> str:
    """One line for people: read / kept / merged / quarantined (by reason) / duplicates."""
    reasons = ", ".join(f"{k}: {v}" for k, v in counts.get("reasons", {}).items())
    return (f"lines read {counts['read']:,}, queries kept {counts['kept']:,}, click lines merged "
            f"{counts.get('merged', 0):,}, quarantined {counts['quarantined']:,}"
            + (f" ({reasons})" if reasons else "") + f", duplicates {counts['duplicates']:,}"
            + (f", UNACCOUNTED {counts['unaccounted']:,}" if counts.get("unaccounted") else ""))
