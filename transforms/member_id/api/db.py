"""SQL storage of API keys, per-key request counts and estimation requests (SQLite by default,
PostgreSQL by URL).

A request is claimed by a worker with one conditional ``UPDATE … RETURNING`` and a lease: after a
crash or restart its lease runs out and another worker claims it again, and a result is written
only by the worker that holds the claim, so an accepted request is never lost nor answered twice.
Rate limits count requests per key and minute in SQL with an atomic upsert, so a limit holds
across API processes and restarts.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import secrets
import threading
import time
import uuid
import weakref
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

metadata = sa.MetaData()
api_keys = sa.Table(
    "mid_api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), unique=True, nullable=False),
    sa.Column("key_hash", sa.String(64), unique=True, nullable=False),  # sha256 of a random 256-bit key
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("rate_per_minute", sa.Integer, nullable=False),
    sa.Column("accepted", sa.BigInteger, nullable=False, default=0),
    sa.Column("limited", sa.BigInteger, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
)
rate_windows = sa.Table(
    "mid_rate_windows", metadata,
    sa.Column("api_key_id", sa.Integer, primary_key=True),
    sa.Column("minute", sa.BigInteger, primary_key=True),  # minutes since the epoch: fixed one-minute windows
    sa.Column("used", sa.Integer, nullable=False),
)
requests = sa.Table(
    "mid_requests", metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("api_key_id", sa.Integer, nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | processing | success | error
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("access_time", sa.String(40), nullable=False),
    sa.Column("user_agent", sa.Text, nullable=False),
    sa.Column("member_id", sa.String(200)),
    sa.Column("likelihood", sa.Float),
    sa.Column("error", sa.Text),
    sa.Column("model_version", sa.String(80)),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("lease_until", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("idempotency_key", sa.String(200)),  # client's Idempotency-Key: a retried POST stores once
    sa.Column("purged_at", sa.Float),  # raw ip / access time / user agent erased after the retention
    sa.Index("ix_mid_requests_status_created", "status", "created_at"),
    sa.Index("ux_mid_requests_idempotency", "api_key_id", "idempotency_key", unique=True),
)
ADDED_COLUMNS = {"idempotency_key": "VARCHAR(200)", "purged_at": "FLOAT"}  # columns older stores lack


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


_write_locks: "weakref.WeakKeyDictionary[sa.Engine, threading.Lock]" = weakref.WeakKeyDictionary()


def _writing(engine: sa.Engine):
    """A write transaction. SQLite writers of this process queue on a lock first: SQLite's own
    busy wait sleeps in growing steps (up to 100 ms), which collapsed throughput when the API's
    threads and the workers contended. Other processes still wait through the busy timeout."""
    lock = _write_locks.get(engine)
    if lock is None:
        return engine.begin()

    @contextlib.contextmanager
    def locked():
        with lock, engine.begin() as conn:
            yield conn
    return locked()


POOL_SIZE = 10  # connections kept open per engine; the app runs at most this many SQL calls at once


def connect(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}} if url.startswith("sqlite") else {}
    kwargs.update(pool_size=POOL_SIZE, max_overflow=10)  # the overflow serves the workers and the result poller
    engine = sa.create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def _wal(conn, _record):  # readers do not block the writer
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        _write_locks[engine] = threading.Lock()
    metadata.create_all(engine)
    _migrate(engine)
    return engine


def _migrate(engine: sa.Engine) -> None:
    """Add the columns and index a store created by an older version lacks (idempotent)."""
    present = {c["name"] for c in sa.inspect(engine).get_columns("mid_requests")}
    with _writing(engine) as conn:
        for name, kind in ADDED_COLUMNS.items():
            if name not in present:
                conn.execute(sa.text(f"ALTER TABLE mid_requests ADD COLUMN {name} {kind}"))
        conn.execute(sa.text("CREATE UNIQUE INDEX IF NOT EXISTS ux_mid_requests_idempotency "
                             "ON mid_requests (api_key_id, idempotency_key)"))


def create_key(engine: sa.Engine, name: str, rate_per_minute: int = 600, is_admin: bool = False) -> str:
    """A new API key; only its hash is stored, the raw key is returned once."""
    raw = "mid_" + secrets.token_urlsafe(32)
    with _writing(engine) as conn:
        conn.execute(api_keys.insert().values(name=name, key_hash=hash_key(raw), is_admin=is_admin,
                                              rate_per_minute=rate_per_minute, accepted=0, limited=0,
                                              created_at=time.time()))
    return raw


# Per-request statements are built once: building one per call (and its cache key) cost SQLAlchemy
# more CPU than executing it.
_find_key = sa.select(api_keys).where(api_keys.c.key_hash == sa.bindparam("key_hash"))
_fetch = sa.select(requests).where(requests.c.key == sa.bindparam("request_key"))
_fetch_finished = sa.select(requests).where(requests.c.key.in_(sa.bindparam("request_keys", expanding=True)),
                                            requests.c.status.in_(("success", "error")))
_insert_request = requests.insert()
_drop_old_windows = rate_windows.delete().where(rate_windows.c.api_key_id == sa.bindparam("key_id"),
                                                rate_windows.c.minute < sa.bindparam("minute"))
_count = {column: api_keys.update().where(api_keys.c.id == sa.bindparam("key_id"))
          .values({column: api_keys.c[column] + sa.bindparam("n")}) for column in ("accepted", "limited")}
_take = {}  # dialect name -> rate-window upsert


def _take_statement(dialect: str):
    if dialect not in _take:
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(rate_windows)
        _take[dialect] = insert.values(
            api_key_id=sa.bindparam("key_id"), minute=sa.bindparam("minute"), used=sa.bindparam("n"),
        ).on_conflict_do_update(
            index_elements=[rate_windows.c.api_key_id, rate_windows.c.minute],
            set_={"used": rate_windows.c.used + sa.bindparam("n")},
            where=rate_windows.c.used + sa.bindparam("n") <= sa.bindparam("limit"),
        ).returning(rate_windows.c.used)
    return _take[dialect]


def find_key(engine: sa.Engine, raw: str):
    with engine.connect() as conn:
        return conn.execute(_find_key, {"key_hash": hash_key(raw)}).mappings().first()


def _take_from_limit(conn, key_id: int, limit: int, minute: int, n: int) -> bool:
    """Count ``n`` requests in the key's current minute unless that passes the limit (atomic
    upsert: concurrent API processes cannot both take the last slots)."""
    if n > limit:
        return False
    used = conn.execute(_take_statement(conn.dialect.name),
                        {"key_id": key_id, "minute": minute, "limit": limit, "n": n}).scalar()
    if used == n:  # first requests of a new minute: drop the key's finished windows
        conn.execute(_drop_old_windows, {"key_id": key_id, "minute": minute})
    return used is not None


_find_idempotent = sa.select(requests.c.key, requests.c.ip, requests.c.access_time, requests.c.user_agent,
                             requests.c.purged_at, requests.c.idempotency_key).where(
    requests.c.api_key_id == sa.bindparam("key_id"),
    requests.c.idempotency_key.in_(sa.bindparam("idem", expanding=True)))


class IdempotencyConflict(ValueError):
    """The idempotency key was already used for a different request."""


def idempotency_keys(idempotency_key: str, n: int | None) -> list[str]:
    """The stored idempotency key of each request: the client's own for a single submit
    (``n`` None); "<key> <i>" for item i of a batch (a client key has no spaces, so the two
    never meet)."""
    return [idempotency_key] if n is None else [f"{idempotency_key} {i}" for i in range(n)]


def find_idempotent(engine: sa.Engine, key_id: int, idempotency_key: str, fields: list | None = None,
                    batch: bool = False) -> list[str] | None:
    """The keys of the requests sent under ``idempotency_key`` (None when it is unused);
    IdempotencyConflict when ``fields`` (ip, access time, user agent per request) differ from
    what was sent under it (unknowable once purged)."""
    stored = idempotency_keys(idempotency_key, len(fields) if batch else None)
    with engine.connect() as conn:
        rows = {r.idempotency_key: r for r in conn.execute(_find_idempotent, {"key_id": key_id, "idem": stored})}
    if not rows:
        return None
    if len(rows) != len(stored) or fields is not None and any(
            rows[k].purged_at is None and (rows[k].ip, rows[k].access_time, rows[k].user_agent) != tuple(f)
            for k, f in zip(stored, fields)):
        raise IdempotencyConflict(idempotency_key)
    return [rows[k].key for k in stored]


def submit(engine: sa.Engine, key_id: int, limit: int, ip: str, access_time: str, user_agent: str,
           idempotency_key: str | None = None) -> tuple[str | None, int]:
    """(request key, 0) when accepted; (None, seconds until the next minute) when the key's
    per-minute limit is reached. Counts, limit and the request are written in one transaction.
    With ``idempotency_key``, a request this API key already sent under it is answered with the
    first one's key (-1 as second value) and counts neither as accepted nor against the limit;
    a different request under a used key raises IdempotencyConflict."""
    keys, retry_after = submit_many(engine, key_id, limit, [(ip, access_time, user_agent)], idempotency_key,
                                    batch=False)
    return (keys[0] if keys else None), retry_after


def submit_many(engine: sa.Engine, key_id: int, limit: int, fields: list, idempotency_key: str | None = None,
                batch: bool = True) -> tuple[list[str] | None, int]:
    """:func:`submit` for several requests ((ip, access time, user agent) each) in one
    transaction and one multi-row insert: all are accepted or none (the limit must hold all).
    ``batch``: the idempotency key names the whole batch (stored per item, see
    :func:`idempotency_keys`)."""
    if idempotency_key is not None:
        known = find_idempotent(engine, key_id, idempotency_key, fields, batch)
        if known is not None:
            return known, -1
    now = time.time()
    minute = int(now // 60)
    stored = idempotency_keys(idempotency_key, len(fields) if batch else None) if idempotency_key else [None] * len(fields)
    try:
        with _writing(engine) as conn:
            if not _take_from_limit(conn, key_id, limit, minute, len(fields)):
                conn.execute(_count["limited"], {"key_id": key_id, "n": len(fields)})
                return None, max(1, math.ceil((minute + 1) * 60 - now))
            rows = [{"key": uuid.uuid4().hex, "api_key_id": key_id, "status": "pending", "ip": ip,
                     "access_time": access_time, "user_agent": user_agent, "attempts": 0, "created_at": now,
                     "idempotency_key": idem} for (ip, access_time, user_agent), idem in zip(fields, stored)]
            conn.execute(_insert_request, rows)
            conn.execute(_count["accepted"], {"key_id": key_id, "n": len(fields)})
    except sa.exc.IntegrityError:
        # the same idempotency key raced in from another connection: that one won (and this
        # transaction, limit slots included, was rolled back)
        known = idempotency_key is not None and find_idempotent(engine, key_id, idempotency_key, fields, batch)
        if not known:
            raise
        return known, -1
    return [r["key"] for r in rows], 0


def fetch(engine: sa.Engine, request_key: str):
    with engine.connect() as conn:
        return conn.execute(_fetch, {"request_key": request_key}).mappings().first()


_fetch_many = sa.select(requests).where(requests.c.key.in_(sa.bindparam("request_keys", expanding=True)))


def fetch_many(engine: sa.Engine, request_keys: list[str]) -> dict[str, dict]:
    """The rows of those of ``request_keys`` that exist, by key, in one query."""
    if len(request_keys) == 1:
        row = fetch(engine, request_keys[0])
        return {row["key"]: dict(row)} if row is not None else {}
    with engine.connect() as conn:
        return {r["key"]: dict(r) for r in conn.execute(_fetch_many, {"request_keys": request_keys}).mappings()}


def fetch_finished(engine: sa.Engine, request_keys: list[str]) -> list[dict]:
    """The finished ones (success or error) of ``request_keys``, in one query."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(_fetch_finished, {"request_keys": request_keys}).mappings()]


