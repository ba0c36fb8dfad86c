"""The watch cache against podbot.sim over real HTTPS: sync, changes, events, secrets and faults."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from podbot.core.diagnosis.findings import Finding
from podbot.core.digests import Scope, find_problems, is_quiet, status_totals
from podbot.k8s.client import Clusters
from podbot.k8s.watch import Backoff, Resource, WatchCache
from podbot.sim.cluster import SimCluster
from podbot.sim.objects.meta import stamp_new
from tests.support.builders import active_namespace, cstatus, event, pod, waiting
from tests.support.waits import wait_until

FAST = Backoff(initial=0.05, maximum=0.4)
IMAGE = "10.0.0.130:5000/nginx:latest"
PULL_AUTH = f'Failed to pull image "{IMAGE}": rpc error: code = Unknown desc = no basic auth credentials'


@pytest.fixture
def sim() -> Iterator[SimCluster]:
    with SimCluster(speed=0) as cluster:
        yield cluster


@pytest.fixture
def cache(sim: SimCluster) -> Iterator[WatchCache]:
    clusters = Clusters(str(sim.kubeconfig_path))
    watch = WatchCache(clusters.get(), now=sim.clock.now, backoff=FAST, watch_timeout=30, page_size=3)
    watch.start()
    assert watch.wait_synced(10)
    try:
        yield watch
    finally:
        watch.stop()
        clusters.close()


def put_pod(sim: SimCluster, name: str, *, failing: bool = False, namespace: str = "default") -> dict:
    """A pod written straight into the store on a node no kubelet runs, so its status stays as written."""
    raw = pod(name, namespace, node="node-elsewhere", pull_secrets=["myregistrykey"])
    if failing:
        raw = pod(
            name,
            namespace,
            phase="Pending",
            node="node-elsewhere",
            containers=[{"name": "nginx", "image": IMAGE}],
            statuses=[
                cstatus("nginx", IMAGE, waiting("ImagePullBackOff", f'Back-off pulling image "{IMAGE}"'))
            ],
            pull_secrets=["myregistrykey"],
        )
    for key in ("resourceVersion", "uid", "creationTimestamp"):
        raw["metadata"].pop(key)
    return sim.store.create("pods", stamp_new(raw, sim.clock))


def registry_secret(namespace: str, name: str, host: str) -> dict:
    config = {"auths": {host: {"username": "u", "password": "p", "auth": "dTpw"}}}
    data = base64.b64encode(json.dumps(config).encode()).decode()
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name, "namespace": namespace},
        "data": {".dockerconfigjson": data},
    }
    return body


def test_initial_sync_lists_every_pod_page_by_page(sim: SimCluster) -> None:
    for i in range(7):
        put_pod(sim, f"web-{i}")
    clusters = Clusters(str(sim.kubeconfig_path))
    watch = WatchCache(clusters.get(), now=sim.clock.now, backoff=FAST, page_size=2)
    try:
        watch.start()
        assert watch.wait_synced(10)
        names = {p.name for p in watch.pods() if p.namespace == "default"}
        assert names == {f"web-{i}" for i in range(7)}
        assert watch.stats[(Resource.PODS, "")].lists == 1
    finally:
        watch.stop()
        clusters.close()


def test_adds_changes_and_deletes_arrive_through_the_watch(sim: SimCluster, cache: WatchCache) -> None:
    put_pod(sim, "web")
    wait_until(lambda: cache.pod("default", "web") is not None)
    assert cache.pod("default", "web").status == "Running"  # type: ignore[union-attr]
    stored = sim.store.get("pods", "default", "web").load()
    stored["status"]["containerStatuses"][0]["state"] = waiting("CrashLoopBackOff")
    sim.store.update("pods", stored)
    wait_until(lambda: cache.pod("default", "web").status == "CrashLoopBackOff")  # type: ignore[union-attr]
    assert ("default", "web") in cache.drain_changed()
    sim.store.delete("pods", "default", "web")
    wait_until(lambda: cache.pod("default", "web") is None)


def test_the_change_feed_carries_pods_that_are_or_were_problems_only(
    sim: SimCluster, cache: WatchCache
) -> None:
    # Alerts re-diagnose what the feed names; a healthy pod has nothing to re-diagnose, so a
    # 50,000-pod sync must not leave 50,000 keys waiting in it.
    cache.drain_changed()
    put_pod(sim, "web")
    wait_until(lambda: cache.pod("default", "web") is not None)
    stored = sim.store.get("pods", "default", "web").load()
    stored["status"]["startTime"] = "2020-01-01T00:00:00Z"  # healthy -> healthy, a new summary
    sim.store.update("pods", stored)
    wait_until(lambda: cache.pod("default", "web").started == 1577836800.0)  # type: ignore[union-attr]
    assert ("default", "web") not in cache.drain_changed()
    stored = sim.store.get("pods", "default", "web").load()
    stored["status"]["containerStatuses"][0]["state"] = waiting("CrashLoopBackOff")
    sim.store.update("pods", stored)
    wait_until(lambda: cache.pod("default", "web").status == "CrashLoopBackOff")  # type: ignore[union-attr]
    assert ("default", "web") in cache.drain_changed()  # healthy -> problem
    sim.store.delete("pods", "default", "web")
    wait_until(lambda: cache.pod("default", "web") is None)
    assert ("default", "web") in cache.drain_changed()  # a problem pod is gone: its alert must learn it


def test_pull_failure_events_are_remembered_on_the_pod_after_the_event_is_gone(
    sim: SimCluster, cache: WatchCache
) -> None:
    raw = put_pod(sim, "nginx", failing=True)
    note = event(raw, "Failed", PULL_AUTH, container="nginx")
    created = sim.store.create("events", stamp_new(note, sim.clock))
    wait_until(lambda: bool(cache.pod("default", "nginx") and cache.pod("default", "nginx").pull_failures))  # type: ignore[union-attr]
    sim.store.delete("events", "default", created["metadata"]["name"])
    # A later event in the same watch stream: once the cache has it, it has seen the deletion too.
    later = event(raw, "BackOff", f'Back-off pulling image "{IMAGE}"', container="nginx")
    sim.store.create("events", stamp_new(later, sim.clock))
    wait_until(lambda: any(n.reason == "BackOff" for n in cache.notes_for("default", "nginx")))
    summary = cache.pod("default", "nginx")
    assert summary is not None and "no basic auth credentials" in summary.pull_failures[0].message
    assert any(n.reason == "Failed" for n in cache.notes_for("default", "nginx"))


def test_registry_secrets_are_indexed_by_host_and_forgotten_when_deleted(
    sim: SimCluster, cache: WatchCache
) -> None:
    put_pod(sim, "nginx", failing=True)
    wait_until(lambda: cache.pod("default", "nginx") is not None)
    assert (
        cache.credentials().check("default", ["myregistrykey"], "10.0.0.130:5000").state.value
        == "secrets_absent"
    )
    sim.store.create(
        "secrets", stamp_new(registry_secret("default", "myregistrykey", "10.0.0.130:5000"), sim.clock)
    )
    wait_until(
        lambda: cache.credentials().hosts("default", "myregistrykey") == frozenset({"10.0.0.130:5000"})
    )
    assert "dTpw" not in repr(cache.credentials())  # hosts only, never the login
    assert (
        cache.credentials().check("default", ["myregistrykey"], "10.0.0.130:5000").state.value == "has_entry"
    )
    assert ("default", "nginx") in cache.drain_changed()  # re-diagnose pods of that namespace
    sim.store.delete("secrets", "default", "myregistrykey")
    wait_until(lambda: cache.credentials().hosts("default", "myregistrykey") is None)


def test_a_dropped_stream_resumes_from_the_last_version_without_listing_again(
    sim: SimCluster, cache: WatchCache
) -> None:
    stats = cache.stats[(Resource.PODS, "")]
    sim.faults.drop_watches()
    put_pod(sim, "after-drop")
    wait_until(lambda: cache.pod("default", "after-drop") is not None)
    # The event may still ride the old stream before the drop lands; the resume follows either way.
    wait_until(lambda: stats.resumes >= 1)
    assert stats.lists == 1 and stats.relists_after_gone == 0


def test_410_gone_relists_and_forgets_pods_deleted_meanwhile(sim: SimCluster, cache: WatchCache) -> None:
    put_pod(sim, "doomed")
    wait_until(lambda: cache.pod("default", "doomed") is not None)
    stats = cache.stats[(Resource.PODS, "")]
    sim.faults.expire_watches(count=3)  # the resumed watches get an in-stream 410 Expired
    sim.faults.drop_watches()
    sim.store.delete("pods", "default", "doomed")
    put_pod(sim, "newcomer")
    wait_until(lambda: stats.relists_after_gone >= 1 and stats.lists >= 2)
    wait_until(lambda: cache.pod("default", "newcomer") is not None)
    assert cache.pod("default", "doomed") is None  # deleted while the watch was gone: the relist forgot it
    assert stats.relists_after_gone >= 1


@pytest.mark.slow  # counts reconnects over a second
def test_api_down_backs_off_then_catches_up(sim: SimCluster, cache: WatchCache) -> None:
    stats = cache.stats[(Resource.PODS, "")]
    sim.faults.api_down()
    try:
        time.sleep(1.0)
        errors = stats.errors
        assert errors >= 2, "reconnects should have been tried and failed"
        # Backoff: 0.05, 0.1, 0.2, 0.4, 0.4 ... s — about six attempts a second, never a busy loop.
        assert errors <= 12
        put_pod(sim, "while-down")
    finally:
        sim.faults.api_up()
    wait_until(lambda: cache.pod("default", "while-down") is not None)
    assert "cannot reach" in stats.last_error or "interrupted" in stats.last_error


@pytest.mark.usefixtures("quick_read_retries")
def test_server_errors_on_list_are_retried(sim: SimCluster) -> None:
    put_pod(sim, "web")
    # 8 = two lists that fail after the client's own read retries (1 try + 3 retries each)
    sim.faults.fail(503, count=8, path="^/api/v1/pods$", method="GET")
    clusters = Clusters(str(sim.kubeconfig_path))
    watch = WatchCache(clusters.get(), now=sim.clock.now, backoff=FAST)
    try:
        watch.start()
        assert watch.wait_synced(10)
        assert watch.stats[(Resource.PODS, "")].errors >= 2
        assert watch.pod("default", "web") is not None
    finally:
        watch.stop()
        clusters.close()


def test_configured_namespaces_are_watched_one_by_one(sim: SimCluster) -> None:
    put_pod(sim, "web")
    sim.store.create(
        "namespaces",
        stamp_new(active_namespace("shop"), sim.clock),
    )
    put_pod(sim, "cart", namespace="shop")
    clusters = Clusters(str(sim.kubeconfig_path))
    watch = WatchCache(clusters.get(), now=sim.clock.now, backoff=FAST, namespaces=["shop"])
    try:
        watch.start()
        assert watch.wait_synced(10)
        assert {(p.namespace, p.name) for p in watch.pods()} == {("shop", "cart")}
        assert set(watch.stats) == {(r, "shop") for r in Resource}
        assert watch.credentials().knows("shop") and not watch.credentials().knows("default")
    finally:
        watch.stop()
        clusters.close()


def test_stop_ends_idle_watches_at_once(sim: SimCluster) -> None:
    clusters = Clusters(str(sim.kubeconfig_path))
    watch = WatchCache(clusters.get(), now=sim.clock.now, watch_timeout=300)
    watch.start()
    assert watch.wait_synced(10)
    started = time.monotonic()
    watch.stop()
    assert time.monotonic() - started < 2
    assert not watch.running
    clusters.close()


def recomputed(cache: WatchCache) -> tuple[set[tuple[str, str]], Counter[str]]:
    """The problem set and STATUS totals computed afresh from every cached pod."""
    pods = cache.pods()
    return {p.key for p in pods if not is_quiet(p)}, status_totals(pods, Scope(cache.context))


def test_problem_pods_and_status_totals_follow_every_change(sim: SimCluster, cache: WatchCache) -> None:
    pods_before, totals_before = len(cache), cache.status_totals()  # the control plane's static pods
    problems_before = {p.key for p in cache.problems()}
    for i in range(4):
        put_pod(sim, f"ok-{i}")
    put_pod(sim, "bad", failing=True)
    sim.store.create("namespaces", stamp_new(active_namespace("shop"), sim.clock))
    put_pod(sim, "bad", failing=True, namespace="shop")
    wait_until(lambda: len(cache) == pods_before + 6)
    assert {p.key for p in cache.problems()} == problems_before | {("default", "bad"), ("shop", "bad")}
    assert cache.status_totals() == totals_before + Counter({"Running": 4, "ImagePullBackOff": 2})
    assert cache.status_totals(lambda ns: ns == "shop") == Counter({"ImagePullBackOff": 1})

    fixed = sim.store.get("pods", "default", "bad").load()  # the pull works: quiet again
    fixed["status"]["containerStatuses"][0].update(state={"running": {"startedAt": "2026-03-01T12:00:00Z"}})
    fixed["status"]["phase"] = "Running"
    sim.store.update("pods", fixed)
    stored = sim.store.get("pods", "default", "ok-0").load()  # a healthy one starts crashing
    stored["status"]["containerStatuses"][0]["state"] = waiting("CrashLoopBackOff")
    sim.store.update("pods", stored)
    sim.store.delete("pods", "default", "ok-1")
    wanted = problems_before | {("default", "ok-0"), ("shop", "bad")}
    wait_until(lambda: len(cache) == pods_before + 5 and {p.key for p in cache.problems()} == wanted)
    assert ({p.key for p in cache.problems()}, cache.status_totals()) == recomputed(cache)

    stats = cache.stats[(Resource.PODS, "")]
    sim.faults.expire_watches(count=3)  # a 410 relist; meanwhile a problem pod goes away
    sim.faults.drop_watches()
    sim.store.delete("pods", "shop", "bad")
    wait_until(lambda: stats.relists_after_gone >= 1 and cache.pod("shop", "bad") is None)
    assert {p.key for p in cache.problems()} == problems_before | {("default", "ok-0")}
    assert ({p.key for p in cache.problems()}, cache.status_totals()) == recomputed(cache)
    assert cache.status_totals(lambda ns: ns == "shop") == Counter()


def test_cached_findings_are_a_fresh_diagnosis_of_every_pod(sim: SimCluster, cache: WatchCache) -> None:
    def fresh(now: datetime) -> list[Finding]:
        return find_problems(cache.pods(), lambda key: cache.notes_for(*key), cache.credentials(), now)

    def mine(findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if f.pod == "nginx"]

    raw = put_pod(sim, "nginx", failing=True)
    put_pod(sim, "fine")
    wait_until(lambda: cache.pod("default", "nginx") is not None and cache.pod("default", "fine") is not None)
    now = sim.clock.now()
    first = mine(cache.findings(now))
    assert cache.findings(now) == fresh(now) and len(first) == 1 and first[0].cause is not None
    assert mine(cache.findings(now + timedelta(minutes=5)))[0] is first[0]  # the same finding, reused

    # The kubelet's event names the cause: learned, and the findings follow.
    sim.store.create("events", stamp_new(event(raw, "Failed", PULL_AUTH, container="nginx"), sim.clock))
    wait_until(lambda: bool(cache.notes_for("default", "nginx")))
    later = now + timedelta(minutes=6)
    assert cache.findings(later) == fresh(later)
    learned = mine(cache.findings(later))[0]
    assert learned.cause != first[0].cause

    # A registry secret appears (for another registry): the same pod is diagnosed anew.
    sim.store.create(
        "secrets", stamp_new(registry_secret("default", "myregistrykey", "elsewhere.io"), sim.clock)
    )
    wait_until(lambda: cache.credentials().hosts("default", "myregistrykey") is not None)
    for minutes in (7, 30, 24 * 60):
        moment = now + timedelta(minutes=minutes)
        assert cache.findings(moment) == fresh(moment)
    assert mine(cache.findings(later))[0] != learned
    assert cache.findings(now, lambda ns: ns == "shop") == []
    assert mine(cache.findings(now, lambda ns: ns == "default")) == mine(fresh(now))


def test_a_namespace_whose_first_pod_arrives_later_is_known_to_have_no_registry_secrets(
    sim: SimCluster, cache: WatchCache
) -> None:
    assert not cache.credentials().knows("late")  # built before any pod of "late" existed
    sim.store.create("namespaces", stamp_new(active_namespace("late"), sim.clock))
    put_pod(sim, "first", failing=True, namespace="late")
    wait_until(lambda: cache.pod("late", "first") is not None)
    check = cache.credentials().check("late", ["myregistrykey"], "10.0.0.130:5000")
    assert check.state.value == "secrets_absent"  # listed, and none there (not "unknown")
