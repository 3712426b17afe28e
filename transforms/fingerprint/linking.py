"""Linking (the production task): each new visit → the device it belongs to, or a new device.

Visits are linked in time order against the device store (each device's recent fingerprints)
and against the same day's visits already linked. The device of the best-scoring stored
fingerprint wins when its score reaches the method's threshold; ties go to the most recently
seen fingerprint. After the day, each device keeps its ``keep`` latest fingerprints and devices
unseen for ``retention_days`` leave the store.
"""
from __future__ import annotations

import logging
import time
from collections import Counter, deque

import numpy as np
import pandas as pd

from transforms.fingerprint.attributes import ATTRIBUTES
from transforms.fingerprint.methods import Method
from transforms.fingerprint.table import VisitTable

log = logging.getLogger(__name__)
STORE_COLUMNS = ["device_id", "visit_id", "uid", "ts"] + ATTRIBUTES + ["fp_md5", "fp_ssdeep"]


def link_visits(store: pd.DataFrame, visits: pd.DataFrame, method: Method, keep: int,
                retention_days: int, max_anonymity_set: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Link ``visits`` (one day, or a whole history in time order) against ``store``.

    Returns (links: one row per visit, the store afterwards). The store is kept in memory while
    linking, so a visit already sees the visits linked before it, with the same keep/retention
    rules as between days.

    Identical configurations are common (same phone model, same corporate image): "identical"
    must not mean "same device". Each link row carries the visit's **anonymity set**: the number
    of identities (cookie UIDs, the visit's own included) among the stored fingerprints that equal
    the visit's exactly. Linking **abstains** — decision "ambiguous", the visit starts its own
    device id instead of being merged into one picked at random — when that set, or the number of
    stored identities whose fingerprints score as well as the best one (within the method's
    ``tie_margin``), exceeds ``max_anonymity_set``:
    the fingerprint does not single out one device. (A device that cleared its cookie counts as
    two identities: the price of not merging lookalikes.)"""
    visits = visits.sort_values(["ts", "visit_id"]).reset_index(drop=True)
    stored = store[STORE_COLUMNS].sort_values(["ts", "visit_id"]).reset_index(drop=True)
    combined = pd.concat([stored.drop(columns="device_id"), visits.reindex(columns=STORE_COLUMNS[1:])],
                         ignore_index=True)
    table = VisitTable(combined)
    devices = list(stored["device_id"]) + [None] * len(visits)
    visit_ids = combined["visit_id"].to_numpy()
    recent: dict[str, deque] = {}
    for row, device in enumerate(stored["device_id"]):
        recent.setdefault(device, deque()).append(row)
    in_store = set(range(len(stored)))
    for rows in recent.values():
        while len(rows) > keep:
            in_store.discard(rows.popleft())
    # identities (cookie UID; a visit without one is its own) per exact fingerprint among the
    # stored rows: the anonymity set of a visit is that count with the visit's own identity
    identity = pd.Series(combined["uid"]).where(combined["uid"].notna(), "visit:" + combined["visit_id"].astype(str))
    ident_code, _ = pd.factorize(identity)
    md5 = table.md5_code
    holders: dict[int, Counter] = {}

    def enter(r: int) -> None:
        in_store.add(r)
        holders.setdefault(int(md5[r]), Counter())[int(ident_code[r])] += 1

    def leave(r: int) -> None:
        in_store.discard(r)
        held = holders[int(md5[r])]
        held[int(ident_code[r])] -= 1
        if held[int(ident_code[r])] <= 0:
            del held[int(ident_code[r])]

    for r in in_store:
        holders.setdefault(int(md5[r]), Counter())[int(ident_code[r])] += 1
    out, started, current_day, threshold = [], time.perf_counter(), None, method.linking_threshold
    for offset in range(len(visits)):
        row = len(stored) + offset
        day = int(table.days[row])
        if day != current_day:  # a new day: devices unseen for too long leave the store
            current_day = day
            for device in [d for d, rows in recent.items() if table.days[rows[-1]] < day - retention_days]:
                for r in recent.pop(device):
                    leave(r)
        decision, device, score, matched = "new device", None, float("nan"), None
        held = holders.get(int(md5[row]), {})
        anonymity = len(held) + (int(ident_code[row]) not in held)
        if in_store:
            candidates = np.fromiter(in_store, dtype=np.int64, count=len(in_store))
            scores = method.scores(table, candidates, np.full(len(candidates), row, dtype=np.int64))
            best = scores.max()
            score = float(best)
            if best >= threshold:
                tied = candidates[scores == best]
                winner = int(tied[np.lexsort((-tied, -table.days[tied]))[0]])  # latest seen wins ties
                reaching = candidates[scores >= max(threshold, best - method.tie_margin)]
                contenders = len(np.unique(ident_code[reaching])) if len(reaching) > 1 else 1
                if max(contenders, anonymity) > max_anonymity_set:
                    decision, matched = "ambiguous", visit_ids[winner]
                else:
                    decision, device, matched = "matched", devices[winner], visit_ids[winner]
        if device is None:
            device = f"dev-{visit_ids[row]}"
        devices[row] = device
        rows = recent.setdefault(device, deque())
        rows.append(row)
        enter(row)
        while len(rows) > keep:
            leave(rows.popleft())
        out.append((visit_ids[row], device, decision, score, matched, anonymity))
        if (offset + 1) % 1000 == 0:
            log.info("linked %d/%d visits (%.0f visits/s), store %d fingerprints", offset + 1, len(visits),
                     (offset + 1) / (time.perf_counter() - started), len(in_store))
    links = pd.DataFrame(out, columns=["visit_id", "device_id", "decision", "score", "matched_visit_id", "anonymity_set"])
    links = visits[["visit_id", "ts", "uid"]].merge(links, on="visit_id")
    links["method"], links["threshold"] = method.name, float(threshold)
    final = combined.iloc[sorted(in_store)].assign(device_id=[devices[r] for r in sorted(in_store)])
    return links, final[STORE_COLUMNS].reset_index(drop=True)
