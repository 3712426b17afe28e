"""Users × days arrays of daily features, the thesis templates and the request features.

Everything here is vectorised over users so the same code serves one template rebuild, the
nightly retraining and the 1,000 × 1,000-user evaluation. Day index ``d`` is the day being
authenticated; its templates use days d-28 … d-1 only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

TIME_OFFSETS = (28, 21, 14, 7)  # time template: same weekday, four weeks
QUERY_OFFSETS = (28, 21, 14, 7, 6, 5, 4, 3, 2, 1)  # query template: 10 days
THESIS_FEATURES = ["sqr_diff", "count_ratio", "time_cos", "doc_sim"]
EXTENDED_FEATURES = THESIS_FEATURES + ["doc_max_sim", "time_cos_daytype", "token_overlap"]
# for sparse users: templates from every active day of the window (recency and day-type weighted),
# nouns and clicked domains of the whole window
SPARSE_FEATURES = EXTENDED_FEATURES + ["time_cos_recent", "doc_sim_recent", "token_overlap_window", "domain_overlap"]
ALL_FEATURES = SPARSE_FEATURES
RECENCY_HALF_LIFE = 14.0  # days: weight of a template day = 0.5 ** (age / half life)
SAME_DAY_TYPE_WEIGHT = 2.0  # a template day of the request's day type (weekday / holiday) counts double
MISSING_DAY_MODES = ("skip", "zero")


def _unit(matrix: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.divide(matrix, norm, out=np.zeros_like(matrix, dtype=np.float64), where=norm > 0)


@dataclass
class Panel:
    users: np.ndarray  # user ids, sorted
    days: list[str]
    count: np.ndarray  # (U, D)
    sqr: np.ndarray  # (U, D), 0 where inactive
    hours: np.ndarray  # (U, D, 24)
    documents: list  # [u][d] -> tuple of tokens ("" day: empty)
    holidays: frozenset = frozenset()
    docvec: np.ndarray | None = None  # (U, D, dims), zero where no document
    bow: sp.csr_matrix | None = field(default=None, repr=False)  # (U*D, V) binary token presence
    domains: list | None = None  # [u][d] -> tuple of clicked domains (logs with clicks only)
    dom_bow: sp.csr_matrix | None = field(default=None, repr=False)  # (U*D, domains) binary
    vocab: dict | None = field(default=None, repr=False)  # noun -> column of ``bow``

    @property
    def active(self) -> np.ndarray:
        return self.count > 0

    def day_type(self) -> np.ndarray:
        """1 for Saturdays, Sundays and holidays, else 0 (for the weekday/holiday templates)."""
        return np.array([int(date.fromisoformat(d).weekday() >= 5 or d in self.holidays) for d in self.days])

    def build_bow(self) -> None:
        self.bow, self.vocab = self._presence(self.documents)
        if self.domains is not None:
            self.dom_bow, _ = self._presence(self.domains)

    def _presence(self, per_user) -> tuple[sp.csr_matrix, dict]:
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for u, per_day in enumerate(per_user):
            for d, doc in enumerate(per_day):
                for token in set(doc):
                    rows.append(u * len(self.days) + d)
                    cols.append(vocab.setdefault(token, len(vocab)))
        shape = (len(self.users) * len(self.days), max(len(vocab), 1))
        return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape), vocab


def from_features(features: pd.DataFrame, days: list[str], users=None, holidays=()) -> Panel:
    """Panel of ``days`` from rows of sa_daily_features (with their ``ds`` column)."""
    users = np.array(sorted(set(features["user_id"]) if users is None else users), dtype=object)
    n_users, n_days = len(users), len(days)
    count = np.zeros((n_users, n_days))
    sqr = np.zeros((n_users, n_days))
    hours = np.zeros((n_users, n_days, 24))
    documents = [[() for _ in range(n_days)] for _ in range(n_users)]
    has_domains = "domains" in features.columns
    domains = [[() for _ in range(n_days)] for _ in range(n_users)] if has_domains else None
    features = features[features["ds"].isin(days) & features["user_id"].isin(set(users))]
    if len(features):
        u = np.searchsorted(users, features["user_id"].to_numpy(dtype=object))
        d = np.searchsorted(np.array(days), features["ds"].to_numpy(dtype=object))
        count[u, d] = features["search_count"].to_numpy()
        sqr[u, d] = features["sqr"].to_numpy()
        hours[u, d] = np.stack([np.asarray(v, dtype=float) for v in features["hour_vector"]])
        for ui, di, doc in zip(u, d, features["document"]):
            documents[ui][di] = tuple(doc)
        if has_domains:
            for ui, di, doms in zip(u, d, features["domains"]):
                domains[ui][di] = tuple(doms) if doms is not None and len(doms) else ()
    return Panel(users, list(days), count, sqr, hours, documents, frozenset(holidays), domains=domains)


@dataclass
class Templates:
    """Templates of every user for authentication day index ``d``."""

    d: int
    sqr: np.ndarray
    mean_count: np.ndarray
    time: np.ndarray  # (U, 24) sum of L1-normalised hour vectors of d-28, -21, -14, -7
    time_daytype: np.ndarray  # (U, 24) same, over the 28 days of d's day type (weekday / holiday)
    query_days: np.ndarray  # (U, 10) bool: template query day present
    time_days: np.ndarray  # (U, 4) bool
    active_days: np.ndarray  # (U,) active days in the 28-day window
    doc_mean: np.ndarray | None  # (U, dims) mean doc vector of the present query days
    time_recent: np.ndarray | None = None  # (U, 24) every active window day, recency / day-type weighted
    doc_recent: np.ndarray | None = None  # (U, dims) same weights over the day vectors

    @property
    def usable(self) -> np.ndarray:
        return (self.mean_count > 0) & self.time_days.any(axis=1) & self.query_days.any(axis=1)


def templates(panel: Panel, d: int, missing: str = "skip", window: int = 28) -> Templates:
    if d < window:
        raise ValueError(f"day index {d}: needs {window} earlier days")
    span = slice(d - window, d)
    count = panel.count[:, span]
    active = count > 0
    total = count.sum(axis=1)
    sqr = np.divide((panel.sqr[:, span] * count).sum(axis=1), total, out=np.zeros(len(total)), where=total > 0)
    n_days = active.sum(axis=1) if missing == "skip" else np.full(len(total), window)
    mean_count = np.divide(total, n_days, out=np.zeros(len(total)), where=n_days > 0)
    time_idx = [d - k for k in TIME_OFFSETS]
    time = _l1(panel.hours[:, time_idx]).sum(axis=1)
    day_type = panel.day_type()
    same = [t for t in range(d - window, d) if day_type[t] == day_type[d]]
    time_daytype = _l1(panel.hours[:, same]).sum(axis=1)
    query_idx = [d - k for k in QUERY_OFFSETS]
    query_days = panel.active[:, query_idx] & np.array([[len(panel.documents[u][t]) > 0 for t in query_idx]
                                                       for u in range(len(panel.users))]).reshape(len(panel.users), -1)
    doc_mean = None
    if panel.docvec is not None:
        weights = query_days[:, :, None].astype(float)
        n = np.maximum(weights.sum(axis=1), 1)
        doc_mean = (panel.docvec[:, query_idx] * weights).sum(axis=1) / n
    ages = np.arange(window, 0, -1) - 1  # day d-window is window-1 days older than d-1
    weights = 0.5 ** (ages / RECENCY_HALF_LIFE) * np.where(day_type[span] == day_type[d], SAME_DAY_TYPE_WEIGHT, 1.0)
    weights = active * weights[None, :]
    time_recent = (smooth_hours(_l1(panel.hours[:, span])) * weights[:, :, None]).sum(axis=1)
    doc_recent = None
    if panel.docvec is not None:
        doc_recent = (panel.docvec[:, span] * weights[:, :, None]).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)[:, None]
    return Templates(d, sqr, mean_count, time, time_daytype, query_days, panel.active[:, time_idx],
                     active.sum(axis=1), doc_mean, time_recent, doc_recent)


HOUR_KERNEL = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0  # ±2 h: a search at 9:50 or 10:10 is the same habit


def smooth_hours(hours: np.ndarray) -> np.ndarray:
    """Hour vectors (…, 24) convolved with :data:`HOUR_KERNEL` around the clock."""
    out = np.zeros_like(hours, dtype=np.float64)
    for shift, weight in zip(range(-2, 3), HOUR_KERNEL):
        out += weight * np.roll(hours, shift, axis=-1)
    return out


def _l1(hours: np.ndarray) -> np.ndarray:
    total = hours.sum(axis=-1, keepdims=True)
    return np.divide(hours, total, out=np.zeros_like(hours), where=total > 0)


def _token_template(panel: Panel, d: int) -> sp.csr_matrix:
    """(U, V) 0/1: tokens of each user's 10 query-template days."""
    n_days = len(panel.days)
    base = np.arange(len(panel.users)) * n_days
    union = sum(panel.bow[base + d - k] for k in QUERY_OFFSETS)
    return (union > 0).astype(np.float32)


