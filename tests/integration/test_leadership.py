"""Leader-only tasks, the SQLite single-replica guard, and graceful shutdown of a Runtime."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from podbot.core.errors import ConfigError
from podbot.jobs.leadership import Leadership, LeaderTask, SingleReplicaGuard
from podbot.k8s.client import KubeClient
from podbot.k8s.election import LeaderElector, LeaseLock
from podbot.localslack import LocalSlack, Workspace
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime
from podbot.sim.cluster import SimCluster
from podbot.store import Store
from tests.support.election import FAST
from tests.support.waits import wait_until


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def task(self, name: str, *, fail_start: bool = False) -> LeaderTask:
        def start() -> None:
            if fail_start:
                raise RuntimeError("boom")
            with self._lock:
                self.calls.append(f"start {name}")

        def stop() -> None:
            with self._lock:
                self.calls.append(f"stop {name}")

        return LeaderTask(name, start, stop)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("podbot.jobs.leadership.START_RETRY_SECONDS", 0.01)


def test_without_election_the_tasks_run_from_start_to_stop_in_order() -> None:
    rec = Recorder()
    tasks = [rec.task("scheduler"), rec.task("broken", fail_start=True), rec.task("watchers")]
    leadership = Leadership(tasks, "solo")
    assert not leadership.is_leader
    leadership.start()
    leadership.start()  # idempotent
    assert leadership.is_leader
    assert rec.calls == ["start scheduler", "start watchers"]  # a broken task does not stop the others
    leadership.stop(timeout=5)
    assert rec.calls == ["start scheduler", "start watchers", "stop watchers", "stop scheduler"]
    assert not leadership.is_leader
    leadership.start()  # no restart after stop
    assert rec.calls[-1] == "stop scheduler"


def test_a_task_whose_start_fails_once_is_retried() -> None:
    rec = Recorder()
    failures = [RuntimeError("database is locked")]

    def flaky_start() -> None:
        if failures:
            raise failures.pop()
        rec.calls.append("start digests")

    leadership = Leadership(
        [LeaderTask("digests", flaky_start, lambda: rec.calls.append("stop digests"))], "solo"
    )
    leadership.start()  # without election: the tasks have started when start() returns
    assert rec.calls == ["start digests"]
    leadership.stop(timeout=5)
    assert rec.calls == ["start digests", "stop digests"]


def test_a_task_registered_before_start_joins(tmp_path: Path) -> None:
    rec = Recorder()
    tasks: list[LeaderTask] = []
    leadership = Leadership(tasks, "solo")
    tasks.append(rec.task("digests"))  # a task added to the list before start() joins
    leadership.start()
    leadership.stop(timeout=5)
    assert rec.calls == ["start digests", "stop digests"]


def elected(kube: KubeClient, lease: str, identity: str, rec: Recorder) -> Leadership:
    def factory(begin: Callable[[], None], end: Callable[[], None]) -> LeaderElector:
        return LeaderElector(
            LeaseLock(kube, "default", lease),
            identity,
            on_started_leading=begin,
            on_stopped_leading=end,
            **FAST,  # type: ignore[arg-type]
        )

    return Leadership([rec.task(identity)], identity, elector_factory=factory)


@pytest.mark.slow
def test_only_the_leader_runs_its_tasks_and_they_move_on_shutdown(
    kube: KubeClient, sim_cluster: SimCluster
) -> None:
    rec = Recorder()
    replicas = [elected(kube, "tasks-move", f"r{i}", rec) for i in range(3)]
    try:
        for replica in replicas:
            replica.start()
        wait_until(lambda: sum(r.is_leader for r in replicas) == 1, 5)
        (leader,) = [r for r in replicas if r.is_leader]
        assert leader.wait_idle(5)
        assert rec.calls == [f"start {leader.identity}"]
        leader.stop(timeout=5)  # stops its task first, then releases the Lease
        assert rec.calls == [f"start {leader.identity}", f"stop {leader.identity}"]
        holder = sim_cluster.store.get("leases.coordination.k8s.io", "default", "tasks-move").load()
        assert holder["spec"]["holderIdentity"] in ("", *[r.identity for r in replicas if r is not leader])
        others = [r for r in replicas if r is not leader]
        took = wait_until(lambda: sum(r.is_leader for r in others) == 1, 3)
        assert took < FAST["lease_duration"]  # released, so no lease-duration wait
        (new,) = [r for r in others if r.is_leader]
        assert new.wait_idle(5)
        assert rec.calls[-1] == f"start {new.identity}"
    finally:
        for replica in replicas:
            replica.stop(timeout=3)
    assert rec.calls.count("stop r0") + rec.calls.count("stop r1") + rec.calls.count("stop r2") == 2


@pytest.mark.slow
def test_losing_the_lease_stops_the_tasks(kube: KubeClient, sim_cluster: SimCluster) -> None:
    rec = Recorder()
    replica = elected(kube, "tasks-lost", "solo", rec)
    try:
        replica.start()
        wait_until(lambda: replica.is_leader, 5)
        sim_cluster.faults.api_down()
        try:
            wait_until(lambda: rec.calls[-1:] == ["stop solo"], FAST["renew_deadline"] + 1)
        finally:
            sim_cluster.faults.api_up()
        wait_until(lambda: rec.calls[-1:] == ["start solo"], 8)  # leads again once the API is back
    finally:
        replica.stop(timeout=3)
    assert rec.calls == ["start solo", "stop solo", "start solo", "stop solo"]


# --- SQLite: one replica ------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'podbot.sqlite3'}")
    opened.migrate()
    yield opened
    opened.close()


@pytest.mark.slow
def test_a_second_replica_on_sqlite_is_refused_while_the_first_is_alive(store: Store) -> None:
    first = SingleReplicaGuard(store.leases, "pod-a_1", ttl=1.0, renew_every=0.2)
    first.acquire()
    first.start()
    second = SingleReplicaGuard(store.leases, "pod-b_2", ttl=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(ConfigError) as refused:
            second.acquire(wait=1.5, poll=0.1)  # longer than the ttl: first keeps renewing
        assert time.monotonic() - started >= 1.5
        message = str(refused.value)
        assert "pod-a_1" in message and "SQLite supports one replica" in message and "PostgreSQL" in message
    finally:
        first.close()
    second.acquire(wait=0)  # released on close: the next one starts at once
    second.close()


@pytest.mark.slow
def test_a_dead_replicas_guard_runs_out_and_the_next_one_starts(store: Store) -> None:
    dead = SingleReplicaGuard(store.leases, "pod-a_1", ttl=0.6)
    dead.acquire()  # never renewed, never released: a SIGKILLed process
    replacement = SingleReplicaGuard(store.leases, "pod-a_2", ttl=0.6)
    started = time.monotonic()
    replacement.acquire(poll=0.05)
    assert 0.4 <= time.monotonic() - started <= 2.0
    lease = store.leases.get(SingleReplicaGuard.NAME)
    assert lease is not None and lease.holder == "pod-a_2"
    replacement.close()


@pytest.mark.slow
def test_runtime_on_sqlite_refuses_a_second_replica(
    tmp_path: Path, sim_cluster: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("podbot.jobs.leadership.GUARD_TTL_SECONDS", 1.0)
    monkeypatch.setattr("podbot.jobs.leadership.GUARD_RENEW_SECONDS", 0.2)
    with LocalSlack(Workspace.demo()) as slack:
        env = {
            **slack.bot_settings().env(),
            "KUBECONFIG": str(sim_cluster.kubeconfig_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        }
        first = Runtime(load_settings(env))
        try:
            started = time.monotonic()
            with pytest.raises(ConfigError, match="SQLite supports one replica"):
                Runtime(load_settings(env))  # what a second pod on the same volume would do
            assert time.monotonic() - started >= 3.0  # it waited a ttl + 2 s for a dead holder
        finally:
            first.stop(timeout=5)
        second = Runtime(load_settings(env))  # the first released it on stop
        second.stop(timeout=5)


# --- a Runtime with leader election: lease, tasks, graceful stop ---------------------------------
def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_runtime_leads_runs_tasks_drains_and_releases_on_stop(
    tmp_path: Path, sim_cluster: SimCluster
) -> None:
    config = tmp_path / "podbot.yaml"
    config.write_text(
        "leader_election:\n  enabled: true\n  lease_name: podbot-runtime\n  namespace: kube-system\n"
        "  lease_duration_seconds: 2\n  renew_deadline_seconds: 1.5\n  retry_period_seconds: 0.25\n"
    )
    rec = Recorder()
    with LocalSlack(Workspace.demo()) as slack:
        env = {
            **slack.bot_settings().env(),
            "KUBECONFIG": str(sim_cluster.kubeconfig_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'podbot.sqlite3'}",
            "POD_NAME": "podbot-7d9c-abcde",
        }
        runtime = Runtime(load_settings(env, str(config)), extra_leader_tasks=[rec.task("digests")])
        assert runtime.leadership.identity.startswith("podbot-7d9c-abcde_")
        web = runtime.serve_http("127.0.0.1", 0)
        slack.use_http(f"{web.url}/slack/events")
        stopper: threading.Thread | None = None
        try:
            wait_until(lambda: runtime.leadership.is_leader, 5)
            assert runtime.leadership.wait_idle(5) and rec.calls == ["start digests"]
            lease = sim_cluster.store.get(
                "leases.coordination.k8s.io", "kube-system", "podbot-runtime"
            ).load()
            assert lease["spec"]["holderIdentity"] == runtime.leadership.identity
            status, metrics = get(f"{web.url}/metrics")
            assert status == 200 and "\npodbot_leader 1.0\n" in metrics
            assert get(f"{web.url}/readyz")[0] == 200

            # A command whose Kubernetes work is slow (2 s): stop while it is in flight.
            sim_cluster.faults.slow(2.0, path="/pods", count=1)
            mark = slack.mark()
            result = slack.send_command("alice", "ops", "/pod", "get pods")
            assert result.ok
            stopper = threading.Thread(target=runtime.stop, kwargs={"timeout": 10})
            stopped_at = time.monotonic()
            stopper.start()
            wait_until(lambda: get(f"{web.url}/readyz")[0] == 503, 1)
            status, body = get(f"{web.url}/readyz")
            assert status == 503 and json.loads(body)["shutdown"] == "draining"
            refused = slack.send_command("alice", "ops", "/pod", "get pods")
            assert refused.reply.status == 503  # new work is refused; Slack shows the error
            stopper.join(15)
            assert not stopper.is_alive() and time.monotonic() - stopped_at < 10
            answer = slack.wait_for_message(channel="ops", user="alice", after=mark, timeout=1)
            assert "No pods found in default" in answer.rendered  # the in-flight command finished
            assert rec.calls == ["start digests", "stop digests"]
            lease = sim_cluster.store.get(
                "leases.coordination.k8s.io", "kube-system", "podbot-runtime"
            ).load()
            assert lease["spec"]["holderIdentity"] == "" and lease["spec"]["leaseDurationSeconds"] == 1
        finally:
            sim_cluster.faults.clear()
            if stopper is None:
                runtime.stop(timeout=5)


def test_leader_election_is_off_by_default_outside_a_cluster_and_on_inside() -> None:
    assert not load_settings({}).leader_election.enabled
    inside = load_settings({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "POD_NAMESPACE": "podbot"})
    assert inside.leader_election.enabled and inside.leader_election.namespace == "podbot"
    assert not load_settings(
        {"KUBERNETES_SERVICE_HOST": "x", "PODBOT_LEADER_ELECTION": "false"}
    ).leader_election.enabled


def test_leader_election_timings_follow_client_go_rules(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "leader_election:\n  lease_duration_seconds: 10\n  renew_deadline_seconds: 10\n"
        "  retry_period_seconds: 9\n"
    )
    with pytest.raises(ConfigError) as bad:
        load_settings({}, str(config))
    assert "leader_election.lease_duration_seconds: must be greater than renew_deadline_seconds" in str(
        bad.value
    )
    assert "leader_election.renew_deadline_seconds: must be greater than 1.2 x retry_period_seconds" in str(
        bad.value
    )
    config.write_text("leader_election:\n  retry_period_seconds: soon\n")
    with pytest.raises(ConfigError, match="retry_period_seconds: must be a number of seconds"):
        load_settings({}, str(config))


def test_wall_clock_stamps_are_micro_time() -> None:
    from podbot.k8s.election import micro_time

    assert micro_time(datetime(2026, 5, 9, 9, 0, 1, 2500, tzinfo=UTC)) == "2026-05-09T09:00:01.002500Z"


@pytest.mark.slow
def test_socket_mode_http_serves_probes_but_not_slack_events(tmp_path: Path, sim_cluster: SimCluster) -> None:
    """In Socket Mode there may be no signing secret: /slack/events must not be served at all
    (a request "signed" with an empty secret would otherwise pass), the probes must be."""
    with LocalSlack(Workspace.demo()) as slack:
        env = {
            **slack.bot_settings().env(),
            "SLACK_SIGNING_SECRET": "",
            "KUBECONFIG": str(sim_cluster.kubeconfig_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'podbot.sqlite3'}",
        }
        runtime = Runtime(load_settings(env))
        web = runtime.serve_http("127.0.0.1", 0, slack_events=False)
        try:
            assert get(f"{web.url}/healthz")[0] == 200
            assert get(f"{web.url}/readyz")[0] == 200
            assert "podbot_leader" in get(f"{web.url}/metrics")[1]
            slack.use_http(f"{web.url}/slack/events")
            result = slack.send_command("alice", "ops", "/pod", "run evil --image=nginx")
            assert result.reply.status == 404
            assert not sim_cluster.store.list("pods", "default", lambda s: s.name == "evil")[0]
        finally:
            runtime.stop(timeout=5)
