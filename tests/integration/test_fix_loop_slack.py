"""The image-pull fix loop through Slack (issue 13, items 1-3): podbot.localslack -> signed HTTP ->
the real bolt app -> the pipeline -> podbot.sim, on simulated time. Each step is what a user does
(a command, a button, a dialog) and what they read back.

The registry is the seed's 10.0.0.130:5000 (user test, password 123456).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from podbot.core.records import AuditAction
from podbot.localslack import Message
from tests.support.harness import Harness, podbot_harness
from tests.support.seed import SEED_POD

SEED_CREATE = "create\n" + SEED_POD
UNNAMED_CREATE = SEED_CREATE.replace("  imagePullSecrets:\n    - name: myregistrykey\n", "")
# #ops may change things (an unlisted channel may only look); #dev may only look.
CONFIG = """
channels:
  - channel: "#ops"
  - channel: "#dev"
    verbs: [get, describe]
"""
OPEN_SECRET_DIALOG = "secret docker-registry {name} --docker-server=10.0.0.130:5000 --docker-username=test"


def advance(h: Harness, seconds: float) -> None:
    h.sim.advance(seconds)
    h.runtime.wakeup()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("the condition did not become true in time")


def phase(h: Harness, name: str = "nginx") -> str:
    return str(h.sim.store.get("pods", "default", name).load()["status"].get("phase"))


def submit_and_read(h: Harness, user: str, values: dict[str, str]) -> Message:
    """Submit the dialog that is open for ``user``; the bot's answer in #ops."""
    mark = h.slack.mark()
    result = h.slack.submit_view(user, values=values)
    assert not result.errors, result
    h.runtime.pool.wait_idle(10)
    return h.slack.wait_for_message(channel="ops", from_bot=True, after=mark, timeout=10)


def create_secret_through_the_dialog(h: Harness, name: str, password: str) -> Message:
    assert h.slack.send_command("alice", "ops", "/pod", OPEN_SECRET_DIALOG.format(name=name)).ok
    h.slack.wait_for_view("alice")
    return submit_and_read(h, "alice", {"username": "test", "password": password})


def test_seed_pod_alert_then_secret_then_found_not_delete_it(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0, config=CONFIG) as h:
        h.command("alerts on")
        mark = h.slack.mark()
        h.command(SEED_CREATE)
        advance(h, 60)
        # Step 1: the alert names the missing secret, with the one button that creates it.
        alert = h.slack.wait_for_message(channel="ops", contains="image pull failure", after=mark, timeout=10)
        assert "the pod's image pull secret myregistrykey does not exist" in alert.rendered
        assert alert.has_button("Create secret myregistrykey")

        # Step 2: describe says the same; its button opens the secret dialog, which creates it.
        described = h.command("describe pod nginx")
        assert "myregistrykey does not exist in namespace default" in described.rendered
        h.slack.click("alice", described, "Create secret myregistrykey")
        view = h.slack.wait_for_view("alice")
        assert "10.0.0.130:5000" in str(view.json)
        created = submit_and_read(h, "alice", {"username": "test", "password": "123456"})
        assert "secret myregistrykey created" in created.rendered and "123456" not in created.rendered

        # Step 3: describe at once: found, the kubelet retries; never "delete it" or "holds no login".
        mark = h.slack.mark()
        again = h.command("describe pod nginx")
        assert "Found: the kubelet has not tried it yet and retries" in again.rendered, again.rendered
        assert "delete" not in again.rendered.split("```")[0].lower()
        assert "holds no login" not in again.rendered
        assert not again.has_button("Create secret myregistrykey")
        # ... and the alert stays the one alert, open: the login is being fixed, the pod not yet running.
        advance(h, 1)
        assert h.runtime.alerts.settle(10)  # one whole sweep after the jump
        assert [m.ts for m in h.slack.messages_since(mark) if "image pull failure" in m.rendered] == []
        assert [a.message_ts for a in h.runtime.store.alerts.open_alerts()] == [alert.ts]

        # Step 4: the back-off runs out, the same pod pulls and runs; the alert resolves.
        advance(h, 300)
        eventually(lambda: phase(h) == "Running")
        h.runtime.wakeup()

        def resolved() -> bool:
            current = next(m for m in h.slack.messages("ops") if m.ts == alert.ts)
            return current.edited and "Resolved" in current.rendered

        eventually(resolved)


