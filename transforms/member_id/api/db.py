"""SQL storage of API keys and estimation requests (SQLite by default, PostgreSQL by URL).

A request is claimed by a worker with a conditional UPDATE and a lease: after a crash or restart
its lease runs out and another worker claims it again, and a result is written only by the
worker that holds the claim, so an accepted request is never lost nor answered twice.
"""
from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

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
    sa.Index("ix_mid_requests_status_created", "status", "created_at"),
)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def connect(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}} if url.startswith("sqlite") else {"pool_size": 10}
    engine = sa.create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def _wal(conn, _record):  # readers do not block the writer
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
    metadata.create_all(engine)
    return engine


def create_key(engine: sa.Engine, name: str, rate_per_minute: int = 600, is_admin: bool = False) -> str:
    """A new API key; only its hash is stored, the raw key is returned once."""
    raw = "mid_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(api_keys.insert().values(name=name, key_hash=hash_key(raw), is_admin=is_admin,
                                              rate_per_minute=rate_per_minute, accepted=0, limited=0,
                                              created_at=time.time()))
    return raw


def find_key(engine: sa.Engine, raw: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(api_keys).where(api_keys.c.key_hash == hash_key(raw))).mappings().first()


def count_limited(engine: sa.Engine, key_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(limited=api_keys.c.limited + 1))


def submit(engine: sa.Engine, key_id: int, ip: str, access_time: str, user_agent: str) -> str:
    request_key = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(requests.insert().values(key=request_key, api_key_id=key_id, status="pending", ip=ip,
                                              access_time=access_time, user_agent=user_agent, attempts=0,
                                              created_at=time.time()))
        conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(accepted=api_keys.c.accepted + 1))
    return request_key


def fetch(engine: sa.Engine, request_key: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(requests).where(requests.c.key == request_key)).mappings().first()


def _claimable(now: float):
    return sa.or_(requests.c.status == "pending",
                  sa.and_(requests.c.status == "processing", requests.c.lease_until < now))


def claim(engine: sa.Engine, worker: str, limit: int, lease_s: float) -> list[dict]:
    now = time.time()
    with engine.begin() as conn:
        keys = conn.execute(sa.select(requests.c.key).where(_claimable(now))
                            .order_by(requests.c.created_at).limit(limit)).scalars().all()
        if not keys:
            return []
        conn.execute(requests.update().where(requests.c.key.in_(keys), _claimable(now)).values(
            status="processing", claimed_by=worker, lease_until=now + lease_s, attempts=requests.c.attempts + 1))
        rows = conn.execute(sa.select(requests).where(requests.c.key.in_(keys), requests.c.claimed_by == worker,
                                                      requests.c.status == "processing")).mappings().all()
    return [dict(r) for r in rows]


def finish(engine: sa.Engine, worker: str, results: list[dict]) -> int:
    """Write results of claimed requests; a request another worker re-claimed meanwhile is skipped."""
    done = 0
    with engine.begin() as conn:
        for r in results:
            done += conn.execute(requests.update().where(
                requests.c.key == r["key"], requests.c.claimed_by == worker, requests.c.status == "processing"
            ).values(status=r["status"], member_id=r.get("member_id"), likelihood=r.get("likelihood"),
                     error=r.get("error"), model_version=r.get("model_version"), finished_at=time.time())).rowcount
    return done


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