def _claimable(now: float):
    return sa.or_(requests.c.status == "pending",
                  sa.and_(requests.c.status == "processing", requests.c.lease_until < now))


def claim(engine: sa.Engine, worker: str, limit: int, lease_s: float) -> list[dict]:
    """Claim up to ``limit`` of the oldest claimable requests. PostgreSQL: lock them first,
    skipping rows other workers hold (a LIMIT subquery inside the UPDATE can be re-run there and
    claim more). SQLite: one ``UPDATE … RETURNING``, so the transaction never upgrades a read
    lock (which fails at once instead of waiting for the writer)."""
    now = time.time()
    oldest = (sa.select(requests.c.key).where(_claimable(now)).order_by(requests.c.created_at).limit(limit)
              .with_for_update(skip_locked=True))
    with _writing(engine) as conn:
        chosen = conn.execute(oldest).scalars().all() if conn.dialect.name == "postgresql" else oldest
        statement = (requests.update().where(requests.c.key.in_(chosen), _claimable(now))
                     .values(status="processing", claimed_by=worker, lease_until=now + lease_s,
                             attempts=requests.c.attempts + 1)
                     .returning(*requests.c))
        rows = [dict(r) for r in conn.execute(statement).mappings()]
    return sorted(rows, key=lambda r: r["created_at"])


