"""Operator commands on the database: ``podbot db upgrade|current`` and ``podbot audit export``.

``podbot.cli`` builds the argument parsers and calls these; the database URL comes from the
settings (DATABASE_URL or the configuration file), which the CLI loads from the environment.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from podbot.core.errors import UsageError
from podbot.core.records import AuditEvent
from podbot.store.store import Store

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime) -> datetime:
    """``1d``, ``12h``, ``30m``, ``2w`` back from ``now``, or an ISO 8601 time (UTC if no offset)."""
    match = _DURATION.match(text.strip())
    if match:
        return now - timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r}: give a duration such as 1d, 12h, 30m, 2w or a time such as 2026-05-01T09:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_json(event: AuditEvent) -> dict[str, Any]:
    """One audit record as a JSON object (times in ISO 8601 UTC)."""
    return {
        "id": event.id,
        "at": event.at.isoformat().replace("+00:00", "Z"),
        "action": str(event.action),
        "team_id": event.team_id,
        "channel_id": event.channel_id,
        "user_id": event.user_id,
        "kube_user": event.kube_user,
        "kube_groups": list(event.kube_groups),
        "context": event.context,
        "namespace": event.namespace,
        "kind": event.kind,
        "name": event.name,
        "uid": event.uid,
        "request_text": event.request_text,
        "outcome": event.outcome,
        "detail": event.detail,
        "approval_id": event.approval_id,
    }


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        yield sys.stdout
        return
    # The audit log names people and objects: the export is readable by its owner only.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(descriptor, "w", encoding="utf-8") as stream:
        yield stream


def audit_export(database_url: str, *, since: str | None, output: str | None, now: datetime) -> int:
    """Write the audit log (from ``since``) as JSON lines; returns how many records were written."""
    start = parse_since(since, now) if since else None
    written = 0
    with Store.open(database_url) as store, _output(output) as stream:
        for event in store.audit.export(since=start):
            stream.write(json.dumps(event_json(event), ensure_ascii=False) + "\n")
            written += 1
    return written


def db_upgrade(database_url: str) -> tuple[str, str | None, str]:
    """Migrate to the newest schema: (database shown without password, revision before, after)."""
    with Store.open(database_url) as store:
        before = store.revision()
        after = store.migrate()
        return store.url, before, after


def db_current(database_url: str) -> tuple[str, str | None]:
    with Store.open(database_url) as store:
        return store.url, store.revision()
