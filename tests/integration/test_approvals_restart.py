"""Approvals survive a restart: the bot process stops and a new one starts on the same database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from podbot.store import ApprovalState, AuditAction, AuditQuery
from tests.support.approvals import (
    approval_of,
    click,
    counting_deletes,
    current,
    pod_exists,
    request_delete,
    run_pod,
)
from tests.support.harness import Harness, podbot_harness


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with podbot_harness(tmp_path) as made:
        yield made


def test_pending_request_can_be_approved_after_a_restart(h: Harness) -> None:
    run_pod(h, "keep-me-not")
    request = request_delete(h, "delete pod keep-me-not")
    before = h.runtime
    after = h.restart()
    assert after is not before and after.store is not before.store
    with counting_deletes(h.sim) as deletes:
        click(h, "bob", request, "Approve")  # the message posted by the previous process
    assert deletes == ["/api/v1/namespaces/default/pods/keep-me-not"]
    assert "Approved by @bob" in current(h, request).rendered
    h.sim.advance(40)
    assert pod_exists(h.sim, "keep-me-not") is None
    assert approval_of(h, request).state is ApprovalState.DONE


def test_request_that_expired_while_down_is_shown_expired_after_restart(h: Harness) -> None:
    run_pod(h, "while-down")
    request = request_delete(h, "delete pod while-down")
    h.stop_bot()
    h.sim.advance(3700)  # an hour passes with no podbot running
    mark = h.slack.mark()
    h.restart()
    # The sweep at start-up expires it and edits the message, with nobody clicking.
    edited = h.slack.wait_for(
        lambda m: m.ts == request.ts and "Expired" in m.rendered, after=mark, timeout=10
    )
    assert not edited.buttons
    approval = approval_of(h, request)
    assert approval.state is ApprovalState.EXPIRED
    expiry = h.runtime.store.audit.query(AuditQuery(action=AuditAction.EXPIRE, limit=5))
    assert [e.approval_id for e in expiry] == [approval.id]
    assert pod_exists(h.sim, "while-down") is not None


def test_an_approval_a_crash_left_half_done_is_finished_by_the_sweeper(h: Harness) -> None:
    """A crash between the decision and the delete leaves the request approved: the sweeper ends it."""
    run_pod(h, "orphaned")
    request = request_delete(h, "delete pod orphaned")
    approval = approval_of(h, request)
    bob = h.slack.workspace.user("bob").id
    store = h.runtime.store.approvals
    # What a crash right after the click's compare-and-set leaves behind:
    assert store.decide(approval.id, ApprovalState.APPROVED, bob, h.sim.clock.now())
    h.restart()
    h.sim.advance(timedelta(minutes=3).total_seconds())
    mark = h.slack.mark()
    with counting_deletes(h.sim) as deletes:
        h.runtime.sweeper.wake()
        edited = h.slack.wait_for(
            lambda m: m.ts == request.ts and "deleted" in m.rendered, after=mark, timeout=10
        )
    assert deletes == ["/api/v1/namespaces/default/pods/orphaned"]
    assert "Approved by @bob" in edited.rendered
    assert approval_of(h, request).state is ApprovalState.DONE