def _window_union(bow: sp.csr_matrix, n_users: int, n_days: int, d: int, window: int) -> sp.csr_matrix:
    """(U, V) 0/1: what each user had on any of the ``window`` days before ``d``."""
    base = np.arange(n_users) * n_days
    union = sum(bow[base + d - k] for k in range(1, window + 1))
    return (union > 0).astype(np.float32)


def _overlap(template: sp.csr_matrix, day: sp.csr_matrix, per_victim: bool) -> np.ndarray:
    """Share of a request day's items (rows of ``day``) found in the template rows."""
    size = np.asarray(day.sum(axis=1)).ravel()
    if not per_victim:
        shared = (template @ day.T).toarray()
        return np.divide(shared, size[None, :], out=np.zeros_like(shared), where=size[None, :] > 0)
    shared = np.asarray(template.multiply(day).sum(axis=1)).ravel()
    return np.divide(shared, size, out=np.zeros(len(size)), where=size > 0)


def token_weights(panel: Panel, last_day: int) -> np.ndarray:
    """Inverse document frequency of each noun over all user-days before ``last_day`` (public
    popularity: a noun everybody searches says little about who searches it)."""
    rows = (np.arange(len(panel.users))[:, None] * len(panel.days) + np.arange(last_day)[None, :]).ravel()
    df = np.asarray(panel.bow[rows].sum(axis=0)).ravel()
    return np.log((len(rows) + 1.0) / (df + 1.0)).astype(np.float32)


