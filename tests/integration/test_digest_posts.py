"""A digest post whose outcome Slack did not confirm is settled, never posted blindly again
(issue: reliability, items 3 and 7).

Slack may store a message and then answer 5xx, drop the connection or time out. podbot's post of a
digest is not retried by the Slack client (only a 429 is: Slack took nothing); the claim is kept
and settled by the sweep ``digests.settle_seconds`` later from the post ledger, which Slack's
``message_metadata_posted`` event (through the real bolt app) marks posted. Nothing here reads
``conversations.history``. Simulated time (speed 0) with ``advance``; the real app over HTTP or
Socket Mode against podbot.localslack.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from podbot.core.records import Claim
from podbot.jobs.digests import METADATA_EVENT, digest_key
from podbot.localslack import NON_MARKETPLACE, Message, Workspace
from podbot.localslack.delivery import HttpDelivery
from podbot.slack.web_client import make_web_client
from podbot.store import Subscription
from tests.support.harness import Harness, podbot_harness
from tests.support.localslack import ManualClock
from tests.support.stores import DatabaseCut
from tests.support.waits import wait_until

HOUR = 3600
SETTLE = 120  # digests.settle_seconds' default


def advance(h: Harness, seconds: float) -> None:
    h.sim.advance(seconds)
    h.runtime.wakeup()


def digests(h: Harness) -> list[Message]:
    return [
        m
        for m in h.slack.messages("ops", threads=False)
        if m.is_bot and not m.is_ephemeral and "Pod health" in m.rendered
    ]


def digest_posts(h: Harness) -> int:
    return sum(1 for call in h.slack.api_calls("chat.postMessage") if call.args.get("metadata"))


def claim_of(h: Harness, sub: Subscription, due: datetime) -> Claim | None:
    return h.runtime.store.claims.get(sub.id, due)


def posted(h: Harness, sub: Subscription, due: datetime) -> bool:
    claim = claim_of(h, sub, due)
    return claim is not None and claim.posted_at is not None


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with podbot_harness(tmp_path, speed=0) as harness:
        yield harness


def subscribe(h: Harness) -> tuple[Subscription, datetime]:
    """An hourly health digest in #ops, and its first run time."""
    h.command("subscribe health --every 1h")
    (sub,) = h.runtime.store.subscriptions.for_channel(h.slack.workspace.channel("ops").id)
    due = h.runtime.scheduler.next_run(sub)
    assert due is not None
    return sub, due


def settle_after_uncertain(h: Harness, sub: Subscription, due: datetime) -> Message:
    """Fire the digest, see its post left uncertain, then settle it; the one digest message."""
    advance(h, (due - h.sim.clock.now()).total_seconds())
    wait_until(lambda: digest_posts(h) == 1, 10, "the digest post")
    h.slack.events.wait_idle()
    wait_until(lambda: claim_of(h, sub, due) is not None, 10, "the claim")
    assert not posted(h, sub, due)  # uncertain: kept, neither posted nor released
    assert h.runtime.digests.scheduler.settle(10)  # no maintenance run still busy (see below)
    advance(h, SETTLE + 60)  # past the grace, and a maintenance sweep is due
    wait_until(lambda: posted(h, sub, due), 10, "the settled claim")
    (digest,) = digests(h)
    return digest


@pytest.mark.parametrize("fault", ["store_then_fail", "store_then_drop"])
def test_a_digest_slack_stored_but_did_not_confirm_is_settled_from_the_event_not_posted_twice(
    h: Harness, fault: str
) -> None:
    sub, due = subscribe(h)
    if fault == "store_then_fail":
        h.slack.faults.store_then_fail("chat.postMessage", status=503)
    else:
        h.slack.faults.store_then_drop("chat.postMessage")
    digest = settle_after_uncertain(h, sub, due)
    assert digest_posts(h) == 1  # no retry by the Slack client, none by the sweep
    claim = claim_of(h, sub, due)
    assert claim is not None and claim.message_ts == digest.ts and claim.attempt == 2
    seen = h.runtime.store.posts.get(digest_key(sub.id, due))
    assert seen is not None and seen.message_ts == digest.ts  # from message_metadata_posted
    assert h.slack.api_calls("conversations.history") == []


