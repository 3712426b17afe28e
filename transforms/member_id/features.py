"""Group statistics (keys A, B, C) and pair vectors, SPEC §S3 / paper §4.3, §5.1.

Accesses become a :class:`FeatureTable`: strings hashed to uint64 (equality is hash equality)
and numbers as float32. Pair vectors are computed column-wise for many pairs at once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.member_id.schemas import NUMERIC_FEATURES, STRING_FEATURES

# the paper's keys with city → "place" (city, else region, else country) and ISP → "network" (ISP, else
# ASN, else routed prefix, else /24 or /48): the groups degrade to coarser evidence instead of failing
GROUP_KEYS = {"A": ["user_agent", "place", "network"], "B": ["user_agent", "network"], "C": ["user_agent", "place"]}
GROUP_X = {"A": ["hour", "weekday"], "B": ["hour", "weekday", "latitude", "longitude"], "C": ["hour", "weekday"]}
GROUP_Y = {"B": "place", "C": "network"}  # the mode statistics of the group
STAT_X = ["mean", "std", "q1", "q2", "q3"]


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


EMPTY = np.uint64(stable_hash(""))  # the hash of a field that could not be derived


def hash_strings(values) -> np.ndarray:
    """uint64 hash per value (stable across processes); each distinct value is hashed once,
    which keeps both a million stored rows and a single query cheap."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    table = np.fromiter((stable_hash("" if u is None or u != u else str(u)) for u in uniques),
                        dtype=np.uint64, count=len(uniques))
    return table[codes] if len(codes) else np.empty(0, dtype=np.uint64)


def joined(frame: pd.DataFrame, columns) -> list:
    """Column values joined with a separator (plain Python: fast for one row and for many)."""
    cols = [["" if v is None or v != v else str(v) for v in frame[c].tolist()] for c in columns]
    return ["\x1f".join(parts) for parts in zip(*cols)]


def _key(frame: pd.DataFrame, group: str) -> np.ndarray:
    return hash_strings(joined(frame, GROUP_KEYS[group]))


