"""No secret anywhere: a registry password and the Slack credentials, used throughout real scenarios,
appear in no log record (DEBUG, every logger), no Slack message, view or API call the bot made,
no audit record, no exception text, no /metrics line and no byte of the database file."""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.approvals import click, request_delete
from tests.support.harness import Harness, podbot_harness

PASSWORD = "Pw-7f3c9e1d-never-shown"
OTHER_PASSWORD = "Pw-2b8a44c0-typed-in-the-channel"
USER = "deployer"

SECRET_MANIFEST = """create
apiVersion: v1
kind: Secret
metadata:
  name: from-yaml
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {encoded}
"""


def dockerconfig(password: str) -> str:
    auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
    config = {"auths": {"10.0.0.130:5000": {"username": USER, "password": password, "auth": auth}}}
    return base64.b64encode(json.dumps(config).encode()).decode()


def forbidden_strings(h: Harness) -> dict[str, str]:
    """Every form in which a secret could leak."""
    slack = h.slack.bot_settings()
    found = {
        "bot token": slack.bot_token,
        "signing secret": slack.signing_secret,
        "app token": slack.app_token,
    }
    for label, password in (("password", PASSWORD), ("channel password", OTHER_PASSWORD)):
        found[label] = password
        found[f"{label} (auth)"] = base64.b64encode(f"{USER}:{password}".encode()).decode()
        found[f"{label} (dockerconfigjson)"] = dockerconfig(password)
    assert all(len(v) >= 12 for v in found.values()), "a short secret would match by accident"
    return found


@pytest.fixture
def uncaught() -> Iterator[list[str]]:
    """Exceptions that escaped a thread (their text counts too)."""
    seen: list[str] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        seen.append(f"{args.exc_type.__name__}: {args.exc_value}")
        previous(args)

    threading.excepthook = hook
    yield seen
    threading.excepthook = previous


def play_scenarios(h: Harness) -> None:
    # 1. The registry secret through the private dialog (the fix button of the seed story).
    assert h.slack.send_command(
        "alice",
        "ops",
        "/pod",
        f"secret docker-registry regcred --docker-server=10.0.0.130:5000 --docker-username={USER}",
    ).ok
    h.slack.wait_for_view("alice")
    result = h.slack.submit_view("alice", values={"password": PASSWORD})
    assert result.closed, result
    h.runtime.pool.wait_idle(10)
    # 2. Someone types a password on the command line (the seed's own line): podbot does not use
    #    it, says so privately, and the private dialog opens with the other fields filled in.
    typed = (
        "secret docker-registry typed --docker-server=10.0.0.130:5000 "
        f"--docker-username={USER} --docker-password={OTHER_PASSWORD}"
    )
    notice = h.command(typed)
    assert notice.is_ephemeral and "did not use the password you typed" in notice.rendered
    view = h.slack.wait_for_view("alice")
    assert {"typed", "10.0.0.130:5000", USER} <= set(json.dumps(view.blocks).split('"'))
    assert h.slack.submit_view("alice", values={"password": PASSWORD}).closed
    h.runtime.pool.wait_idle(10)
    bad = h.command(typed + " --bogus-flag")
    assert bad.is_ephemeral
    # 3. A Secret manifest pasted inline, carrying the password base64-encoded: answered privately
    #    (an in_channel answer would show every member the pasted command).
    pasted = h.command(SECRET_MANIFEST.format(encoded=dockerconfig(PASSWORD)))
    assert "created" in pasted.rendered and pasted.is_ephemeral
    # 4. A pod that uses it, described (events, diagnosis), and the secret deleted after approval.
    h.command("run puller --image=10.0.0.130:5000/nginx:latest")
    h.sim.advance(30)
    h.command("describe pod puller")
    request = request_delete(h, "delete secret regcred --reason rotate")
    click(h, "bob", request, "Approve")
    # 5. Reading the audit log back through Slack.
    h.command("audit --since 1d")


def haystacks(h: Harness, caplog: pytest.LogCaptureFixture, uncaught: list[str]) -> dict[str, str]:
    """Everything podbot wrote or said, by where it was found."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    places: dict[str, str] = {}
    for i, record in enumerate(caplog.records):
        places[f"log {i} ({record.name})"] = formatter.format(record) + repr(record.args)
    ws = h.slack.workspace
    for message in ws.history.all():
        if message.bot_id is None:
            continue  # a person's own typing is judged below, as the rest of the channel sees it
        places[f"message {message.ts}"] = json.dumps([message.text, message.blocks, message.attachments])
    # A bystander in each channel: what carol sees there, including every command Slack shows
    # with an in_channel answer.
    for channel in ("ops", "dev"):
        places[f"#{channel} as a bystander sees it"] = h.slack.transcript(channel, user="carol")
    for call in h.slack.api_calls():
        places[f"api call {call.method} at {call.at}"] = json.dumps(dict(call.args), default=str)
    for event in h.runtime.store.audit.export():
        places[f"audit {event.id}"] = repr(event)
    places["uncaught exceptions"] = "\n".join(uncaught)
    web = h.runtime.web
    assert web is not None
    with urllib.request.urlopen(f"{web.url}/metrics", timeout=5) as response:
        places["/metrics"] = response.read().decode()
    database = Path(h.runtime.settings.database_url.removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):  # the file and its WAL
        places[f"database {path.name}"] = path.read_bytes().decode("latin-1")
    return places


def test_no_secret_in_logs_messages_audit_or_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, uncaught: list[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # root: every logger, ours and the libraries'
    with podbot_harness(tmp_path) as h:
        play_scenarios(h)
        h.runtime.pool.wait_idle(10)
        places = haystacks(h, caplog, uncaught)
        secrets = forbidden_strings(h)
        # The search must be able to find something: the scenarios really ran and were recorded.
        assert any("regcred" in text for where, text in places.items() if where.startswith("audit"))
        assert len(caplog.records) > 100 and any(w.startswith("api call views.open") for w in places)
        leaks = [
            f"{label} in {where}: ...{text[max(0, text.find(value) - 80) : text.find(value) + 20]!r}..."
            for where, text in places.items()
            for label, value in secrets.items()
            if value in text
        ]
        assert not leaks, "\n".join(leaks)
        # And the cluster did get the password from the dialog (the secret is real, only podbot's
        # records are clean), never the one typed on the command line.
        stored: dict[str, Any] = h.sim.store.get("secrets", "default", "typed").load()
        config = base64.b64decode(stored["data"][".dockerconfigjson"]).decode()
        assert PASSWORD in config and OTHER_PASSWORD not in config