def test_an_unconfirmed_digest_of_a_stopped_subscription_is_recorded_not_missed(h: Harness) -> None:
    sub, due = subscribe(h)
    h.slack.faults.store_then_fail("chat.postMessage", status=503)
    advance(h, (due - h.sim.clock.now()).total_seconds())
    wait_until(lambda: digest_posts(h) == 1, 10, "the digest post")
    assert h.slack.events.wait_idle()
    assert "Stopped digest #1" in h.command("unsubscribe 1").rendered
    # A maintenance run still busy when the clock jumps would make the scheduler skip the due one
    # (one instance at a time), and the clock does not move again: let it finish first.
    assert h.runtime.digests.scheduler.settle(10)
    advance(h, SETTLE + 60)
    wait_until(lambda: posted(h, sub, due), 10, "the settled claim")
    (digest,) = digests(h)
    claim = claim_of(h, sub, due)
    assert claim is not None and claim.message_ts == digest.ts  # Slack has it: not "missed"


def test_a_digest_post_that_was_really_lost_is_posted_once_after_the_grace(h: Harness) -> None:
    sub, due = subscribe(h)
    h.slack.faults.http_status("chat.postMessage", 503)  # answered 503 and *not* stored
    advance(h, (due - h.sim.clock.now()).total_seconds())
    wait_until(lambda: claim_of(h, sub, due) is not None and digest_posts(h) >= 1, 10, "the first try")
    h.slack.events.wait_idle()
    advance(h, 60)  # a sweep inside the grace: the outcome may still show up, nothing is posted
    h.runtime.digests.scheduler.settle(10)
    assert digest_posts(h) == 1 and digests(h) == []
    advance(h, SETTLE)
    wait_until(lambda: posted(h, sub, due), 10, "the second try")
    (digest,) = digests(h)
    assert digest_posts(h) == 2
    claim = claim_of(h, sub, due)
    assert claim is not None and claim.attempt == 2 and claim.message_ts == digest.ts
    assert "Posted late" in digest.rendered
    assert h.slack.api_calls("conversations.history") == []


def test_a_crash_after_the_post_is_settled_from_the_event_without_conversations_history(h: Harness) -> None:
    sub, due = subscribe(h)
    h.slack.history_tier = NON_MARKETPLACE  # 1 call a minute, 15 messages a page: podbot needs none
    # A replica claimed the digest, got it into Slack, and died before recording it.
    assert h.runtime.store.claims.claim_post(sub.id, due, "crashed-replica", due) is not None
    client = make_web_client(h.slack.bot_token, h.slack.api_url)
    sent = client.chat_postMessage(
        channel=sub.channel_id,
        text="Pod health (posted by the replica that crashed)",
        metadata={"event_type": METADATA_EVENT, "event_payload": {"key": digest_key(sub.id, due)}},
    )
    h.slack.events.wait_idle()
    advance(h, (due - h.sim.clock.now()).total_seconds() + 360)  # past claim_stale_seconds
    wait_until(lambda: posted(h, sub, due), 10, "the recorded claim")
    assert [m.ts for m in digests(h)] == [sent["ts"]]
    claim = claim_of(h, sub, due)
    assert claim is not None and claim.attempt == 2 and claim.message_ts == sent["ts"]
    assert h.slack.api_calls("conversations.history") == []


def test_the_metadata_event_reaches_the_ledger_over_socket_mode(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0, socket_mode=True) as h:
        key = "digest:7:2026-12-04T10:00:00+00:00"
        client = make_web_client(h.slack.bot_token, h.slack.api_url)
        sent = client.chat_postMessage(
            channel=h.slack.workspace.channel("ops").id,
            text="a digest",
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
        )
        assert h.slack.events.wait_idle()
        wait_until(lambda: h.runtime.store.posts.get(key) is not None, 10, "the ledger row")
        seen = h.runtime.store.posts.get(key)
        assert seen is not None and seen.state == "posted" and seen.message_ts == sent["ts"]


