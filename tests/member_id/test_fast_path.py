"""The numpy query path (QueryEncoder + array candidate index + batched scoring) gives exactly the
answers of the reference path: DataFrame encoders, per-block brute-force blocking over the whole
store, one query at a time."""
from collections import Counter
from datetime import timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from transforms.common.models import ModelRegistry
from transforms.member_id import stages
from transforms.member_id.candidates import BLOCKS, block_keys
from transforms.member_id.estimator import Estimator, usable_store
from transforms.member_id.evaluation import query_rows
from transforms.member_id.features import feature_table, pair_vectors

from .conftest import DAY_NAMES


def reference_candidates(store_keys, recency, members, query_keys, cap, per_member):
    """Each block's newest ``cap`` accesses (at most ``per_member`` of a member when > 0),
    unioned, ranked by shared blocks then recency."""
    found = []
    for j in range(len(BLOCKS)):
        rows = np.flatnonzero(store_keys[:, j] == query_keys[j])
        rows = rows[np.argsort(-recency[rows], kind="stable")]
        if per_member:
            taken, keep = Counter(), []
            for r in rows:
                taken[members[r]] += 1
                if taken[members[r]] <= per_member:
                    keep.append(r)
            rows = np.array(keep, dtype=np.int64)
        found.append(rows[:cap])
    rows, shared = np.unique(np.concatenate(found), return_counts=True)
    if len(rows) > cap:
        rows = rows[np.lexsort((-recency[rows], -shared))[:cap]]
    return rows


@pytest.mark.parametrize("per_member", [0, 1])
def test_fast_path_equals_reference(trained, per_member):
    settings = trained[0]
    store = usable_store(settings.lake.read(stages.ENRICHED, DAY_NAMES[:4]))
    model = ModelRegistry(settings.lake, stages.MODEL_NAME).load().model
    cap = 25  # small, so that some queries are cut to the budget and others are not
    estimator = Estimator(model, store, threshold=0.3, max_candidates=cap, block_per_member=per_member)
    later = settings.lake.read(stages.ENRICHED, DAY_NAMES[4:])
    queries = pd.concat([query_rows(later), later[later["unusable"] != ""].head(5)], ignore_index=True)
    estimable = queries[queries["unusable"] == ""].reset_index(drop=True)
    assert (estimable["missing_fields"] != "").any()  # degraded accesses are estimated too

    reference = feature_table(estimable, estimator.stats)
    table, keys = estimator.encoder.encode({c: estimable[c].to_numpy() for c in estimable.columns})
    assert table.string_names == reference.string_names and table.number_names == reference.number_names
    np.testing.assert_array_equal(table.strings, reference.strings)
    np.testing.assert_array_equal(table.numbers, reference.numbers)  # NaN where the reference has NaN
    np.testing.assert_array_equal(keys, block_keys(estimable))
    absent = table.numbers[:, table.number_names.index("A_count")] == 0
    assert absent.any() and not absent.all()  # groups unknown to the store are exercised too

    store_keys, recency = block_keys(store), store["unix_time"].to_numpy()
    expected, sizes = [], []
    for i in range(len(estimable)):
        rows = reference_candidates(store_keys, recency, store["member_id"].to_numpy(), keys[i], cap, per_member)
        likes = model.likelihood(pair_vectors(reference, np.full(len(rows), i), estimator.table, rows))
        expected.append(estimator.decide(rows, likes))
        sizes.append(len(np.unique(np.concatenate([np.flatnonzero(store_keys[:, j] == keys[i, j])
                                                   for j in range(len(BLOCKS))]))))
    assert min(sizes) <= cap < max(sizes)
    for (rows, _), want in zip(estimator.score(estimable), expected):
        assert len(rows) == want.candidates
    fast = [r for r in estimator.estimate(queries) if r.status == "success"]
    assert [(r.member_id, r.likelihood, r.candidates) for r in fast] == \
        [(r.member_id, r.likelihood, r.candidates) for r in expected]
    assert sum(r.member_id != "" for r in fast) > len(fast) / 2


def test_enrich_columns_equal_enrich(world):
    from transforms.common.quarantine import Quarantine
    from transforms.member_id.enrich import enrich, enrich_columns
    from transforms.member_id.geo import GeoLookup
    from transforms.member_id.ingest import read_day
    from transforms.member_id.query import QUERY_COLUMNS

    accesses, _ = read_day(str(world / "logs"), DAY_NAMES[2], "user", Quarantine("t"))
    geo = GeoLookup(str(world / "City.mmdb"), str(world / "ISP.mmdb"))
    accesses["ts"] = accesses["ts"] + pd.to_timedelta(np.arange(len(accesses)) % 997, unit="us")  # sub-second times
    expected = enrich(accesses, geo)
    tokyo = timezone(timedelta(hours=9))
    times = [t.to_pydatetime().astimezone(tokyo) for t in accesses["ts"]]  # as clients may send them
    got = enrich_columns(times, accesses["ip"].tolist(), accesses["user_agent"].tolist(), geo)
    for name in QUERY_COLUMNS + ["missing_fields", "evidence", "unusable", "is_bot"]:
        np.testing.assert_array_equal(got[name], expected[name].to_numpy(), err_msg=name)
    assert (expected["missing_fields"] != "").any() and expected["is_bot"].any() and (expected["ip_version"] == 6).any()
