"""podbot's output next to the real kubectl's, on the same podbot.sim cluster, compared to the character.

Skipped (with the reason) when kubectl is not installed, unless CI=true.
"""

from __future__ import annotations

import json
import re
import shlex
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


# --- run: kubectl run --dry-run=client|server -o yaml|json --------------------------------------

RUN_CASES = [
    "run nginx --image=nginx:1.16",
    "run web --image=nginx --restart=Never --image-pull-policy=Always --port=80 --env=A=1 --env=-._a1=x"
    " --labels=x=y,z=w --annotations=k=v --privileged -- sh -c 'echo hi'",
    "run web --image=nginx --restart= --image-pull-policy= --port= --env= --annotations= --labels=",
    "run box --image=busybox --command",
    "run box --image=busybox --command -- sleep 1",
    "run web --image=nginx --privileged=false",
    "run web --image=nginx --override-type=strategic"
    ' --overrides=\'{"spec":{"containers":[{"name":"web","resources":{"limits":{"cpu":"1"}}}]}}\'',
    "run web --image=nginx --override-type=merge"
    ' --overrides=\'{"spec":{"containers":[{"name":"web","resources":{"limits":{"cpu":"1"}}}]}}\'',
    "run web --image=nginx --env=A=1 --override-type=strategic"
    ' --overrides=\'{"spec":{"containers":[{"name":"web","env":[{"name":"B","value":"2"}]}]}}\'',
    "run web --image=nginx --override-type=json"
    ' --overrides=\'[{"op":"add","path":"/spec/hostNetwork","value":true}]\'',
    "run web --image=nginx --override-type= --overrides='{}'",
    'run web --image=nginx --overrides=\'{"metadata":{"labels":{"team":"a"}},"spec":{"nodeName":"node02"}}\'',
    "run web --image=nginx -n kube-system",
]


def with_flags(case: str, *flags: str) -> str:
    """The command line with ``flags`` before any ``--`` (after it, words are the container's args)."""
    head, sep, rest = case.partition(" -- ")
    return f"{head} {' '.join(flags)}{sep}{rest}"


@pytest.mark.parametrize("output", ["yaml", "json", "name"])
@pytest.mark.parametrize("case", RUN_CASES)
def test_run_client_dry_run_prints_what_kubectl_prints(
    kube: KubeClient, kubectl: Kubectl, case: str, output: str
) -> None:
    text = with_flags(case, "--dry-run=client", "-o", output)
    theirs = kubectl(*shlex.split(text))
    result = actions.run_pod(parse(text), kube)  # type: ignore[arg-type]
    assert result.printed is not None and result.dry_run
    assert result.printed.text == theirs


def normalized(text: str) -> str:
    """What differs between two server dry runs of the same pod: uid, creation time, token volume."""
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UID", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME", text)
    return re.sub(r"kube-api-access-[a-z0-9]{5}", "kube-api-access-XXXXX", text)


@pytest.mark.parametrize("output", ["yaml", "json"])
@pytest.mark.parametrize(
    "case",
    [
        "run web --image=nginx:1.16",
        "run web --image=nginx:1.16 --port=80 --env=A=1 --privileged --restart=Never -n parity",
    ],
)
def test_run_server_dry_run_prints_the_servers_object_as_kubectl(
    kube: KubeClient, kubectl: Kubectl, pods: list[str], case: str, output: str
) -> None:
    text = with_flags(case, "--dry-run=server", "-o", output)
    theirs = kubectl(*shlex.split(text))
    result = actions.run_pod(parse(text), kube)  # type: ignore[arg-type]
    assert result.printed is not None and result.dry_run
    assert normalized(result.printed.text) == normalized(theirs)


@pytest.mark.parametrize(
    "case",
    [
        "run web --image=nginx --restart=never",
        "run web --image=nginx --restart=ALWAYS",
        "run web --image=nginx --image-pull-policy=always",
        "run web --image=nginx --image-pull-policy=Bogus",
        "run web --image=nginx --dry-run=CLIENT",
        "run web --image=nginx --dry-run=maybe",
        "run web --image=nginx --env=1BAD=x",
        "run web --image=nginx '--env=A B=x'",
        "run web --image=nginx --env==x",
        "run web --image=nginx --env=NOEQUALS",
        "run web --image=nginx --override-type=JSON --overrides='[]'",
        "run web --image=nginx --override-type=patch --overrides='{}'",
        "run web --image=nginx --port=http",
        "run web --image=nginx -o wide",
    ],
)
def test_run_refuses_what_kubectl_refuses(kube: KubeClient, kubectl: Kubectl, case: str) -> None:
    from podbot.core.errors import UsageError

    text = case if "--dry-run" in case else with_flags(case, "--dry-run=client")  # never creates anything
    kubectl.fails(*shlex.split(text))
    with pytest.raises(UsageError):
        parse(text)
