"""An alert post whose outcome Slack did not confirm is settled from the post ledger, never posted
blindly again (issue: reliability, item 3 for alerts). The real app over HTTP, podbot.sim at speed 0.

The alert store hands ``must_post`` again once its post lease (5 minutes) has passed without a
recorded ts; the reconciler then takes the ts from the ledger (Slack's message_metadata_posted
event) or, the grace (``digests.settle_seconds``) being over, posts again.
"""

from __future__ import annotations

from pathlib import Path

from podbot.localslack import Message
from tests.support.harness import Harness, podbot_harness
from tests.support.seed import SEED_POD
from tests.support.waits import wait_until

SEED_CREATE = "create\n" + SEED_POD
POST_LEASE = 5 * 60


def advance(h: Harness, seconds: float) -> None:
    h.sim.advance(seconds)
    h.runtime.wakeup()


def alert_messages(h: Harness) -> list[Message]:
    return [
        m
        for m in h.slack.messages("ops", threads=False)
        if m.is_bot and not m.is_ephemeral and "image pull failure" in m.rendered
    ]


def alert_posts(h: Harness) -> int:
    calls = h.slack.api_calls("chat.postMessage")
    return sum(1 for call in calls if "podbot_alert" in str(call.args.get("metadata", "")))


def recorded_ts(h: Harness) -> str | None:
    (alert,) = h.runtime.store.alerts.open_alerts(h.slack.workspace.channel("ops").id)
    return alert.message_ts


def failing_pod(h: Harness) -> None:
    """Alerts on in #ops, then a pod whose image cannot be pulled; the fan-out looks."""
    assert "Real-time alerts are on" in h.command("alerts on").rendered
    h.command(SEED_CREATE)


def test_an_alert_stored_then_answered_503_is_recorded_from_the_event_not_posted_twice(
    tmp_path: Path,
) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        failing_pod(h)
        h.slack.faults.store_then_fail("chat.postMessage", status=503)
        advance(h, 60)
        wait_until(lambda: alert_posts(h) == 1, 10, "the alert post")
        assert h.slack.events.wait_idle()
        h.runtime.alerts.settle(10)
        assert recorded_ts(h) is None  # Slack did not say: nothing recorded yet, nothing re-posted
        advance(h, POST_LEASE + 60)
        wait_until(lambda: recorded_ts(h) is not None, 10, "the recorded alert")
        (alert,) = alert_messages(h)
        assert recorded_ts(h) == alert.ts and alert_posts(h) == 1


def test_an_alert_post_that_was_really_lost_is_posted_once_after_the_grace(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        failing_pod(h)
        h.slack.faults.http_status("chat.postMessage", 503)  # answered 503, not stored
        advance(h, 60)
        wait_until(lambda: alert_posts(h) == 1, 10, "the first try")
        h.runtime.alerts.settle(10)
        assert alert_messages(h) == [] and alert_posts(h) == 1  # no blind retry
        advance(h, POST_LEASE + 60)
        wait_until(lambda: recorded_ts(h) is not None, 10, "the second try")
        (alert,) = alert_messages(h)
        assert recorded_ts(h) == alert.ts and alert_posts(h) == 2


def test_an_unconfirmed_alert_that_clears_is_edited_resolved_from_the_ledger(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        failing_pod(h)
        h.slack.faults.store_then_fail("chat.postMessage", status=503)
        advance(h, 60)
        wait_until(lambda: alert_posts(h) == 1, 10, "the alert post")
        assert h.slack.events.wait_idle()
        h.runtime.alerts.settle(10)
        (alert,) = alert_messages(h)
        assert recorded_ts(h) is None  # only the ledger knows its ts (from the event)
        # The problem goes away before the alert store hands the post out again.
        h.sim.store.delete("pods", "default", "nginx")
        advance(h, 60)

        def resolved() -> bool:
            current = next(m for m in h.slack.messages("ops") if m.ts == alert.ts)
            return current.edited and "Resolved" in current.rendered

        wait_until(resolved, 10, "the alert edited to resolved")
        assert h.runtime.store.alerts.open_alerts() == [] and alert_posts(h) == 1
