"""podbot's output next to the real kubectl's, on the same podbot.sim cluster, compared to the character.

Skipped (with the reason) when kubectl is not installed, unless CI=true.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from podbot.commands import parse
from podbot.core.model import GetPods
from podbot.k8s import actions
from podbot.k8s.client import Clusters, KubeClient
from podbot.sim.cluster import SimCluster
from tests.support.sim import Kubectl

pytestmark = pytest.mark.kubectl

# What a real API server records on every write (the simulator may not, yet): written into the
# simulator's store directly, so both kubectl and podbot read objects that carry them.
MANAGED_FIELDS = [
    {
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:run": {}}}, "f:spec": {"f:containers": {}}},
        "manager": "kubectl-run",
        "operation": "Update",
        "time": "2026-03-01T12:00:00Z",
    },
    {
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:status": {"f:phase": {}}},
        "manager": "kubelet",
        "operation": "Update",
        "subresource": "status",
        "time": "2026-03-01T12:00:05Z",
    },
]

AWKWARD_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: awkward
  labels: {app: web, x: "y", a10: "1", a9: "2", aB: "3", a_b: "4", "n": "no"}
  annotations:
    note: "line one\\nline two\\n"
    trailing: "ends with space "
    colon: "a: b"
    long: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut"
    zh: "镜像拉取失败：没有基本认证凭据"
    html: "<none> & more"
    date: "2026-01-02"
    hex: "0x1F"
    exp: "1e3"
    empty: ""
spec:
  containers:
  - name: nginx
    image: 10.0.0.130:5000/nginx:latest
    env: [{name: MULTI, value: "a\\n  b\\nc"}, {name: T, value: "true"}]
  imagePullSecrets: [{name: myregistrykey}]
"""


@pytest.fixture(scope="module")
def kube(sim_cluster: SimCluster) -> Iterator[KubeClient]:
    clusters = Clusters(str(sim_cluster.kubeconfig_path))
    yield clusters.get()
    clusters.close()


@pytest.fixture(scope="module")
def pods(sim_cluster: SimCluster, kubectl: Kubectl) -> list[str]:
    kubectl("create", "namespace", "parity")
    kubectl("run", "plain", "--image=nginx:1.16", "-n", "parity")
    kubectl("create", "-n", "parity", "-f", "-", stdin=AWKWARD_POD)
    sim_cluster.advance(30)  # the private registry refuses: long pull error messages in the status
    for name in ("plain", "awkward"):

        def with_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
            obj["metadata"]["managedFields"] = MANAGED_FIELDS
            return obj

        sim_cluster.store.mutate("pods", "parity", name, with_managed_fields)
    return ["plain", "awkward"]


def podbot_get(kube: KubeClient, text: str) -> str:
    request = parse(text)
    assert isinstance(request, GetPods)
    return actions.get_pods(request, kube).text  # type: ignore[union-attr]


@pytest.mark.parametrize("output", ["yaml", "json"])
@pytest.mark.parametrize("target", ["plain", "awkward", "list"])
def test_get_output_is_kubectls_to_the_character(
    kube: KubeClient, kubectl: Kubectl, pods: list[str], output: str, target: str
) -> None:
    names = [] if target == "list" else [target]
    theirs = kubectl("get", "pods", *names, "-n", "parity", "-o", output)
    ours = podbot_get(kube, f"get pods {' '.join(names)} -n parity -o {output}")
    assert "managedFields" not in ours
    assert ours == theirs


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_show_managed_fields_keeps_them_like_kubectl(
    kube: KubeClient, kubectl: Kubectl, pods: list[str], output: str
) -> None:
    theirs = kubectl("get", "pod", "plain", "-n", "parity", "-o", output, "--show-managed-fields")
    ours = podbot_get(kube, f"get pod plain -n parity -o {output} --show-managed-fields")
    assert "kubectl-run" in ours
    assert ours == theirs


def events_block(text: str) -> list[list[str]]:
    """The Events rows of a describe text, without the Age column (kubectl reads the wall clock)."""
    block = text.split("Events:", 1)[1].splitlines()[3:]
    return [
        [c for i, c in enumerate(re.split(r"\s{2,}", line.strip(), maxsplit=4)) if i != 2]
        for line in block
        if line.strip()
    ]


def test_describe_lists_events_in_kubectls_order(
    kube: KubeClient, kubectl: Kubectl, pods: list[str], sim_cluster: SimCluster
) -> None:
    from podbot.core.pods.describe import describe_text

    theirs = kubectl("describe", "pod", "awkward", "-n", "parity")
    request = parse("describe pod awkward -n parity")
    description = actions.describe_pod(request, kube, sim_cluster.clock.now())  # type: ignore[arg-type]
    ours = describe_text(description.pod, description.events, sim_cluster.clock.now(), max_events=100)
    assert events_block(ours) == events_block(theirs)
    assert events_block(ours)[0][1] == "Scheduled"
    status = next(line for line in theirs.splitlines() if line.startswith("Status:"))
    assert status.split() == ["Status:", "Pending"]
    assert "Status:           Pending" in ours


def test_json_escapes_html_like_go(kube: KubeClient, pods: list[str]) -> None:
    text = podbot_get(kube, "get pod awkward -n parity -o json")
    assert "\\u003cnone\\u003e \\u0026 more" in text
    assert json.loads(text)["metadata"]["annotations"]["html"] == "<none> & more"
