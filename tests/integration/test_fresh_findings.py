"""Alerts and digests re-read the API before they post (issue 13, items 1 and 4): the pull secrets
and the ServiceAccount a finding rests on, and the crashed container's last log lines, which the
watch cache does not keep. On podbot.sim with the real watch cache and client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from podbot.commands import parse
from podbot.core.diagnosis.credentials import RegistryCredentialIndex
from podbot.core.diagnosis.findings import FindingKind
from podbot.core.diagnosis.pull_causes import PullCause
from podbot.core.diagnosis.rules import diagnose
from podbot.core.digests import AlertGroup
from podbot.core.model import CreateRegistrySecret, Secret
from podbot.k8s import actions
from podbot.k8s.client import Clusters
from podbot.k8s.watch import Backoff, WatchCache
from podbot.render.digests import render_alert
from podbot.sim.cluster import SimCluster
from tests.support.blockkit import assert_valid_message
from tests.support.seed import SEED_POD


@pytest.fixture
def sim() -> Iterator[SimCluster]:
    with SimCluster(speed=0) as cluster:
        yield cluster


@pytest.fixture
def cache(sim: SimCluster) -> Iterator[WatchCache]:
    clusters = Clusters(str(sim.kubeconfig_path))
    watch = WatchCache(clusters.get(), now=sim.clock.now, backoff=Backoff(initial=0.05, maximum=0.4))
    watch.start()
    assert watch.wait_synced(10)
    try:
        yield watch
    finally:
        watch.stop()
        clusters.close()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the watch cache did not catch up"
        time.sleep(0.05)


def test_a_secret_the_cache_has_not_seen_yet_is_read_before_the_alert_is_posted(
    sim: SimCluster, cache: WatchCache
) -> None:
    actions.create_from_manifest(parse("create\n" + SEED_POD), cache.kube)  # type: ignore[arg-type]
    sim.advance(60)
    eventually(lambda: (p := cache.pod("default", "nginx")) is not None and p.status == "ImagePullBackOff")
    pod = cache.pod("default", "nginx")
    assert pod is not None
    # What the alert cycle computed a moment ago, before the secret existed (a lagging cache).
    stale = RegistryCredentialIndex.build([], namespaces=["default"])
    (cached,) = diagnose(pod, cache.notes_for("default", "nginx"), stale, sim.clock.now())
    assert cached.cause is PullCause.CREDENTIALS_MISSING
    secret = CreateRegistrySecret(
        name="myregistrykey", server="10.0.0.130:5000", username="test", password=Secret("123456")
    )
    actions.create_registry_secret(secret, cache.kube)
    group = AlertGroup(cache.context, cached.group_key, (cached,))

    refreshed = actions.refresh_findings(
        cache.kube, group.findings, cache.pod, cache.notes_for, stale, sim.clock.now()
    )
    (fresh,) = refreshed
    assert fresh.cause is PullCause.CREDENTIALS_UPDATED
    assert fresh.group_key == cached.group_key  # the same alert, now telling the truth
    text = str(render_alert(AlertGroup(cache.context, group.key, tuple(refreshed)), "en").blocks)
    assert "Found: the kubelet has not tried it yet" in text and "does not exist" not in text


def test_crash_findings_get_the_last_ten_redacted_log_lines_before_posting(
    sim: SimCluster, cache: WatchCache
) -> None:
    script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line $i; done; echo db password=hunter22; exit 3"
    run = parse(f"run crasher --image=busybox:1.36 --command -- sh -c '{script}'")
    actions.run_pod(run, cache.kube)  # type: ignore[arg-type]
    sim.advance(90)
    eventually(lambda: (p := cache.pod("default", "crasher")) is not None and p.status == "CrashLoopBackOff")
    pod = cache.pod("default", "crasher")
    assert pod is not None
    (cached,) = diagnose(pod, cache.notes_for("default", "crasher"), cache.credentials(), sim.clock.now())
    assert cached.kind is FindingKind.CRASH_LOOP and cached.evidence.log_tail == ()  # the cache keeps none

    (fresh,) = actions.refresh_findings(
        cache.kube, [cached], cache.pod, cache.notes_for, cache.credentials(), sim.clock.now()
    )
    assert fresh.kind is FindingKind.CRASH_LOOP
    assert fresh.evidence.log_tail == (*(f"line {i}" for i in range(4, 13)), "db password=***")
    rendered = render_alert(AlertGroup(cache.context, fresh.group_key, (fresh,)), "en")
    assert_valid_message(rendered)
    text = str(rendered.blocks)
    assert "Last lines of the crashed run" in text and "line 12" in text and "hunter22" not in text


def test_findings_that_need_nothing_from_the_api_cost_no_request(sim: SimCluster, cache: WatchCache) -> None:
    class NoCalls:
        context = cache.context

        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"the API was called ({name})")

    manifest = SEED_POD.replace("spec:\n", "spec:\n  nodeSelector: {disktype: none-such}\n", 1)
    actions.create_from_manifest(parse("create\n" + manifest), cache.kube)  # type: ignore[arg-type]
    sim.advance(120)
    eventually(
        lambda: (p := cache.pod("default", "nginx")) is not None and p.scheduled_reason == "Unschedulable"
    )
    pod = cache.pod("default", "nginx")
    assert pod is not None
    (cached,) = diagnose(pod, cache.notes_for("default", "nginx"), cache.credentials(), sim.clock.now())
    assert cached.kind is FindingKind.UNSCHEDULABLE
    same = actions.refresh_findings(
        NoCalls(),  # type: ignore[arg-type]
        [cached],
        cache.pod,
        cache.notes_for,
        cache.credentials(),
        sim.clock.now(),
    )
    assert same == [cached]