def test_metadata_events_of_other_apps_or_kinds_are_not_recorded(h: Harness) -> None:
    """A "*" metadata subscription would bring other apps' posts too: only our own count."""
    assert h.runtime.web is not None
    events = HttpDelivery(f"{h.runtime.web.url}/slack/events", h.slack.signing_secret)
    ws = h.slack.workspace

    def send(key: str, app_id: str, event_type: str) -> None:
        event = {
            "type": "message_metadata_posted",
            "app_id": app_id,
            "channel_id": ws.channel("ops").id,
            "metadata": {"event_type": event_type, "event_payload": {"key": key}},
            "message_ts": "1.000100",
            "event_ts": "1.000100",
        }
        body = {"type": "event_callback", "team_id": ws.team.id, "api_app_id": ws.app_id, "event": event}
        assert events.post(json.dumps(body), content_type="application/json").ok

    send("digest:1:other-app", "A0OTHERAPP", METADATA_EVENT)
    send("digest:1:other-kind", ws.app_id, "someone_elses_type")
    send("digest:1:ours", ws.app_id, METADATA_EVENT)
    wait_until(lambda: h.runtime.store.posts.get("digest:1:ours") is not None, 10, "our event")
    assert h.runtime.store.posts.get("digest:1:other-app") is None
    assert h.runtime.store.posts.get("digest:1:other-kind") is None


def test_an_event_the_database_cannot_take_is_not_acknowledged_and_slack_sends_it_again(
    tmp_path: Path,
) -> None:
    clock = ManualClock()  # the workspace's: Slack's retries come 1 and 5 minutes later
    (tmp_path / "db").mkdir()
    with podbot_harness(
        tmp_path,
        speed=0,
        workspace=Workspace.demo(clock=clock),
        database_url=f"sqlite:///{tmp_path / 'db' / 'podbot.sqlite3'}",
    ) as h:
        key = "digest:1:2026-12-04T09:00:00+00:00"
        db = DatabaseCut(h, tmp_path)
        db.cut()
        try:
            client = make_web_client(h.slack.bot_token, h.slack.api_url)
            sent = client.chat_postMessage(
                channel="#ops",
                text="Pod health",
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
            )
            assert h.slack.events.wait_idle()
            # the first delivery and the immediate retry: both answered 500, neither acknowledged
            assert [d.reply.status for d in h.slack.events.deliveries] == [500, 500]
            assert h.slack.events.retries_pending == 1
        finally:
            db.restore()
        clock.advance(61)
        wait_until(lambda: h.slack.events.retries_pending == 0, 10, "the retry a minute later")
        assert h.slack.events.wait_idle()
        assert [d.reply.status for d in h.slack.events.deliveries] == [500, 500, 200]
        seen = h.runtime.store.posts.get(key)
        assert seen is not None and seen.message_ts == sent["ts"]


def test_a_digest_that_fired_while_the_database_was_down_is_posted_when_it_is_back(
    tmp_path: Path,
) -> None:
    (tmp_path / "db").mkdir()
    with podbot_harness(
        tmp_path, speed=0, database_url=f"sqlite:///{tmp_path / 'db' / 'podbot.sqlite3'}"
    ) as h:
        sub, due = subscribe(h)
        db = DatabaseCut(h, tmp_path)
        lost: list[str] = []

        # The volume goes away just as the digest's claim is written: the scheduler has already
        # moved to the next run time, and no claim row tells any sweep about this one.
        @event.listens_for(h.runtime.store.engine, "before_cursor_execute")
        def vanish(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not lost and statement.lstrip().upper().startswith("INSERT INTO POST_CLAIMS"):
                lost.append(statement)
                db.cut()
                raise sqlite3.OperationalError("disk I/O error")

        advance(h, (due - h.sim.clock.now()).total_seconds())
        wait_until(lambda: bool(lost), 10, "the claim attempt")
        assert h.runtime.digests.scheduler.settle(10)
        assert digests(h) == []
        db.restore()
        advance(h, 60)  # the next maintenance run
        wait_until(lambda: posted(h, sub, due), 10, "the digest posted once the database is back")
        (digest,) = digests(h)
        claim = claim_of(h, sub, due)
        assert claim is not None and claim.message_ts == digest.ts
