"""Shared test fixtures and markers. Integration fixtures (simulator, Slack emulator) live beside
their modules; helpers that several modules use live in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from podbot.k8s import client as kube_client
from podbot.k8s.client import Clusters, KubeClient
from podbot.sim.cluster import SimCluster
from podbot.slack import delivery
from tests.support import sim as sim_support


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives the real kubectl is slow too: every step starts the kubectl binary."""
    for item in items:
        if item.get_closest_marker("kubectl") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def quick_read_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """podbot's Kubernetes reads are retried as in production (the same tries, statuses and
    Retry-After) but with millisecond backoffs: a test of what the retries do need not sit out
    urllib3's 0.5 s + 1 s between them."""
    monkeypatch.setattr(kube_client, "READ_RETRIES", kube_client.READ_RETRIES.new(backoff_factor=0.001))


@pytest.fixture
def quick_response_url_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers through a response_url are retried as in production, 1 ms apart instead of
    slack_sdk's 0.5 s, 1 s, 2 s (each plus up to 1 s of jitter); a 429 still waits its Retry-After."""
    monkeypatch.setattr(delivery, "RESPONSE_URL_BACKOFF", FixedValueRetryIntervalCalculator(0.001))


# --- podbot.sim fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    """A simulated cluster on an ephemeral port, shared by one test module; time moves only on advance()."""
    with SimCluster(speed=0, state_dir=tmp_path_factory.mktemp("sim")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def kube(sim_cluster: SimCluster) -> Iterator[KubeClient]:
    """podbot's real Kubernetes client on ``sim_cluster`` (its kubeconfig, real HTTPS)."""
    clusters = Clusters(str(sim_cluster.kubeconfig_path))
    yield clusters.get()
    clusters.close()


@pytest.fixture(scope="module")
def kubectl(sim_cluster: SimCluster, tmp_path_factory: pytest.TempPathFactory) -> sim_support.Kubectl:
    """The real kubectl bound to ``sim_cluster`` (skipped if kubectl is absent, unless CI=true)."""
    binary = sim_support.kubectl_path()
    if binary is None:
        pytest.skip("kubectl is not on PATH (these tests drive the real kubectl)")
    home: Path = tmp_path_factory.mktemp("kubectl-home")
    return sim_support.Kubectl(binary, sim_cluster.kubeconfig_path, home)
