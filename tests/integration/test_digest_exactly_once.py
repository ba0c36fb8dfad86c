"""Exactly-once digests: two replicas (two Runtimes, two database pools, both running their
scheduler) against one PostgreSQL schema, one simulated cluster, one Slack workspace, the same
subscription."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from podbot.core.model import DigestKind
from podbot.core.records import Schedule
from podbot.jobs.digests import METADATA_EVENT, MISSED, digest_key
from podbot.localslack import LocalSlack, Message, Workspace
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime
from podbot.sim.cluster import SimCluster
from podbot.slack.manifest import app_manifest
from podbot.slack.web_client import make_web_client
from podbot.store import Store, Subscription
from tests.support.stores import POSTGRES_URL, postgres_schema, race
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow  # two replicas in real time on PostgreSQL

HOUR = timedelta(hours=1)


@dataclass
class Pair:
    sim: SimCluster
    slack: LocalSlack
    store: Store  # the test's own connection to the shared database
    replicas: list[Runtime]
    sub: Subscription

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)
        for replica in self.replicas:
            replica.wakeup()

    def digests(self) -> list[Message]:
        return [
            m for m in self.slack.messages("ops", threads=False) if m.is_bot and "Pod health" in m.rendered
        ]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with ExitStack() as stack:
        schema = stack.enter_context(postgres_schema())
        sim = stack.enter_context(SimCluster(speed=0))
        slack = stack.enter_context(LocalSlack(Workspace.demo()))
        config = tmp_path / "podbot.yaml"
        config.write_text('channels:\n  - channel: "*"\n')  # the subscribing channel may subscribe
        env = {
            **slack.bot_settings().env(),
            "KUBECONFIG": str(sim.kubeconfig_path),
            "DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}",
            "PODBOT_CONFIG": str(config),
        }
        store = Store.open(POSTGRES_URL, schema=schema)
        stack.callback(store.close)
        store.migrate()
        replicas = []
        for name in ("replica-a", "replica-b"):
            # No leader election: each replica runs its own scheduler, so both fire every digest.
            replica = Runtime(load_settings({**env, "POD_NAME": name}), now=sim.clock.now)
            stack.callback(replica.stop, 5)
            replicas.append(replica)
        sub = store.subscriptions.create(
            team_id="T1",
            channel_id=slack.workspace.channel("ops").id,
            kind=DigestKind.HEALTH,
            schedule=Schedule(every_seconds=3600),
            created_by="U1",
            now=sim.clock.now(),
        )
        # Slack's events (message_metadata_posted) reach one replica; the ledger is shared.
        web = replicas[0].serve_http("127.0.0.1", 0)
        slack.use_http(f"{web.url}/slack/events")
        slack.install(app_manifest("https://podbot.test"))
        for replica in replicas:
            replica.leadership.start()
        yield Pair(sim, slack, store, replicas, sub)


def posted(pair: Pair, due: datetime) -> bool:
    claim = pair.store.claims.get(pair.sub.id, due)
    return claim is not None and claim.posted_at is not None


def test_two_schedulers_post_each_scheduled_digest_once(pair: Pair) -> None:
    owners = set()
    for hour in (1, 2, 3):
        due = pair.sub.created_at + hour * HOUR
        pair.advance(3600)
        wait_until(lambda due=due: posted(pair, due), 15)  # type: ignore[misc]
        time.sleep(0.5)  # room for a duplicate to show up, if there were one
        assert len(pair.digests()) == hour
        claim = pair.store.claims.get(pair.sub.id, due)
        assert claim is not None and claim.attempt == 1
        owners.add(claim.owner)
    assert {owner.split("_")[0] for owner in owners} <= {"replica-a", "replica-b"}
    # Both schedulers share the job in the database: one job row, advanced past the last run.
    jobs = [[j for j in r.scheduler.get_jobs() if j.id == "digest-1"] for r in pair.replicas]
    assert all(len(found) == 1 for found in jobs)
    assert {found[0].next_run_time for found in jobs} == {pair.sub.created_at + 4 * HOUR}


def test_a_crash_between_claim_and_post_is_retried_once_after_the_claim_goes_stale(pair: Pair) -> None:
    due = pair.sub.created_at + HOUR
    # A third replica claimed this digest and died before posting it.
    assert pair.store.claims.claim_post(pair.sub.id, due, "crashed-replica", due) is not None
    pair.advance(3600)
    time.sleep(1.0)
    assert pair.digests() == []  # the live claim holds both schedulers back
    pair.advance(360)  # past the 5-minute stale_after, and a maintenance sweep is due
    wait_until(lambda: posted(pair, due), 15)
    time.sleep(0.5)
    (digest,) = pair.digests()
    assert "Posted late" in digest.rendered
    claim = pair.store.claims.get(pair.sub.id, due)
    assert (
        claim is not None and claim.attempt == 2 and claim.owner.split("_")[0] in ("replica-a", "replica-b")
    )
    assert claim.message_ts == digest.ts


def test_a_crash_after_the_post_is_recorded_without_posting_again(pair: Pair) -> None:
    due = pair.sub.created_at + HOUR
    # The dead replica got its message into Slack, but not its "posted" into the database.
    assert pair.store.claims.claim_post(pair.sub.id, due, "crashed-replica", due) is not None
    client = make_web_client(pair.slack.bot_token, pair.slack.api_url)
    sent = client.chat_postMessage(
        channel=pair.sub.channel_id,
        text="Pod health (posted by the replica that crashed)",
        metadata={"event_type": METADATA_EVENT, "event_payload": {"key": digest_key(pair.sub.id, due)}},
    )
    assert pair.slack.events.wait_idle()  # its message_metadata_posted event reached a replica
    pair.advance(3600 + 360)
    wait_until(lambda: posted(pair, due), 15)
    time.sleep(0.5)
    assert [m.ts for m in pair.digests()] == [sent["ts"]]
    claim = pair.store.claims.get(pair.sub.id, due)
    assert claim is not None and claim.attempt == 2 and claim.message_ts == sent["ts"]


def test_a_stale_claim_older_than_the_retry_window_is_recorded_as_missed(pair: Pair) -> None:
    long_ago = pair.sim.clock.now() - 3 * HOUR
    assert pair.store.claims.claim_post(pair.sub.id, long_ago, "crashed-replica", long_ago) is not None
    pair.advance(120)
    wait_until(lambda: posted(pair, long_ago), 15)
    claim = pair.store.claims.get(pair.sub.id, long_ago)
    assert claim is not None and claim.message_ts == MISSED
    assert pair.digests() == []


def test_both_schedulers_firing_the_same_run_time_at_once_post_it_once(pair: Pair) -> None:
    due = pair.sub.created_at + 5 * HOUR  # a time no job has fired yet: only these calls race
    results = race(
        [lambda r=replica: r.digests.run_digest(pair.sub.id, due) for replica in pair.replicas] * 2
    )
    winners = [ts for ts in results if ts is not None]
    assert len(winners) == 1
    wait_until(lambda: posted(pair, due), 15)
    assert [m.ts for m in pair.digests()] == winners


def test_a_stale_claim_of_a_stopped_subscription_is_recorded_as_missed(pair: Pair) -> None:
    due = pair.sub.created_at + HOUR
    assert pair.store.claims.claim_post(pair.sub.id, due, "crashed-replica", due) is not None
    pair.store.subscriptions.end(pair.sub.id, channel_id=pair.sub.channel_id, by="U1", now=due)
    pair.advance(3600 + 360)
    wait_until(lambda: posted(pair, due), 15)
    claim = pair.store.claims.get(pair.sub.id, due)
    assert claim is not None and claim.message_ts == MISSED
    assert pair.digests() == []
