"""Helpers for the approval scenario tests: find the request message, click, count DELETEs at the sim."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from podbot.localslack import Message, payloads
from podbot.sim.cluster import SimCluster
from podbot.store import Approval, ApprovalState
from tests.support.harness import Harness


def request_delete(h: Harness, text: str, *, user: str = "alice", channel: str = "ops") -> Message:
    """``/pod delete ...`` and the request message it posted to the channel."""
    mark = h.slack.mark()
    result = h.slack.send_command(user, channel, "/pod", text)
    assert result.ok, result
    h.runtime.pool.wait_idle(10)
    return h.slack.wait_for_message(channel=channel, contains="Delete request #", after=mark)


def current(h: Harness, message: Message, channel: str = "ops") -> Message:
    """The message as it reads now (after in-place edits)."""
    return next(m for m in h.slack.messages(channel) if m.ts == message.ts)


def click(h: Harness, user: str, message: Message, button: str) -> None:
    """``user`` presses Approve (confirming the dialog) or Deny; returns when the bot is done."""
    result = h.slack.click(user, message, button, confirm=True if button == "Approve" else None)
    assert result.ok, result
    h.runtime.pool.wait_idle(10)


def stale_click(h: Harness, user: str, message: Message, button: str) -> None:
    """A click on an old copy of ``message`` (a client that has not seen the edit yet, or a
    click in flight while another was decided): Slack delivers it as it was pressed."""
    ws = h.slack.workspace
    person = ws.user(user)
    channel = ws.channel(message.channel)
    payload = payloads.block_actions(
        token=ws.verification_token,
        team=ws.team,
        user=person,
        app_id=ws.app_id,
        trigger_id=f"stale.{message.ts}.{person.id}",
        action=payloads.button_action(message.button(button), ws.history.next_ts()),
        container={
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel.id,
            "is_ephemeral": False,
        },
        channel=channel,
        message=message.json,
    )
    reply = h.slack.send_raw(payloads.interaction_body(payload))
    assert reply.ok, reply
    h.runtime.pool.wait_idle(10)


def private_answers(h: Harness, user: str, after: int, channel: str = "ops") -> list[str]:
    """Ephemeral bot messages shown to ``user`` since ``after``."""
    return [
        m.rendered
        for m in h.slack.messages_since(after, user=user)
        if m.is_ephemeral and m.is_bot and m.channel == h.slack.workspace.channel(channel).id
    ]


def approval_of(h: Harness, message: Message) -> Approval:
    """The stored request behind a request message."""
    approvals = h.runtime.store.approvals
    for state in ApprovalState:
        for approval in approvals.in_state(state, limit=1000):
            if approval.message_ts == message.ts:
                return approval
    raise AssertionError(f"no approval for message {message.ts}")


def run_pod(h: Harness, name: str, namespace: str = "default") -> str:
    """A pod created through the bot; returns its uid."""
    flag = f" -n {namespace}" if namespace != "default" else ""
    answer = h.command(f"run {name} --image=nginx:1.16{flag}")
    assert "created" in answer.rendered, answer.rendered
    return str(h.sim.store.get("pods", namespace, name).load()["metadata"]["uid"])


def pod_exists(sim: SimCluster, name: str, namespace: str = "default") -> dict[str, Any] | None:
    found = sim.store.list("pods", namespace, lambda s: s.name == name)[0]
    return found[0].load() if found else None


@contextmanager
def counting_deletes(sim: SimCluster) -> Iterator[list[str]]:
    """Every DELETE request that reaches the simulator's API server (its path), while active."""
    calls: list[str] = []
    original = sim.faults.check

    def check(method: str, path: str, is_watch: bool) -> Any:
        if method == "DELETE":
            calls.append(path)
        return original(method, path, is_watch)

    sim.faults.check = check  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        del sim.faults.check  # type: ignore[method-assign]