def test_wrong_password_is_replaced_through_the_login_dialog(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0, config=CONFIG) as h:
        # Step 1: a secret with a wrong password; the registry refuses it.
        create_secret_through_the_dialog(h, "myregistrykey", "wrong-password")
        h.command(SEED_CREATE)
        advance(h, 60)
        described = h.command("describe pod nginx")
        assert "refused the login in secret myregistrykey" in described.rendered
        assert described.has_button("Replace the login in myregistrykey")
        assert not described.has_button("Create secret myregistrykey")  # it exists: no "already exists"

        # Step 2: the button opens the private login dialog for that secret and registry.
        h.slack.click("alice", described, "Replace the login in myregistrykey")
        view = h.slack.wait_for_view("alice")
        assert "10.0.0.130:5000" in str(view.json) and "myregistrykey" in str(view.json)
        replaced = submit_and_read(h, "alice", {"username": "test", "password": "123456"})
        assert "secret myregistrykey updated in namespace default" in replaced.rendered
        assert not replaced.is_ephemeral  # a change: the channel sees it
        for secret_text in ("123456", "wrong-password"):
            assert secret_text not in replaced.rendered
        (record,) = [e for e in h.runtime.store.audit.query() if e.action is AuditAction.SECRET_REPLACE]
        assert (record.kind, record.name, record.outcome) == ("Secret", "myregistrykey", "updated")
        assert "--replace" in record.request_text and "123456" not in record.request_text

        # Step 3: describe at once: found; the next pull uses it and the pod runs.
        again = h.command("describe pod nginx")
        assert "Found: the kubelet has not tried it yet" in again.rendered, again.rendered
        advance(h, 320)
        eventually(lambda: phase(h) == "Running")


def test_unattached_secret_is_attached_with_one_confirmed_click(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0, config=CONFIG) as h:
        create_secret_through_the_dialog(h, "regcred-10-0-0-130-5000", "123456")
        h.command(UNNAMED_CREATE)
        advance(h, 60)
        # Step 1: the secret exists, nothing refers to it: attach, not "create" (it would fail).
        described = h.command("describe pod nginx")
        assert "neither the pod nor its service account default refers to it" in described.rendered
        assert described.has_button("Attach regcred-10-0-0-130-5000 to default")
        assert not described.has_button("Create secret regcred-10-0-0-130-5000")

        # Step 2: a click asks first; declining changes nothing, confirming attaches it.
        declined = h.slack.click(
            "alice", described, "Attach regcred-10-0-0-130-5000 to default", confirm=False
        )
        assert not declined.sent
        mark = h.slack.mark()
        h.slack.click("alice", described, "Attach regcred-10-0-0-130-5000 to default", confirm=True)
        h.runtime.pool.wait_idle(10)
        attached = h.slack.wait_for_message(channel="ops", from_bot=True, after=mark, timeout=10)
        assert "serviceaccount default updated in namespace default" in attached.rendered
        account = h.sim.store.get("serviceaccounts", "default", "default").load()
        assert {"name": "regcred-10-0-0-130-5000"} in account["imagePullSecrets"]
        assert any(e.action is AuditAction.PULL_SECRET_ATTACH for e in h.runtime.store.audit.query())

        # Step 3: describe: the account has it, this pod predates that: recreate it.
        again = h.command("describe pod nginx")
        assert "keeps the pull secrets it was created with" in again.rendered
        assert "/pod delete pod nginx -n default" in again.rendered


def test_the_buttons_obey_the_channel_policy(tmp_path: Path) -> None:
    # #dev may read but not change secrets: the login dialog does not even open there.
    with podbot_harness(tmp_path, speed=0, config=CONFIG) as h:
        create_secret_through_the_dialog(h, "myregistrykey", "wrong-password")
        h.command(SEED_CREATE)
        advance(h, 60)
        described = h.command("describe pod nginx", channel="dev")
        assert described.has_button("Replace the login in myregistrykey")
        mark = h.slack.mark()
        h.slack.click("alice", described, "Replace the login in myregistrykey")
        h.runtime.pool.wait_idle(10)
        refused = h.slack.wait_for_message(channel="dev", user="alice", from_bot=True, after=mark, timeout=10)
        assert "may not use `secret`" in refused.rendered
        assert h.slack.current_view("alice") is None  # no login dialog opened
        assert not any("podbot_login" in str(call.args) for call in h.slack.api_calls("views.open"))


def test_the_typed_replace_command_opens_the_same_private_dialog(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0, config=CONFIG) as h:
        create_secret_through_the_dialog(h, "myregistrykey", "wrong-password")
        text = "secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 --replace"
        assert h.slack.send_command("alice", "ops", "/pod", text).ok
        view = h.slack.wait_for_view("alice", predicate=lambda v: "podbot_login" in str(v.json))
        assert "myregistrykey" in str(view.json) and "10.0.0.130:5000" in str(view.json)
        replaced = submit_and_read(h, "alice", {"username": "test", "password": "123456"})
        assert "secret myregistrykey updated in namespace default" in replaced.rendered
        assert "🔄 secret myregistrykey updated" in replaced.rendered
        # A secret that does not exist: the dialog's answer says so, privately, and what to do.
        text = "secret docker-registry nosuch --docker-server=10.0.0.130:5000 --replace"
        assert h.slack.send_command("alice", "ops", "/pod", text).ok
        h.slack.wait_for_view("alice", predicate=lambda v: "nosuch" in str(v.json))
        mark = h.slack.mark()
        assert not h.slack.submit_view("alice", values={"username": "test", "password": "123456"}).errors
        h.runtime.pool.wait_idle(10)
        refused = h.slack.wait_for_message(channel="ops", user="alice", after=mark, timeout=10)
        assert refused.is_ephemeral
        assert "Secret nosuch does not exist in namespace default" in refused.rendered
        assert "123456" not in refused.rendered