_finish = requests.update().where(
    requests.c.key == sa.bindparam("r_key"), requests.c.claimed_by == sa.bindparam("r_worker"),
    requests.c.status == "processing",
).values(status=sa.bindparam("r_status"), member_id=sa.bindparam("r_member_id"),
         likelihood=sa.bindparam("r_likelihood"), error=sa.bindparam("r_error"),
         model_version=sa.bindparam("r_model_version"), finished_at=sa.bindparam("r_finished_at"))


def finish(engine: sa.Engine, worker: str, results: list[dict]) -> int:
    """Write results of claimed requests in one transaction; a request another worker re-claimed
    meanwhile is skipped. Returns how many were written."""
    if not results:
        return 0
    now = time.time()
    params = [{"r_key": r["key"], "r_worker": worker, "r_status": r["status"], "r_member_id": r.get("member_id"),
               "r_likelihood": r.get("likelihood"), "r_error": r.get("error"),
               "r_model_version": r.get("model_version"), "r_finished_at": now} for r in results]
    with _writing(engine) as conn:
        return conn.execute(_finish, params).rowcount


def release(engine: sa.Engine, worker: str, request_keys: list[str], retry_in_s: float) -> int:
    """Give claimed requests back for another attempt after ``retry_in_s`` (no longer claimed by
    anyone; claimable again when the short lease runs out)."""
    if not request_keys:
        return 0
    with _writing(engine) as conn:
        return conn.execute(requests.update().where(
            requests.c.key.in_(request_keys), requests.c.claimed_by == worker, requests.c.status == "processing",
        ).values(claimed_by=None, lease_until=time.time() + retry_in_s)).rowcount


