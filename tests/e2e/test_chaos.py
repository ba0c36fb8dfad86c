"""The chaos run, short: bench/chaos.py for a few simulated minutes with a fixed seed.

Three ``podbot serve`` replicas on PostgreSQL (through a TcpProxy that the run cuts) against
podbot.sim and podbot.localslack, a steady load of commands, approvals, a digest subscription and
breaking pods, and one fault every few seconds of every kind (Kubernetes and Slack errors, a
database cut, SIGKILL of the leader and of a replica). Every counted figure, taken from the
emulators' own records, must be 0.

The second test checks the counters themselves on records made by hand: a doubled digest, a
missed one, a delete nobody approved, a delete of another uid and an unanswered command are seen.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.chaos import (
    COUNTED,
    FAULTS,
    Chaos,
    Replica,
    Sent,
    Served,
    alerts_doubled,
    cards_doubled,
    deletes,
    digest_counts,
    report,
    unaudited,
    untrue_cards,
)
from podbot.localslack import LocalSlack, Workspace
from podbot.localslack.history import StoredMessage
from tests.support.stores import postgres_or_skip
from tests.support.tcpproxy import TcpProxy

pytestmark = pytest.mark.slow


def test_a_short_chaos_run_loses_and_doubles_nothing(tmp_path: Path) -> None:
    postgres_or_skip()
    # 2 x 12 faults at most; 7 simulated minutes so at least one digest (every 5) falls due.
    chaos = Chaos(minutes=7, speed=10, seed=7, replicas=3, workdir=tmp_path)
    figures = chaos.run()
    lines: list[str] = []
    ok = report(figures, chaos.details, lines.append)
    # The run did what it says (otherwise zeros prove nothing)...
    assert figures["commands sent"] >= 50, lines
    assert figures["pods deleted"] >= 1, lines
    assert figures["digests due"] >= 1, lines
    assert {kind for _, kind in chaos.faults} >= set(FAULTS), lines
    # ...and nothing was lost or doubled.
    assert ok, "\n".join(lines)


T0 = datetime(2026, 5, 9, 9, 0, tzinfo=UTC)


def stored(channel: str, text: str, ts: str, **extra: Any) -> StoredMessage:
    return StoredMessage(ts=ts, channel=channel, user="UBOT", bot_id="B1", text=text, **extra)


def digest(ts: str, scheduled: datetime, subscription_id: int = 1) -> StoredMessage:
    payload = {"subscription_id": subscription_id, "scheduled_time": scheduled.isoformat()}
    return stored("C1", "digest", ts, metadata={"event_type": "podbot_digest", "event_payload": payload})


def test_the_counters_see_what_went_wrong() -> None:
    """Each counter on records made by hand, so a 0 from the chaos run means something."""
    at_5, at_10, at_15 = (T0 + timedelta(minutes=m) for m in (5, 10, 15))
    # 09:05 twice, 09:10 never, 09:15 once; another subscription's digest is not ours.
    messages = [digest("1.1", at_5), digest("2.1", at_5), digest("3.1", at_15), digest("4.1", at_10, 2)]
    assert digest_counts(messages, 1, T0, T0 + timedelta(minutes=16)) == (
        [at_10.isoformat()],
        {at_5.isoformat(): 1},
        3,
    )

    # Alerts: "a" posted again while open (doubled); "b" resolved, then a new episode (fine).
    alerts = [
        stored("C1", ":rotating_light: a", "1.0"),
        stored("C1", ":rotating_light: a", "2.0"),
        stored("C1", ":white_check_mark: Resolved after 1m: ~b~", "3.0", edited={"ts": "4.0"}),
        stored("C1", ":rotating_light: b", "5.0"),
        stored("C2", ":rotating_light: a", "6.0"),  # another channel
    ]
    assert alerts_doubled(alerts, "C1") == ["a"]

    # Approval cards: request #3 posted twice (once in Chinese), #4 once; an ephemeral is no card.
    cards = [
        stored("C1", ":warning: Delete request #3: pod web-1 in namespace default", "1.0"),
        stored("C1", ":warning: 删除请求 #3：命名空间 default 中的 pod web-1", "2.0"),
        stored("C1", ":warning: Delete request #4: pod web-2 in namespace default", "3.0"),
        stored("C1", ":warning: Delete request #4: pod web-2 in namespace default", "4.0", ephemeral_to="U1"),
    ]
    assert cards_doubled(cards, "C1") == {"3": 2, "4": 1}

    # Their last state: #5 says deleted and was; #6 says deleted but was not; #7 was deleted but
    # still says "deleting…"; #8 still offers Approve after bob's press was delivered.
    button = [{"type": "actions", "elements": [{"type": "button", "action_id": "approval_approve"}]}]
    final = [
        stored(
            "C1", ":warning: Delete request #5: pod web-5 in namespace default :wastebasket: deleted.", "5.0"
        ),
        stored(
            "C1", ":warning: Delete request #6: pod web-6 in namespace default :wastebasket: deleted.", "6.0"
        ),
        stored(
            "C1", ":warning: Delete request #7: pod web-7 in namespace default Approved: deleting…", "7.0"
        ),
        stored("C1", ":warning: Delete request #8: pod web-8 in namespace default", "8.0", blocks=button),
        stored("C1", ":warning: Delete request #8: pod web-8 in namespace default", "9.0", blocks=button),
    ]
    untrue = untrue_cards(final, "C1", {"web-5", "web-7"}, {"8.0", "9.0"})  # #8's two copies: one line
    assert [line.split(" (")[0] for line in untrue] == ["request #6", "request #7", "request #8"]

    # Deletes: one nobody approved, one approved after it happened, one of another uid, one right.
    approved = {("ns", "b"): (5.0, "uid-b"), ("ns", "c"): (1.0, "uid-c"), ("ns", "d"): (1.0, "uid-d")}
    served = [
        Served(2.0, "DELETE", "ns", "a", 200, "uid-a", "uid-a"),
        Served(2.0, "DELETE", "ns", "b", 200, "uid-b", "uid-b"),
        Served(2.0, "DELETE", "ns", "c", 200, "uid-x", "uid-x"),
        Served(2.0, "DELETE", "ns", "d", 200, "uid-d", "uid-d"),
        Served(2.0, "DELETE", "ns", "e", 404, None, None),  # refused: not a delete
    ]
    unapproved, wrong = deletes(served, approved)
    assert [d.name for d in unapproved] == ["a", "b"]
    assert [d.name for d in wrong] == ["c"]

    # Changes without an audit record: the create of "x" twice (once audited), "d" deleted unaudited.
    served += [
        Served(1.0, "POST", "ns", "x", 201, None, "u1"),
        Served(1.5, "POST", "ns", "x", 201, None, "u2"),
    ]
    audit = [("run", "ns", "x"), ("delete_request", "ns", "d"), ("delete", "ns", "a"), ("delete", "ns", "b")]
    audit += [("delete", "ns", "c")]
    assert sorted(unaudited(served, audit)) == ["DELETE ns/d", "POST ns/x"]

    figures = dict.fromkeys(COUNTED, 0)
    lines: list[str] = []
    assert report(figures, {}, lines.append)
    figures["alerts doubled"] = 1
    assert not report(figures, {}, lines.append)
    assert any("alerts doubled" in line and "must be 0" in line for line in lines)


def test_an_unanswered_command_is_counted_lost(tmp_path: Path) -> None:
    """Acked, and nothing came back (no response_url use, no fallback post): lost."""
    with LocalSlack(Workspace.demo()) as slack:
        ws = slack.workspace
        chaos = Chaos(minutes=1, speed=10, seed=1, replicas=1, workdir=tmp_path)
        chaos.slack, chaos.details = slack, {}
        ops = ws.channel("ops").id
        answered = ws.interactions.issue_response_url("commands", ws.team.id, ws.user("alice").id, ops)
        ws.interactions.response_url(answered).uses = 1  # type: ignore[union-attr]
        ignored = ws.interactions.issue_response_url("commands", ws.team.id, ws.user("carol").id, ops)
        fallback = ws.interactions.issue_response_url("commands", ws.team.id, ws.user("carol").id, ops)
        mark = slack.mark()
        chaos.sent = [
            Sent(0.0, "alice", "ops", "get pods", "replica-0", True, answered, False, mark),
            Sent(0.0, "carol", "ops", "get pods", "replica-0", True, ignored, False, mark),
            Sent(0.0, "carol", "ops", "logs x", "replica-0", True, fallback, False, mark),
            Sent(0.0, "carol", "ops", "get pods", "replica-0", False, ignored, False, mark),  # not acked
        ]
        ws.history.add(stored(ops, "pods", "", origin="chat.postEphemeral", ephemeral_to=ws.user("carol").id))
        chaos.replicas = []
        chaos.replicas.append(Replica("replica-0", 0, None, tmp_path / "log"))  # type: ignore[arg-type]
        lost, killed = chaos.lost_answers()
        assert [(s.user, s.text) for s in lost] == [("carol", "logs x")]
        assert killed == []


def test_tcpproxy_cut_drops_connections_and_refuses_new_ones_until_restored() -> None:
    with socket.create_server(("127.0.0.1", 0)) as upstream:
        upstream.listen()
        proxy = TcpProxy("127.0.0.1", upstream.getsockname()[1]).start()
        try:
            client = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            server, _ = upstream.accept()
            client.sendall(b"ping")
            assert server.recv(4) == b"ping"
            proxy.cut()
            assert client.recv(4) == b""  # the open connection is gone
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            proxy.restore()
            again = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            server2, _ = upstream.accept()
            again.sendall(b"pong")
            assert server2.recv(4) == b"pong"
            for sock in (client, server, again, server2):
                sock.close()
        finally:
            proxy.stop()
