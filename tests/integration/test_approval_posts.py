"""An approval card whose post Slack stored but did not confirm is not posted again (issue:
reliability, item 3 for approval cards). The request is closed, as for any failed post (nothing
can be deleted through a card nobody was told about); the card Slack did store is known by its
metadata key ``approval:ID`` from the message_metadata_posted event, and the sweeper edits it to
the closed state (no live buttons left)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podbot.store import ApprovalState
from tests.support.approvals import current, run_pod
from tests.support.harness import podbot_harness
from tests.support.waits import wait_until


@pytest.mark.parametrize("fault", ["store_then_fail", "store_then_drop"])
def test_an_unconfirmed_approval_card_is_posted_once_and_its_request_closed(
    tmp_path: Path, fault: str
) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        run_pod(h, "web-card")
        if fault == "store_then_fail":
            h.slack.faults.store_then_fail("chat.postMessage", status=503)
        else:
            h.slack.faults.store_then_drop("chat.postMessage")
        mark = h.slack.mark()
        h.command("delete pod web-card")
        told = h.slack.wait_for_message(
            channel="ops", user="alice", contains="nothing will be deleted", after=mark
        )
        assert told.is_ephemeral
        assert h.slack.events.wait_idle()
        cards = [m for m in h.slack.messages("ops") if m.is_bot and "Delete request #" in m.rendered]
        assert len(cards) == 1  # the one Slack stored; no second card from a blind retry
        approval = h.runtime.store.approvals.get(1)  # the one request of this bot
        assert approval is not None and approval.state is ApprovalState.DENIED
        seen = h.runtime.store.posts.get(f"approval:{approval.id}")
        assert seen is not None and seen.message_ts == cards[0].ts
        # An approver who presses the stored card before it is closed is told what happened.
        mark = h.slack.mark()
        assert h.slack.click("bob", cards[0], "Approve", confirm=True).ok
        notice = h.slack.wait_for_message(channel="ops", user="bob", contains="Request #", after=mark)
        assert "Slack did not confirm its message" in notice.rendered and "<@" not in notice.rendered
        # The card Slack kept is the request's message now, and the sweeper closes it.
        h.runtime.sweeper.wake()
        wait_until(lambda: not current(h, cards[0]).buttons, 10, "the card without buttons")
        closed = h.runtime.store.approvals.get(approval.id)
        assert closed is not None and closed.message_ts == cards[0].ts and not closed.message_stale
        shown = current(h, cards[0]).rendered
        assert "Slack did not confirm this request's message" in shown and "Denied by" not in shown
