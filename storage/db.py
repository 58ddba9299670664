"""Database engines and migrations: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from custody.log import WRITE_OPTION
from domain.errors import ConfigError, StorageError, StorageUnavailable
from domain.messages import msg

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine tuned for durable appends; SQLite gets WAL + synchronous=FULL."""
    try:
        engine = create_engine(url, echo=echo, pool_pre_ping=url.startswith("postgresql"),
                               **_pool_options(url))
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(msg("cannot use database URL {url!r}: {reason}", url=url, reason=exc),
                          hint=msg("set EVIDENCE_DATABASE_URL to sqlite:///PATH or "
                                   "postgresql+psycopg://USER@HOST/DB")) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


POOL_SIZE = 15  # connections an engine keeps: as many as it may open (SQLAlchemy: 5 + 10)


def _pool_options(url: str) -> dict[str, int]:
    """Keep every connection the pool may open, rather than 5 of its 15: under load the 10
    others were closed on return and opened again at the next request (a new SQLite
    connection: PRAGMAs and the schema read again, 0.7 ms; a PostgreSQL one: a new backend).
    An in-memory SQLite database has a pool of its own kind, left as it is."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (parsed.database or ":memory:") == ":memory:":
        return {}
    return {"pool_size": POOL_SIZE, "max_overflow": 0}


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes the write lock up front (SQLite: BEGIN IMMEDIATE).

    A deferred SQLite transaction that reads and then writes fails with
    SQLITE_BUSY instead of waiting when another writer got in between.
    """
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextmanager
def database_errors(what: str) -> Iterator[None]:
    """Translate SQLAlchemy failures into the project's storage errors."""
    try:
        yield
    except OperationalError as exc:
        raise StorageUnavailable(msg("database unavailable while {what}: {orig}", what=what, orig=exc.orig),
                                 hint=msg("check the database server or file; the work is retried")) from None
    except SQLAlchemyError as exc:
        raise StorageError(msg("database error while {what}: {name}: {reason}", what=what,
                               name=exc.__class__.__name__, reason=exc)) from None


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StorageUnavailable(msg("database migration failed: {name}: {reason}",
                                     name=exc.__class__.__name__, reason=exc),
                                 hint=msg("check that the database is reachable and writable")) from None
