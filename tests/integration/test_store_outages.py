"""The database going away: a clean start-up error, and reconnection once it answers again."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from podbot import cli
from podbot.core.records import AuditAction, AuditEvent
from podbot.store import Store
from tests.support.net import free_port
from tests.support.stores import libpq_url, postgres_or_skip, postgres_schema


def start_up_env() -> dict[str, str]:
    """What ``podbot serve`` is started with: a database nothing listens on, and Slack settings."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": f"postgresql://podbot:hunter2@127.0.0.1:{free_port()}/podbot",
        "SLACK_BOT_TOKEN": "xoxb-1-startup-test",
        "SLACK_SIGNING_SECRET": "startup-test-secret",
    }


def test_an_unreachable_database_at_start_up_is_one_error_and_a_non_zero_exit(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``podbot serve``'s start-up in this process (the test below runs the whole process)."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in start_up_env().items():
        monkeypatch.setenv(name, value)
    # serve leaves this process's malloc (tune_malloc) and niceness (no ack front) alone then; the
    # subprocess test below starts the whole thing, front included
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", str(128 * 1024))
    monkeypatch.setenv("PODBOT_ACK_FRONT", "0")
    with caplog.at_level(logging.INFO):
        assert cli.main(["serve", "--port", "0"]) == 2
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1, lines
    assert caplog.records[0].levelno == logging.ERROR
    assert "cannot start: cannot reach the database postgresql+psycopg://podbot:***@127.0.0.1:" in lines[0]
    assert "Connection refused" in lines[0]
    assert "hunter2" not in lines[0] and "Traceback" not in lines[0]


@pytest.mark.slow  # a whole podbot process (~1 s of imports)
def test_an_unreachable_database_at_start_up_is_one_clear_line_and_a_non_zero_exit() -> None:
    env = start_up_env()
    run = subprocess.run(
        [sys.executable, "-m", "podbot", "serve", "--port", "0"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert run.returncode == 2, lines
    assert len(lines) == 1, lines
    assert "cannot start: cannot reach the database postgresql+psycopg://podbot:***@127.0.0.1:" in lines[0]
    assert "Connection refused" in lines[0]
    assert "hunter2" not in lines[0] and "Traceback" not in lines[0]


def test_the_store_reconnects_after_postgresql_drops_its_connections() -> None:
    url = postgres_or_skip()
    with postgres_schema() as schema, Store.open(url, schema=schema, pool_size=1) as store:
        store.migrate()
        before = store.audit.record(AuditEvent(at=datetime.now(UTC), action=AuditAction.RUN, name="a"))
        with store.engine.connect() as connection:  # the pool's one connection
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # A failover or a restart of PostgreSQL: the server ends the pooled connection.
        with psycopg.connect(libpq_url(url), autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        after = store.audit.record(AuditEvent(at=datetime.now(UTC), action=AuditAction.RUN, name="b"))
        assert before.id is not None and after.id is not None and after.id > before.id
        assert [e.name for e in store.audit.query()] == ["b", "a"]
