"""Schema migrations and database set-up: upgrades keep data, schema.py matches the migrations,
concurrent start-ups migrate once, and URLs/engines are configured as documented."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import setuptools
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from podbot.core.errors import ConfigError
from podbot.core.model import DigestKind
from podbot.core.records import ApprovalAction, DeleteTarget
from podbot.store import (
    ApprovalState,
    AuditAction,
    AuditEvent,
    ChannelSettings,
    Requester,
    Schedule,
    SchemaTooNew,
    Store,
    StoreUnavailable,
    migrations,
)
from podbot.store.database import Database, display_url, parse_url
from podbot.store.schema import metadata
from tests.support.stores import (
    DB_KINDS,
    POSTGRES_URL,
    T0,
    Target,
    libpq_url,
    make_target,
    open_store,
    postgres_schema,
    race,
)

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "approvals",
    "audit_events",
    "intents",
    "channel_settings",
    "subscriptions",
    "post_claims",
    "alerts",
    "leases",
    "post_ledger",
}
POD = DeleteTarget(context="prod", kind="Pod", namespace="shop", name="web", uid="uid-1")


@pytest.fixture(params=DB_KINDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    with make_target(request.param, tmp_path) as made:
        yield made


def db_of(store: Store) -> Database:
    return Database(store.engine)


def tables(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names()) - {"alembic_version"}


FIRST_REVISION_APPROVAL = text(
    "INSERT INTO approvals (state, created_at, expires_at, team_id, channel_id, user_id, context, kind, "
    "namespace, name, uid, decided_by, decided_at) VALUES ('approved', :t0, :t1, 'T1', 'C-OPS', 'U-A', "
    ":context, :kind, :namespace, :name, :uid, 'U-B', :t0)"
)


def fill(store: Store, *, first_revision: bool = False) -> None:
    """A row in every table (an approval as revision 0001 stored it, with ``first_revision``)."""
    if first_revision:
        with store.engine.begin() as connection:
            connection.execute(
                FIRST_REVISION_APPROVAL,
                {
                    "t0": T0,
                    "t1": T0 + timedelta(hours=1),
                    "context": POD.context,
                    "kind": POD.kind,
                    "namespace": POD.namespace,
                    "name": POD.name,
                    "uid": POD.uid,
                },
            )
        approval_id = 1
    else:
        approval = store.approvals.create(
            POD, Requester("T1", "C-OPS", "U-A"), now=T0, expires_at=T0 + timedelta(hours=1)
        )
        store.approvals.decide(approval.id, ApprovalState.APPROVED, "U-B", T0)
        approval_id = approval.id
    store.audit.record(AuditEvent(at=T0, action=AuditAction.APPROVE, user_id="U-B", approval_id=approval_id))
    store.channels.save(ChannelSettings(channel_id="C-OPS", default_namespace="shop"), by="U-A", now=T0)
    sub = store.subscriptions.create(
        team_id="T1",
        channel_id="C-OPS",
        kind=DigestKind.HEALTH,
        schedule=Schedule(every_seconds=3600),
        created_by="U-A",
        now=T0,
    )
    claim = store.claims.claim_post(sub.id, T0, "replica-a", now=T0)
    assert claim is not None
    store.claims.mark_posted(claim, "1.1", now=T0, fingerprints=["f1"])
    store.alerts.observe("C-OPS", "crash:shop/web", T0)
    store.leases.acquire("single-replica", "pod-a", T0, timedelta(minutes=1))


def assert_filled(store: Store) -> None:
    approval = store.approvals.get(1)
    assert approval is not None and approval.state is ApprovalState.APPROVED and approval.target == POD
    assert (approval.action, approval.manifest, approval.violations) == (ApprovalAction.DELETE, None, ())
    assert [e.approval_id for e in store.audit.query()] == [1]
    settings = store.channels.get("C-OPS")
    assert settings is not None and settings.default_namespace == "shop"
    (sub,) = store.subscriptions.active()
    assert sub.last_fingerprints == frozenset({"f1"})
    claim = store.claims.get(sub.id, T0)
    assert claim is not None and claim.message_ts == "1.1"
    assert store.alerts.get("C-OPS", "crash:shop/web") is not None
    assert store.leases.get("single-replica") is not None


def test_a_fresh_database_is_migrated_to_the_head(target: Target) -> None:
    with open_store(target, migrate=False) as store:
        assert store.revision() is None
        assert store.migrate() == migrations.head()
        assert store.revision() == migrations.head()
        assert tables(store) == TABLES


def test_the_head_podbot_knows_without_alembic_is_alembics_head() -> None:
    assert migrations.head() == migrations.HEAD  # a new revision must update HEAD too


def test_a_start_on_a_current_schema_does_not_load_alembic(target: Target) -> None:
    # Every start but a new podbot's first finds the schema current: Alembic (and Mako) would only
    # sit in the bot's memory. A fresh interpreter opens the migrated database as `podbot serve` does.
    with open_store(target):
        pass
    program = (
        "import sys\n"
        "from podbot.store import Store\n"
        f"store = Store.open({target.url!r}, schema={target.schema!r})\n"
        "print(store.migrate())\n"
        "store.close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.split("\n")[:2] == [migrations.HEAD, "[]"], done.stdout + done.stderr


def test_upgrade_from_the_first_revision_keeps_every_row(target: Target) -> None:
    # Revision 0002 (approvals for creates) runs over a database full of 0001's rows.
    with open_store(target, migrate=False) as store:
        assert migrations.upgrade(db_of(store), "0001", schema=target.schema) == "0001"
        fill(store, first_revision=True)
        assert store.migrate() == migrations.head()
        assert_filled(store)
    with open_store(target) as reopened:  # migrate again from a new process: nothing changes
        assert reopened.migrate() == migrations.head()
        assert_filled(reopened)


def test_downgrade_and_upgrade_round_trip(target: Target) -> None:
    with open_store(target) as store:
        fill(store)
        migrations.downgrade(db_of(store), "base")
        assert store.revision() is None
        assert tables(store) == set()
        store.migrate()
        assert tables(store) == TABLES
        assert store.audit.query() == []
        # The append-only triggers came back with the table.
        store.audit.record(AuditEvent(at=T0, action=AuditAction.RUN))
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_events"))


def test_schema_module_matches_the_migrations(target: Target) -> None:
    with open_store(target) as store, store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_a_database_from_a_newer_podbot_is_refused(target: Target) -> None:
    with open_store(target) as store:
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaTooNew, match="9999"):
            store.migrate()


def test_replicas_starting_together_migrate_once(target: Target) -> None:
    stores = [target.open() for _ in range(3)]
    try:
        assert race([store.migrate for store in stores]) == [migrations.head()] * 3
        assert tables(stores[0]) == TABLES
    finally:
        for store in stores:
            store.close()


def test_migrate_creates_the_postgresql_schema() -> None:
    with postgres_schema() as name:
        with psycopg.connect(libpq_url(POSTGRES_URL), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{name}"')  # type: ignore[arg-type]
        with (
            open_store(Target("postgresql", POSTGRES_URL, name)) as store,
            store.engine.connect() as connection,
        ):
            assert tables(store) == TABLES
            assert connection.execute(text("SELECT current_schema()")).scalar() == name


def test_migrations_ship_as_packages() -> None:
    # setuptools only packages directories it finds as packages (pyproject: packages.find).
    found = setuptools.find_packages(str(ROOT), include=["podbot*"])
    assert {"podbot.store.migrations", "podbot.store.migrations.versions"} <= set(found)


# --- URLs and engines ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@db:5432/podbot", "postgresql+psycopg"),
        ("postgres://u@db/podbot", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/podbot", "postgresql+psycopg"),
    ],
)
def test_postgresql_urls_use_psycopg(url: str, driver: str) -> None:
    assert parse_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://u@db/podbot", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@db/podbot", "unsupported database"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:////no/such/directory/podbot.sqlite3", "does not exist"),
        ("not a url", "not a database URL"),
    ],
)
def test_bad_urls_are_named(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Store.open(url)


def test_passwords_never_show() -> None:
    assert (
        display_url(parse_url("postgresql://podbot:s3cr3t@db/podbot"))
        == "postgresql+psycopg://podbot:***@db/podbot"
    )
    store = Store.open("postgresql://podbot:s3cr3t@127.0.0.1:1/podbot")
    assert "s3cr3t" not in store.url
    store.close()


def test_schema_is_for_postgresql_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        Store.open(f"sqlite:///{tmp_path}/x.sqlite3", schema="podbot")
    with pytest.raises(ConfigError, match="letters, digits"):
        Store.open("postgresql://u@127.0.0.1:1/db", schema="x; DROP TABLE y")


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path}/podbot.sqlite3") as store, store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000


def test_an_unreachable_database_is_reported_not_raised_raw() -> None:
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Store.open(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test") as store:
        assert store.ping() is False
        with pytest.raises(StoreUnavailable, match="unavailable"):
            store.approvals.get(1)


def test_ping_answers_when_the_database_does(target: Target) -> None:
    with open_store(target, migrate=False) as store:
        assert store.ping() is True