def purge_raw(engine: sa.Engine, retention_s: float) -> int:
    """Erase ip, access time and user agent of requests finished more than ``retention_s`` ago;
    status, result and counts stay (usage is unchanged). Returns how many rows were purged."""
    cutoff = time.time() - retention_s
    with _writing(engine) as conn:
        return conn.execute(requests.update().where(
            requests.c.status.in_(("success", "error")), requests.c.finished_at < cutoff,
            requests.c.purged_at.is_(None),
        ).values(ip="", access_time="", user_agent="", purged_at=time.time())).rowcount


def usage(engine: sa.Engine, key_id: int | None = None) -> list[dict]:
    with engine.connect() as conn:
        query = sa.select(api_keys.c.id, api_keys.c.name, api_keys.c.rate_per_minute, api_keys.c.accepted,
                          api_keys.c.limited)
        if key_id is not None:
            query = query.where(api_keys.c.id == key_id)
        keys = [dict(r) for r in conn.execute(query).mappings()]
        counts = conn.execute(sa.select(requests.c.api_key_id, requests.c.status, sa.func.count())
                              .group_by(requests.c.api_key_id, requests.c.status)).all()
    for k in keys:
        k["by_status"] = {status: n for kid, status, n in counts if kid == k["id"]}
    return keys
