"""The kubelet half seen through the real kubectl: the seed's pull failure and its fix, static pods,
logs and events (issue 2, "what it must show", items 3 and 4)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podbot.sim import cluster as cluster_module
from tests.support import sim as sim_support
from tests.support.seed import SEED_POD, SEED_PULL_ERROR, STATIC_WEB

pytestmark = pytest.mark.kubectl


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with cluster_module.SimCluster(speed=0, state_dir=tmp_path_factory.mktemp("sim")) as sim:
        sim.advance(20)  # the control plane's static pods start
        yield sim


@pytest.fixture(scope="module")
def kubectl(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    binary = sim_support.kubectl_path()
    if binary is None:
        pytest.skip("kubectl is not on PATH (these tests drive the real kubectl)")
    return sim_support.Kubectl(binary, cluster.kubeconfig_path, tmp_path_factory.mktemp("kubectl-home"))


def _rows(output: str) -> dict[str, list[str]]:
    lines = [line for line in output.splitlines() if line.strip()]
    return {cols[0]: cols for cols in (re.split(r"\s{2,}", line.strip()) for line in lines[1:])}


def _jsonpath(kubectl: Any, *args: str) -> str:
    return str(kubectl(*args)).strip()


def test_seed_pod_fails_to_pull_then_runs_once_the_secret_exists(cluster: Any, kubectl: Any) -> None:
    k = kubectl
    manifest = Path(cluster.state_dir) / "nginx-pod.yaml"
    manifest.write_text(SEED_POD)
    assert k("create", "-f", str(manifest)).strip() == "pod/nginx created"
    uid = _jsonpath(k, "get", "pod", "nginx", "-o", "jsonpath={.metadata.uid}")
    statuses = set()
    for _ in range(6):
        cluster.advance(10)
        row = _rows(k("get", "pod", "nginx"))["nginx"]
        assert row[1] == "0/1"
        statuses.add(row[2])
    assert statuses == {"ErrImagePull", "ImagePullBackOff"}
    describe = k("describe", "pod", "nginx")
    failed = next(line for line in describe.splitlines() if SEED_PULL_ERROR in line)
    assert re.match(r"^\s+Warning\s+Failed\s+.*\(x\d+ over .*\)\s+kubelet\s+", failed), failed
    assert re.search(
        r"Normal\s+BackOff\s+.*kubelet\s+Back-off pulling image \"10.0.0.130:5000/nginx:latest\"", describe
    )
    assert "Reason:       ImagePullBackOff" in describe or "Reason:       ErrImagePull" in describe
    assert k.fails("logs", "nginx").strip() in (
        'Error from server (BadRequest): container "nginx" in pod "nginx" is waiting to start: '
        "trying and failing to pull image",
        'Error from server (BadRequest): container "nginx" in pod "nginx" is waiting to start: '
        "image can't be pulled",
    )

    created = k(
        "create", "secret", "docker-registry", "myregistrykey", "--docker-server=10.0.0.130:5000",
        "--docker-username=test", "--docker-password=123456",
    )  # fmt: skip
    assert created.strip() == "secret/myregistrykey created"
    cluster.advance(310)  # at most one full 5m back-off
    row = _rows(k("get", "pod", "nginx"))["nginx"]
    assert row[1:4] == ["1/1", "Running", "0"]
    assert _jsonpath(k, "get", "pod", "nginx", "-o", "jsonpath={.metadata.uid}") == uid  # not recreated
    assert k("logs", "nginx", "--tail=1").startswith("10.244.")


def test_events_are_counted_like_a_real_kubelet_reports_them(kubectl: Any) -> None:
    events = json.loads(
        kubectl("get", "events", "--field-selector", "involvedObject.name=nginx", "-o", "json")
    )
    failed = [e for e in events["items"] if e["message"] == SEED_PULL_ERROR]
    assert len(failed) == 1 and failed[0]["count"] >= 2
    assert failed[0]["source"]["component"] == "kubelet"
    scheduled = [e for e in events["items"] if e["reason"] == "Scheduled"]
    assert scheduled[0]["reportingComponent"] == "default-scheduler"
    text = kubectl("get", "events", "--field-selector", "involvedObject.name=nginx")
    assert text.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert "pod/nginx" in text and "Back-off pulling image" in text


def test_logs_previous_and_errors(cluster: Any, kubectl: Any) -> None:
    k = kubectl
    k("run", "crash", "--image=podbot/crash:1.0")
    k(
        "run",
        "two",
        "--image=nginx:1.25",
        "--overrides",
        json.dumps(
            {"spec": {"containers": [{"name": "a", "image": "nginx:1.25"}, {"name": "b", "image": "redis"}]}}
        ),
    )
    cluster.advance(40)
    previous = k("logs", "crash", "--previous").splitlines()
    assert (
        previous[0].endswith("INFO starting orders-api v2.3.1 (pid 1)")
        and previous[-1] == "KeyError: 'DATABASE_URL'"
    )
    row = _rows(k("get", "pod", "crash"))["crash"]
    assert row[2] in ("CrashLoopBackOff", "Error", "Running") and int(row[3].split()[0]) >= 2
    assert "Ready to accept connections tcp" in k("logs", "two", "-c", "b")
    assert k.fails("logs", "two", "-c", "c").strip() == "error: container c is not valid for pod two"
    stamped = k("logs", "two", "-c", "a", "--timestamps", "--tail=1").strip()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z 10\.244\.", stamped), stamped


def test_control_plane_static_pods_and_their_mirrors(cluster: Any, kubectl: Any) -> None:
    k = kubectl
    rows = _rows(k("get", "pods", "-n", "kube-system"))
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert rows[f"{component}-node01"][1:3] == ["1/1", "Running"]
    pod = json.loads(k("get", "pod", "etcd-node01", "-n", "kube-system", "-o", "json"))
    annotations = pod["metadata"]["annotations"]
    assert annotations["kubernetes.io/config.mirror"] == annotations["kubernetes.io/config.hash"]
    assert annotations["kubernetes.io/config.source"] == "file"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Node"
    describe = k("describe", "pod", "etcd-node01", "-n", "kube-system")
    assert "Controlled By:  Node/node01" in describe
    assert "Priority Class Name:  system-node-critical" in describe
    # Deleting a mirror pod does nothing lasting: the kubelet makes a new one for the running pod.
    assert k("delete", "pod", "etcd-node01", "-n", "kube-system").strip() == 'pod "etcd-node01" deleted'
    cluster.advance(1)
    again = json.loads(k("get", "pod", "etcd-node01", "-n", "kube-system", "-o", "json"))
    assert again["metadata"]["uid"] != pod["metadata"]["uid"]
    assert (
        again["status"]["containerStatuses"][0]["containerID"]
        == pod["status"]["containerStatuses"][0]["containerID"]
    )


def test_a_manifest_in_the_static_pod_path_makes_a_pod_until_it_is_removed(
    cluster: Any, kubectl: Any
) -> None:
    k = kubectl
    manifest = cluster.kubelets.static_pod_dir("node02") / "static-web.yaml"
    manifest.write_text(STATIC_WEB)
    cluster.advance(21)  # fileCheckFrequency
    row = _rows(k("get", "pods", "-o", "wide"))["static-web-node02"]
    assert row[1:3] == ["1/1", "Running"] and row[6] == "node02"
    assert "Controlled By:  Node/node02" in k("describe", "pod", "static-web-node02")
    manifest.unlink()
    cluster.advance(21)
    deadline = time.monotonic() + 10
    while "static-web-node02" in k("get", "pods", "-o", "name") and time.monotonic() < deadline:
        cluster.advance(1)
    assert "pod/static-web-node02" not in k("get", "pods", "-o", "name").split()


def test_following_a_quiet_container_starts_the_stream_at_once(cluster: Any, kubectl: Any) -> None:
    kubectl("run", "quiet", "--image=busybox:1.36", "--command", "--", "sleep", "3600")
    cluster.advance(5)
    api = sim_support.Api(cluster.url, cluster.ca_pem, cluster.admin_token)
    conn = api.connect(timeout=5)
    try:
        conn.putrequest("GET", "/api/v1/namespaces/default/pods/quiet/log?follow=true")
        conn.putheader("Authorization", f"Bearer {cluster.admin_token}")
        conn.endheaders()
        response = conn.getresponse()  # headers come now, although the container has said nothing
        assert response.status == 200
    finally:
        conn.close()
    # An error still comes back as an error (400), not as a stream.
    status, body = api.json("GET", "/api/v1/namespaces/default/pods/quiet/log?follow=true&container=nope")
    assert (status, body["message"]) == (400, "container nope is not valid for pod quiet")
