"""Shared test fixtures. Integration fixtures (simulator, Slack emulator) live beside their modules."""

from __future__ import annotations

# --- podbot.sim fixtures ------------------------------------------------------------------------
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sim_support import Kubectl

    from podbot.sim.cluster import SimCluster


@pytest.fixture(scope="module")
def sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    """A simulated cluster on an ephemeral port, shared by one test module; time moves only on advance()."""
    from sim_support import ensure_kubelet_half

    ensure_kubelet_half()
    from podbot.sim.cluster import SimCluster

    with SimCluster(speed=0, state_dir=tmp_path_factory.mktemp("sim")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def kubectl(sim_cluster: SimCluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    """The real kubectl bound to ``sim_cluster`` (skipped if kubectl is absent, unless CI=true)."""
    from sim_support import Kubectl, kubectl_path

    binary = kubectl_path()
    if binary is None:
        pytest.skip("kubectl is not on PATH (these tests drive the real kubectl)")
    home: Path = tmp_path_factory.mktemp("kubectl-home")
    return Kubectl(binary, sim_cluster.kubeconfig_path, home)
