"""Shared fixtures of the API tests: a store on SQLite and one on PostgreSQL (127.0.0.1:5432,
trust auth; PostgreSQL cases are skipped when no server answers there)."""
import uuid

import pytest
import sqlalchemy as sa

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def pg_database():
    """(url of a fresh database, drop function); skips the test when PostgreSQL is absent."""
    name = f"trackscope_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432: {str(exc).splitlines()[0]}")

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}", drop


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.sqlite'}"
        return
    url, drop = pg_database()
    yield url
    drop()
