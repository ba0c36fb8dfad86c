"""The audit log: append-only in the database itself, secrets redacted, queries and export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from podbot import cli
from podbot.core.records import Intent
from podbot.store import AuditAction, AuditEvent, AuditQuery, Store, migrations
from podbot.store.audit import MAX_TEXT
from tests.support.stores import T0, Target, open_store, race

PASSWORD = "Hunter2-very-secret"


def event(minutes: int, action: AuditAction = AuditAction.RUN, **fields: object) -> AuditEvent:
    values: dict[str, object] = {
        "team_id": "T1",
        "channel_id": "C-OPS",
        "user_id": "U-ALICE",
        "context": "prod",
        "namespace": "shop",
        "kind": "Pod",
        "name": "web",
        "outcome": "ok",
    }
    values.update(fields)
    return AuditEvent(at=T0 + timedelta(minutes=minutes), action=action, **values)  # type: ignore[arg-type]


def test_record_keeps_every_field(store: Store) -> None:
    original = event(
        0,
        AuditAction.DELETE,
        kube_user="alice@example.com",
        kube_groups=("dev", "oncall"),
        uid="uid-1",
        request_text="delete pod web",
        detail="deleted",
        approval_id=7,
    )
    stored = store.audit.record(original)
    assert stored.id is not None
    assert stored == AuditEvent(**{**original.__dict__, "id": stored.id})
    assert store.audit.query() == [stored]
    with pytest.raises(ValueError, match="already has an id"):
        store.audit.record(stored)


def test_the_database_refuses_update_and_delete(store: Store) -> None:
    stored = store.audit.record(event(0, request_text="run nginx"))
    for statement in (
        "UPDATE audit_events SET outcome = 'forged'",
        "DELETE FROM audit_events",
        *(["TRUNCATE audit_events"] if store.dialect == "postgresql" else []),
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as connection:
            connection.execute(text(statement))
    assert store.audit.query() == [stored]


def test_secrets_never_reach_the_table(store: Store) -> None:
    texts = [
        f"secret docker-registry regcred --docker-server=10.0.0.130:5000 --docker-username=bob "
        f"--docker-password={PASSWORD} --docker-email=bob@example.com",
        f"secret docker-registry regcred --docker-password '{PASSWORD}'",
        f"create\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {PASSWORD}\n",
        f"create\npassword: {PASSWORD}",
        f'{{"kind": "Secret", "data": {{"token": "{PASSWORD}"}}}}',
    ]
    for request_text in texts:
        stored = store.audit.record(
            event(0, AuditAction.SECRET_CREATE, request_text=request_text, detail=f"password={PASSWORD}")
        )
        assert PASSWORD not in stored.request_text and PASSWORD not in stored.detail
        assert "***" in stored.request_text
    with store.engine.connect() as connection:
        raw = connection.execute(text("SELECT request_text, detail FROM audit_events")).all()
    assert len(raw) == len(texts)
    assert all(PASSWORD not in column for row in raw for column in row)
    # What is not secret stays readable.
    assert "--docker-server=10.0.0.130:5000 --docker-username=bob" in raw[0][0]


def test_long_text_is_capped(store: Store) -> None:
    stored = store.audit.record(event(0, request_text="x" * (MAX_TEXT * 3)))
    assert len(stored.request_text) == MAX_TEXT
    assert store.audit.query()[0].request_text == stored.request_text


def test_query_filters_newest_first(store: Store) -> None:
    store.audit.record(event(0, user_id="U-ALICE", namespace="shop"))
    store.audit.record(event(10, AuditAction.DELETE_REQUEST, user_id="U-BOB", namespace="shop"))
    store.audit.record(event(20, user_id="U-ALICE", namespace="billing", channel_id="C-DEV"))
    store.audit.record(event(30, AuditAction.APPROVE, user_id="U-CAROL", namespace="shop"))

    def minutes(query: AuditQuery | None = None) -> list[int]:
        return [int((e.at - T0).total_seconds() // 60) for e in store.audit.query(query)]

    assert minutes() == [30, 20, 10, 0]
    assert minutes(AuditQuery(user_id="U-ALICE")) == [20, 0]
    assert minutes(AuditQuery(since=T0 + timedelta(minutes=10))) == [30, 20, 10]
    assert minutes(AuditQuery(namespace="shop")) == [30, 10, 0]
    assert minutes(AuditQuery(channel_id="C-DEV")) == [20]
    assert minutes(AuditQuery(action=AuditAction.APPROVE)) == [30]
    assert minutes(AuditQuery(user_id="U-ALICE", namespace="shop")) == [0]
    assert minutes(AuditQuery(limit=2)) == [30, 20]
    assert minutes(AuditQuery(user_id="U-NOBODY")) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        store.audit.query(AuditQuery(since=datetime(2026, 5, 9)))


def test_export_streams_everything_in_order_in_batches(store: Store) -> None:
    written = [store.audit.record(event(i)) for i in range(7)]
    assert list(store.audit.export(batch_size=3)) == written
    assert list(store.audit.export(batch_size=7)) == written  # a full last batch ends cleanly
    assert list(store.audit.export(since=T0 + timedelta(minutes=5), batch_size=2)) == written[5:]


def test_cli_exports_json_lines_since_a_duration(
    target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", target.database_url)
    assert cli.main(["db", "upgrade"]) == 0
    assert "schema revision" in capsys.readouterr().out
    now = datetime.now(UTC)
    with open_store(target, migrate=False) as store:
        store.audit.record(AuditEvent(at=now - timedelta(days=3), action=AuditAction.RUN, user_id="U-OLD"))
        store.audit.record(
            AuditEvent(
                at=now - timedelta(hours=1),
                action=AuditAction.SECRET_CREATE,
                user_id="U-NEW",
                request_text=f"--docker-password={PASSWORD}",
            )
        )

    assert cli.main(["audit", "export"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["user_id"] for line in lines] == ["U-OLD", "U-NEW"]

    output = tmp_path / "audit.jsonl"
    assert cli.main(["audit", "export", "--since", "1d", "--output", str(output)]) == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(r["user_id"], r["action"]) for r in records] == [("U-NEW", "secret_create")]
    assert records[0]["request_text"] == "--docker-password=***"
    assert records[0]["at"].endswith("Z")
    assert output.stat().st_mode & 0o077 == 0  # only the owner may read it

    assert cli.main(["audit", "export", "--since", "yesterday"]) == 1
    assert "--since 'yesterday'" in capsys.readouterr().err

    # The URL may come from the configuration file instead.
    monkeypatch.delenv("DATABASE_URL")
    config = tmp_path / "podbot.yaml"
    config.write_text(f"database_url: {json.dumps(target.database_url)}\n")
    assert cli.main(["db", "current", "--config", str(config)]) == 0
    assert f"schema revision {migrations.head()}" in capsys.readouterr().out


# --- intents --------------------------------------------------------------------------------------
def intent(minutes: int, **fields: object) -> Intent:
    values: dict[str, object] = {"action": AuditAction.RUN, "kind": "Pod", "name": "web", "namespace": "shop"}
    values.update(fields)
    return Intent(started_at=T0 + timedelta(minutes=minutes), **values)  # type: ignore[arg-type]


def test_an_intent_is_settled_once_together_with_its_outcome_record(target: Target) -> None:
    with open_store(target, migrate=False) as first, open_store(target, migrate=False) as second:
        written = first.audit.intend(
            intent(
                0,
                request_text=f"secret docker-registry regcred --docker-password={PASSWORD}",
                owner="replica-a",
            )
        )
        assert written.id is not None and written.settled_at is None and written.owner == "replica-a"
        assert PASSWORD not in written.request_text
        assert second.audit.unsettled(T0 + timedelta(minutes=5)) == [written]
        assert second.audit.unsettled(T0 - timedelta(minutes=1)) == []  # started later: still running
        # Two replicas' recoveries race to settle it: one record, one winner.
        outcome = event(3, outcome="created", detail="recovered")
        results = race([lambda s=s: s.audit.settle(written.id or 0, outcome) for s in (first, second) * 3])
        assert len([r for r in results if r is not None]) == 1
        assert [e.outcome for e in first.audit.query()] == ["created"]
        assert first.audit.unsettled(T0 + timedelta(hours=1)) == []


def test_approval_intents_are_found_by_approval_and_left_to_its_recovery(store: Store) -> None:
    first = store.audit.intend(intent(0, action=AuditAction.DELETE, uid="uid-1", approval_id=7))
    again = store.audit.intend(intent(1, action=AuditAction.DELETE, uid="uid-1", approval_id=7))
    assert store.audit.unsettled(T0 + timedelta(hours=1)) == []  # the approval sweeper's, not recovery's
    assert store.audit.intent_of(7) == again and store.audit.intent_of(8) is None
    assert first.id != again.id


def test_pin_and_close_change_only_an_open_intent(store: Store) -> None:
    planned = store.audit.intend(intent(0, action=AuditAction.DELETE))
    store.audit.pin(planned.id or 0, "uid-9")
    assert store.audit.unsettled(T0 + timedelta(hours=1))[0].uid == "uid-9"
    assert store.audit.close(planned.id or 0, "unchanged", T0)
    assert not store.audit.close(planned.id or 0, "unchanged", T0)
    store.audit.pin(planned.id or 0, "uid-other")  # settled: no longer changed
    assert store.audit.unsettled(T0 + timedelta(hours=1)) == []
    assert store.audit.query() == []  # closing writes no audit record