def unseen_token_weight(panel: Panel, last_day: int) -> float:
    """The weight :func:`token_weights` gives a noun seen on no user-day before ``last_day``."""
    return float(np.log(len(panel.users) * last_day + 1.0))


def copy_similarity(panel: Panel, d: int, idf: np.ndarray, window: int = 14,
                    replay_from: np.ndarray | None = None) -> np.ndarray:
    """(A, B): the highest popularity-weighted Jaccard similarity between the nouns of B's day
    ``d`` (or, with ``replay_from``, the victim A's replayed day) and any single one of A's own
    days d-1 … d-window. Near 1: the request repeats a day of A's own history (a replay)."""
    n, n_days = len(panel.users), len(panel.days)
    users = np.arange(n)
    w = sp.diags(idf)
    rows = users * n_days + (d if replay_from is None else replay_from)
    req = panel.bow[rows] @ w
    req_size = np.asarray(req.sum(axis=1)).ravel()
    best = np.zeros((n, n) if replay_from is None else n, np.float32)
    for k in range(1, window + 1):
        past = panel.bow[users * n_days + d - k]
        past_size = np.asarray((past @ w).sum(axis=1)).ravel()
        if replay_from is None:
            inter = (past @ req.T).toarray()
            union = past_size[:, None] + req_size[None, :] - inter
        else:
            inter = np.asarray(past.multiply(req).sum(axis=1)).ravel()
            union = past_size + req_size - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float64), where=union > 0)
        best = np.maximum(best, jac)
    return best if replay_from is None else np.repeat(best[:, None], n, axis=1)