class GroupStats:
    """Per-group aggregates of a store, applied to any access (its group looked up by key)."""

    def fit(self, store: pd.DataFrame) -> "GroupStats":
        self.tables, self._fast = {}, {}
        for group, xs in GROUP_X.items():
            frame = store[xs].copy()
            frame["_key"] = _key(store, group)
            grouped = frame.groupby("_key")
            parts = {"count": grouped.size().astype("float64")}
            for x in xs:
                g = grouped[x]
                parts.update({f"{x}_mean": g.mean(), f"{x}_std": g.std(ddof=0), f"{x}_q1": g.quantile(0.25),
                              f"{x}_q2": g.median(), f"{x}_q3": g.quantile(0.75)})
            table = pd.DataFrame(parts)
            if group in GROUP_Y:
                y = GROUP_Y[group]
                counts = store.assign(_key=frame["_key"].values).groupby(["_key", y]).size().rename("n").reset_index()
                counts = counts.sort_values(["_key", "n", y], ascending=[True, False, True])
                top = counts.drop_duplicates("_key").set_index("_key")
                table[f"{y}_mode"] = top[y]
                table[f"{y}_mode_count"] = top["n"].astype("float64")
                table[f"{y}_nunique"] = counts.groupby("_key").size().astype("float64")
            self.tables[group] = table
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Stat columns for each row of ``frame``; groups absent from the store give count 0."""
        out = {}
        for group, table in self.tables.items():
            if group not in self._fast:  # numeric matrix + one trailing NaN row for absent groups
                numeric = table.select_dtypes("number")
                matrix = np.vstack([numeric.to_numpy(dtype="float64"), np.full((1, numeric.shape[1]), np.nan)])
                self._fast[group] = (pd.Index(table.index), list(numeric.columns), matrix)
            index, names, matrix = self._fast[group]
            pos = index.get_indexer(_key(frame, group))
            pos = np.where(pos < 0, len(index), pos)
            looked = {name: matrix[pos, j] for j, name in enumerate(names)}
            out[f"{group}_count"] = np.nan_to_num(looked["count"], nan=0.0)
            for x in GROUP_X[group]:
                value = frame[x].to_numpy(dtype="float64")
                mean, std = looked[f"{x}_mean"], looked[f"{x}_std"]
                for stat in STAT_X:
                    out[f"{group}_{x}_{stat}"] = looked[f"{x}_{stat}"]
                out[f"{group}_{x}_dmean"] = value - mean
                out[f"{group}_{x}_dmedian"] = value - looked[f"{x}_q2"]
                with np.errstate(invalid="ignore"):
                    out[f"{group}_{x}_in1s"] = (np.abs(value - mean) <= std).astype("float64")
                    out[f"{group}_{x}_in2s"] = (np.abs(value - mean) <= 2 * std).astype("float64")
            if group in GROUP_Y:
                y = GROUP_Y[group]
                modes = np.r_[table[f"{y}_mode"].astype(object).to_numpy(), np.array([None], dtype=object)]
                mode = modes[pos]
                out[f"{group}_{y}_mode"] = mode
                out[f"{group}_{y}_mode_count"] = looked[f"{y}_mode_count"]
                out[f"{group}_{y}_match"] = (mode == frame[y].astype(object).to_numpy()).astype("float64")
                out[f"{group}_{y}_nunique"] = looked[f"{y}_nunique"]
        return pd.DataFrame(out, index=frame.index)


@dataclass
class FeatureTable:
    strings: np.ndarray  # (n, s) uint64 hashes
    numbers: np.ndarray  # (n, p) float32
    string_names: list
    number_names: list

    def take(self, rows: np.ndarray) -> "FeatureTable":
        return FeatureTable(self.strings[rows], self.numbers[rows], self.string_names, self.number_names)


def feature_table(enriched: pd.DataFrame, stats: GroupStats) -> FeatureTable:
    extra = stats.transform(enriched)
    string_cols = [c for c in extra.columns if c.endswith("_mode")]
    number_cols = [c for c in extra.columns if c not in string_cols]
    strings = np.column_stack([hash_strings(enriched[c]) for c in STRING_FEATURES]
                              + [hash_strings(extra[c]) for c in string_cols])
    numbers = np.column_stack([enriched[NUMERIC_FEATURES].to_numpy(dtype="float64"),
                               extra[number_cols].to_numpy(dtype="float64")]).astype("float32")
    return FeatureTable(strings, numbers, STRING_FEATURES + string_cols, NUMERIC_FEATURES + number_cols)


def _version_key(numbers: np.ndarray, names: list, prefix: str) -> np.ndarray:
    parts = [np.nan_to_num(numbers[:, names.index(f"{prefix}_{p}")]) for p in ("major", "minor", "patch")]
    return parts[0] * 1e8 + parts[1] * 1e5 + parts[2]


def pair_vectors(a: FeatureTable, ia: np.ndarray, b: FeatureTable, ib: np.ndarray) -> np.ndarray:
    """Rows ``a[ia]`` paired with ``b[ib]``: string equality (NaN when either side is empty),
    numeric differences (incl. of the ``miss_*`` flags; NaN propagates), great-circle
    distance (km), implied travel speed (km/h), OS/browser version going backwards in time,
    and the first access's OS and browser family hashed to a number."""
    sa, sb = a.strings[ia], b.strings[ib]
    na, nb = a.numbers[ia], b.numbers[ib]
    names = a.number_names
    equal = (sa == sb).astype("float32")
    equal[(sa == EMPTY) | (sb == EMPTY)] = np.nan  # unknown on either side: no evidence either way
    diff = na - nb
    lat1, lon1, lat2, lon2 = (np.radians(x[:, names.index(c)].astype("float64"))
                              for x, c in ((na, "latitude"), (na, "longitude"), (nb, "latitude"), (nb, "longitude")))
    hav = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    distance = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(hav, 0, 1)))
    t = names.index("unix_time")
    gap_h = np.abs(na[:, t].astype("float64") - nb[:, t].astype("float64")) / 3600.0
    speed = distance / np.maximum(gap_h, 1 / 60)
    later_a = na[:, t] > nb[:, t]
    backwards = []
    for prefix, family in (("os", "os_name"), ("browser", "browser_name")):
        va, vb = _version_key(na, names, prefix), _version_key(nb, names, prefix)
        same = sa[:, a.string_names.index(family)] == sb[:, b.string_names.index(family)]
        backwards.append((same & np.where(later_a, va < vb, vb < va)).astype("float32"))
    families = [(sa[:, a.string_names.index(c)] % 1000).astype("float32") for c in ("os_name", "browser_name")]
    return np.column_stack([equal, diff, distance, gap_h, speed, *backwards, *families]).astype("float32")


def pair_feature_names(table: FeatureTable) -> list[str]:
    return ([f"eq_{n}" for n in table.string_names] + [f"diff_{n}" for n in table.number_names]
            + ["distance_km", "gap_hours", "speed_kmh", "os_backwards", "browser_backwards",
               "os_family_hash", "browser_family_hash"])
