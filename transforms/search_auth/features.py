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
    log.info("daily features: %d queries (%d distinct) of %d users in %.1fs", len(queries), len(distinct),
             len(users), time.perf_counter() - started)
    return out