def request_features(panel: Panel, tmpl: Templates, request_day: int | None = None,
                     feature_names=EXTENDED_FEATURES, replay_from: np.ndarray | None = None) -> np.ndarray:
    """(A, B, F): template of user A (rows) against the day ``tmpl.d`` of user B (columns).

    With ``replay_from`` (one day index per victim A), column B is instead an impersonation:
    A's queries of that day (SQR, document, tokens) sent at B's hours and B's volume.
    """
    d = tmpl.d if request_day is None else request_day
    n = len(panel.users)
    out = {}
    count_b, hours_b = panel.count[:, d], panel.hours[:, d]
    out["count_ratio"] = count_b[None, :] / np.where(tmpl.mean_count > 0, tmpl.mean_count, np.inf)[:, None]
    out["time_cos"] = _unit(tmpl.time) @ _unit(hours_b).T
    if "time_cos_daytype" in feature_names:
        out["time_cos_daytype"] = _unit(tmpl.time_daytype) @ _unit(hours_b).T
    users = np.arange(n)
    if replay_from is None:
        out["sqr_diff"] = np.abs(tmpl.sqr[:, None] - panel.sqr[None, :, d])
    else:
        out["sqr_diff"] = np.repeat(np.abs(tmpl.sqr - panel.sqr[users, replay_from])[:, None], n, axis=1)
    if panel.docvec is not None:
        if replay_from is None:
            day_vec = _unit(panel.docvec[:, d])
            out["doc_sim"] = _unit(tmpl.doc_mean) @ day_vec.T
        else:
            day_vec = _unit(panel.docvec[users, replay_from])
            out["doc_sim"] = np.repeat(np.sum(_unit(tmpl.doc_mean) * day_vec, axis=1)[:, None], n, axis=1)
        if "doc_max_sim" in feature_names:
            best = np.full((n, n) if replay_from is None else (n,), -1.0)
            for j, k in enumerate(QUERY_OFFSETS):
                sims = _unit(panel.docvec[:, d - k])
                sims = sims @ day_vec.T if replay_from is None else np.sum(sims * day_vec, axis=1)
                present = tmpl.query_days[:, j]
                sims = np.where(present[:, None] if replay_from is None else present, sims, -1.0)
                best = np.maximum(best, sims)
            best = np.where(best < -0.999, 0.0, best)
            out["doc_max_sim"] = best if replay_from is None else np.repeat(best[:, None], n, axis=1)
    if "token_overlap" in feature_names:
        template_tokens = _token_template(panel, tmpl.d)
        rows = np.arange(n) * len(panel.days) + (d if replay_from is None else replay_from)
        day_tokens = panel.bow[rows]
        size = np.asarray(day_tokens.sum(axis=1)).ravel()
        if replay_from is None:
            shared = (template_tokens @ day_tokens.T).toarray()
            out["token_overlap"] = np.divide(shared, size[None, :], out=np.zeros_like(shared), where=size[None, :] > 0)
        else:
            shared = np.asarray(template_tokens.multiply(day_tokens).sum(axis=1)).ravel()
            ratio = np.divide(shared, size, out=np.zeros(n), where=size > 0)
            out["token_overlap"] = np.repeat(ratio[:, None], n, axis=1)
    if "time_cos_recent" in feature_names:
        out["time_cos_recent"] = _unit(tmpl.time_recent) @ _unit(smooth_hours(hours_b)).T
    if "doc_sim_recent" in feature_names and panel.docvec is not None:
        if replay_from is None:
            out["doc_sim_recent"] = _unit(tmpl.doc_recent) @ day_vec.T
        else:
            out["doc_sim_recent"] = np.repeat(np.sum(_unit(tmpl.doc_recent) * day_vec, axis=1)[:, None], n, axis=1)
    rows = np.arange(n) * len(panel.days) + (d if replay_from is None else replay_from)
    window = tmpl.d - max(tmpl.d - 28, 0)
    if "token_overlap_window" in feature_names:
        union = _window_union(panel.bow, n, len(panel.days), tmpl.d, window)
        value = _overlap(union, panel.bow[rows], replay_from is not None)
        out["token_overlap_window"] = value if replay_from is None else np.repeat(value[:, None], n, axis=1)
    if "domain_overlap" in feature_names:
        if panel.dom_bow is None:
            out["domain_overlap"] = np.zeros((n, n))
        else:  # a replay copies the victim's clicks too (the worst case)
            union = _window_union(panel.dom_bow, n, len(panel.days), tmpl.d, window)
            value = _overlap(union, panel.dom_bow[rows], replay_from is not None)
            out["domain_overlap"] = value if replay_from is None else np.repeat(value[:, None], n, axis=1)
    stacked = np.stack([np.broadcast_to(out[f], (n, n)) for f in feature_names], axis=-1)
    return np.nan_to_num(stacked, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def replay_days(panel: Panel, d: int, lookback: int = 7) -> np.ndarray:
    """Per victim, the most recent active day before ``d`` (what an attacker would have seen)."""
    choice = np.full(len(panel.users), d - 1)
    for k in range(lookback, 0, -1):
        choice = np.where(panel.active[:, d - k], d - k, choice)
    return choice


def cv_of_counts(panel: Panel, d: int, window: int = 28) -> np.ndarray:
    counts = panel.count[:, d - window:d]
    mean = counts.mean(axis=1)
    return np.divide(counts.std(axis=1), mean, out=np.full(len(mean), np.nan), where=mean > 0)


def self_similarity(vectors: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Mean pairwise cosine between a user's template vectors (U, K, dims) that are present."""
    unit = _unit(vectors)
    sims = np.einsum("ukd,uld->ukl", unit, unit)
    mask = present[:, :, None] & present[:, None, :]
    k = vectors.shape[1]
    mask &= ~np.eye(k, dtype=bool)[None]
    pairs = mask.sum(axis=(1, 2))
    return np.divide((sims * mask).sum(axis=(1, 2)), pairs, out=np.full(len(pairs), np.nan), where=pairs > 0)


def uniqueness(vectors: np.ndarray, usable: np.ndarray, nearest: int = 5) -> np.ndarray:
    """1 - mean cosine of a user's template vector to its ``nearest`` most similar other users."""
    unit = _unit(vectors)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    sims[:, ~usable] = -np.inf
    k = min(nearest, max(int(usable.sum()) - 1, 0))
    if k == 0:
        return np.full(len(vectors), np.nan)
    top = -np.sort(-sims, axis=1)[:, :k]
    result = 1.0 - top.mean(axis=1)
    return np.where(usable, result, np.nan)
