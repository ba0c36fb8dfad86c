"""Databases for store tests: a SQLite file, and a fresh schema on the local PostgreSQL.

PostgreSQL is ``PODBOT_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Each database gets its own schema (dropped afterwards), so parallel runs never collide. Where no
PostgreSQL answers, its tests are skipped with the reason; with CI=true they fail instead.

tests/integration/conftest.py builds the ``target`` and ``store`` fixtures from these: one
migrated database per module and kind, emptied before each test (``empty``).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import psycopg
import pytest
from sqlalchemy import inspect, text

from podbot.store import Store

if TYPE_CHECKING:
    from tests.support.harness import Harness

POSTGRES_URL = os.environ.get("PODBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_KINDS = ("sqlite", "postgresql")
T0 = datetime(2026, 5, 9, 9, 0, tzinfo=UTC)

_probe: dict[str, str | None] = {}  # url -> why it is unreachable (None: it answered)


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def postgres_or_skip() -> str:
    """The PostgreSQL URL, or skip (fail under CI=true) when it does not answer."""
    if POSTGRES_URL not in _probe:
        _probe[POSTGRES_URL] = None
        try:
            with psycopg.connect(libpq_url(POSTGRES_URL), connect_timeout=3):
                pass
        except psycopg.Error as exc:
            _probe[POSTGRES_URL] = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}".strip()
    _unreachable = _probe[POSTGRES_URL]
    if _unreachable:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{_unreachable} (CI=true: PostgreSQL is required)")
        pytest.skip(_unreachable)
    return POSTGRES_URL


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new, empty schema on the test PostgreSQL, dropped (with everything in it) afterwards."""
    url = postgres_or_skip()
    name = f"podbot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]
    try:
        yield name
    finally:
        with psycopg.connect(libpq_url(url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


@dataclass(frozen=True)
class Target:
    """Where a test's database lives; ``open()`` gives a new Store (a new "replica") on it."""

    kind: str
    url: str
    schema: str | None = None

    def open(self, pool_size: int = 5) -> Store:
        return Store.open(self.url, schema=self.schema, pool_size=pool_size)

    @property
    def database_url(self) -> str:
        """One URL that says it all, as DATABASE_URL would (PostgreSQL: search_path in the URL)."""
        if self.schema is None:
            return self.url
        return f"{self.url}?options=-csearch_path%3D{self.schema}"


@contextmanager
def make_target(kind: str, tmp_path: Path) -> Iterator[Target]:
    if kind == "sqlite":
        yield Target("sqlite", f"sqlite:///{tmp_path / 'podbot.sqlite3'}")
        return
    with postgres_schema() as schema:
        yield Target("postgresql", postgres_or_skip(), schema)


@contextmanager
def open_store(target: Target, *, migrate: bool = True) -> Iterator[Store]:
    store = target.open()
    try:
        if migrate:
            store.migrate()
        yield store
    finally:
        store.close()


APPEND_ONLY = "audit_events"  # its triggers refuse UPDATE, DELETE and TRUNCATE


def empty(target: Target) -> None:
    """Every table of a migrated database emptied and its ids restarted: as good as a new one, for a
    fraction of the cost of a new schema and its migrations. The audit table's append-only
    triggers are lifted for the DELETE and back, unchanged, in the same transaction."""
    store = target.open(pool_size=1)
    try:
        tables = sorted(set(inspect(store.engine).get_table_names()) - {"alembic_version"})
        with store.engine.begin() as connection:
            if target.kind == "postgresql":
                connection.execute(text(f"ALTER TABLE {APPEND_ONLY} DISABLE TRIGGER USER"))
                triggers = []
            else:
                triggers = list(
                    connection.execute(
                        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                        {"t": APPEND_ONLY},
                    )
                )
                for name, _ in triggers:
                    connection.execute(text(f'DROP TRIGGER "{name}"'))
            for table in tables:  # on a few rows, DELETE is much cheaper than TRUNCATE
                connection.execute(text(f"DELETE FROM {table}"))
            if target.kind == "postgresql":
                connection.execute(text(f"ALTER TABLE {APPEND_ONLY} ENABLE TRIGGER USER"))
                sequences = connection.execute(
                    text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
                ).scalars()
                for sequence in list(sequences):
                    connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
            else:
                for _, sql in triggers:
                    connection.execute(text(sql))
                if "sqlite_sequence" in inspect(connection).get_table_names():
                    connection.execute(text("DELETE FROM sqlite_sequence"))
    finally:
        store.close()


R = TypeVar("R")


def race(calls: Sequence[Callable[[], R]], timeout: float = 30.0) -> list[R]:
    """Run every call in its own thread, all released at the same instant; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[R | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], R]) -> None:
        try:
            barrier.wait(timeout)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 (re-raised in the calling thread)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing thread did not finish"
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


class DatabaseCut:
    """Takes the database away (and brings it back) like a lost volume."""

    def __init__(self, h: Harness, tmp_path: Path) -> None:
        """The harness must keep its SQLite file in ``tmp_path / "db"``."""
        self._h = h
        self._home = tmp_path / "db"
        self._away = tmp_path / "db-away"

    def cut(self) -> None:
        self._home.rename(self._away)
        self._h.runtime.store.engine.dispose()  # pooled connections still hold the old file open

    def restore(self) -> None:
        self._away.rename(self._home)
