"""The engine and its transactions: the one place that knows SQLite from PostgreSQL.

SQLite (one replica): WAL so readers never block the writer, a busy timeout so writers queue
instead of failing, foreign keys on. The ``sqlite3`` driver's own transaction handling is turned
off and podbot emits ``BEGIN IMMEDIATE`` for write transactions itself: the write lock is taken
at the start, so a read-then-write transaction (a claim, an upsert) can neither interleave with
another writer nor fail half-way with "database is locked".

PostgreSQL (several replicas): READ COMMITTED, where a conditional ``UPDATE ... WHERE state =
'pending'`` re-checks its condition after waiting for a competing writer's row lock, so
compare-and-set statements are race-free without explicit locking.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from podbot.core.errors import ConfigError, PodbotError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "podbot_immediate"


class StoreUnavailable(PodbotError):
    """The database could not be reached or refused the operation for an operational reason.

    ``reason`` is the driver's first line (e.g. "Connection refused"), for operators' logs."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def parse_url(url: str) -> URL:
    """A SQLAlchemy URL for podbot: ``postgres://`` and driver-less ``postgresql://`` mean psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL: {exc}") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"DATABASE_URL: unsupported database {parsed.drivername!r} "
            "(use sqlite:///path/to/podbot.sqlite3 or postgresql+psycopg://user@host/db)"
        )
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise ConfigError(
                "DATABASE_URL: an in-memory SQLite database would vanish with the process; "
                "use a file, e.g. sqlite:////var/lib/podbot/podbot.sqlite3"
            )
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise ConfigError(f"DATABASE_URL: the directory {parent} of the SQLite file does not exist")
    return parsed


def display_url(url: URL) -> str:
    """The URL without its password, fit for logs and messages."""
    return url.render_as_string(hide_password=True)


def create(url: URL, *, schema: str | None = None, pool_size: int = 5) -> Engine:
    """An engine configured for podbot's use of ``url``'s database (see the module docstring)."""
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url, pool_size)
        return _postgresql_engine(url, schema, pool_size)
    except NoSuchModuleError as exc:
        raise ConfigError(f"DATABASE_URL: no driver for {url.drivername} is installed") from exc


def _sqlite_engine(url: URL, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_timeout=BUSY_TIMEOUT_MS / 1000,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Transactions are begun by the "begin" hook below, not by the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            # synchronous stays at its FULL default: an audit record acknowledged is on disk.
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgresql_engine(url: URL, schema: str | None, pool_size: int) -> Engine:
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if schema:
        # Every connection works in podbot's schema: tables, the Alembic version table, triggers.
        connect_args["options"] = f"-c search_path={quote_identifier(schema)}"
    return create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,  # a connection killed by a failover or idle timeout is replaced, not used
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_timeout=30,
        pool_recycle=1800,
    )


def quote_identifier(name: str) -> str:
    """``name`` as a PostgreSQL identifier; only plain names are accepted, so quoting is trivial."""
    if not name or not all(c.isalnum() or c == "_" for c in name) or name[0].isdigit():
        raise ConfigError(f"database schema name {name!r}: use letters, digits and _ only")
    return f'"{name}"'


class Database:
    """An engine plus podbot's transaction discipline; shared by the repositories of one ``Store``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # Outages are logged once when they start and once when they end. Off until start-up has
        # reached the database: a start-up failure is reported by its caller, in one line.
        self.report_outages = False
        self._down = False

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write (SQLite: ``BEGIN IMMEDIATE``); committed on success."""
        with self._transaction(immediate=True) as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: a consistent snapshot that never waits for writers."""
        with self._transaction(immediate=False) as connection:
            yield connection

    @contextmanager
    def _transaction(self, *, immediate: bool) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection:
                connection.execution_options(**{_IMMEDIATE: immediate})
                with connection.begin():
                    yield connection
        except DBAPIError as exc:
            if exc.connection_invalidated or _operational(exc):
                reason = driver_reason(exc, self.engine.url)
                if self.report_outages and not self._down:
                    log.warning("database unavailable: %s", reason)
                self._down = True
                raise StoreUnavailable(
                    "podbot's database is unavailable; try again shortly", reason=reason
                ) from exc
            raise
        if self._down:
            self._down = False
            if self.report_outages:
                log.warning("database answering again")

    def insert(self, table: Table) -> Any:
        """``INSERT`` with ``ON CONFLICT`` support (same API on both backends)."""
        return sqlite_insert(table) if self.dialect == "sqlite" else pg_insert(table)


def driver_reason(exc: DBAPIError, url: URL) -> str:
    """The driver's message in one line, without the password should a driver quote the URL."""
    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc.orig).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return reason[:300]


def _operational(exc: DBAPIError) -> bool:
    """Lost connection, server down, locked too long: worth retrying, unlike a bug in podbot."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    # sqlite3 reports a missing table (an unmigrated database) as an OperationalError too.
    return not any(word in str(exc.orig) for word in ("no such ", "syntax error"))


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (persistent), once. Converting needs an exclusive lock and SQLite
    answers "database is locked" at once, without waiting, when replicas start together and race
    to convert a new file; so look first, and retry the conversion briefly."""
    for attempt in range(50):
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.05)
