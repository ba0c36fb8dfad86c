"""Static pods from manifest folders and manifest URLs, and their mirror pods."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podbot.sim.kubelet.staticpods import check_loopback
from tests.support.net import QuickHTTPServer
from tests.support.seed import STATIC_WEB
from tests.support.simkube import KubeEnv

JSON = dict[str, Any]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[KubeEnv]:
    cluster = KubeEnv(tmp_path, control_plane_static_pods=True)
    cluster.advance(15)
    yield cluster
    cluster.close()


def test_kubeadm_control_plane_runs_as_static_pods_on_the_first_node(env: KubeEnv) -> None:
    manifests = sorted(p.name for p in env.pool.static_pod_dir("node01").iterdir())
    assert manifests == [
        "etcd.yaml",
        "kube-apiserver.yaml",
        "kube-controller-manager.yaml",
        "kube-scheduler.yaml",
    ]
    assert list(env.pool.static_pod_dir("node02").iterdir()) == []
    node = env.store.get("nodes", "", "node01").load()
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        pod = env.pod(f"{component}-node01", "kube-system")
        meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
        annotations = meta["annotations"]
        assert annotations["kubernetes.io/config.mirror"] == annotations["kubernetes.io/config.hash"]
        assert len(annotations["kubernetes.io/config.hash"]) == 32
        assert annotations["kubernetes.io/config.source"] == "file"
        assert annotations["kubernetes.io/config.seen"].startswith("2025-03-01T09:00:00")
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "v1",
                "controller": True,
                "kind": "Node",
                "name": "node01",
                "uid": node["metadata"]["uid"],
            }
        ]
        assert meta["labels"] == {"component": component, "tier": "control-plane"}
        assert spec["nodeName"] == "node01" and spec["hostNetwork"] is True
        assert (spec["priority"], spec["priorityClassName"]) == (2000001000, "system-node-critical")
        assert spec["tolerations"] == [{"effect": "NoExecute", "operator": "Exists"}]
        assert "serviceAccountName" not in spec
        assert status["phase"] == "Running" and status["podIP"] == "10.0.0.130"
        assert status["qosClass"] == "Burstable"
        container = status["containerStatuses"][0]
        assert container["image"].startswith("registry.k8s.io/") and container["ready"] is True
    assert env.pool.logs("kube-system", "kube-apiserver-node01", None)[1].endswith(
        "server.go:148] Version: v1.32.4"
    )


def test_deleting_a_mirror_pod_is_undone(env: KubeEnv) -> None:
    before = env.pod("etcd-node01", "kube-system")
    env.delete_pod("etcd-node01", "kube-system")  # graceful: the API server only marks it
    env.advance(1)
    after = env.pod("etcd-node01", "kube-system")
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert (
        after["metadata"]["annotations"]["kubernetes.io/config.mirror"]
        == before["metadata"]["annotations"]["kubernetes.io/config.mirror"]
    )
    assert "deletionTimestamp" not in after["metadata"]
    # The static pod itself never stopped: same container, same start.
    assert (
        after["status"]["containerStatuses"][0]["containerID"]
        == before["status"]["containerStatuses"][0]["containerID"]
    )
    assert after["status"]["phase"] == "Running"
    env.store.delete("pods", "kube-system", "etcd-node01")  # --force --grace-period=0
    env.advance(1)
    again = env.pod("etcd-node01", "kube-system")
    assert again["metadata"]["uid"] not in (before["metadata"]["uid"], after["metadata"]["uid"])
    assert (
        again["status"]["containerStatuses"][0]["state"] == before["status"]["containerStatuses"][0]["state"]
    )


def test_removing_a_manifest_stops_the_pod_and_deletes_its_mirror(env: KubeEnv) -> None:
    (env.pool.static_pod_dir("node01") / "kube-scheduler.yaml").unlink()
    env.advance(20)  # the next fileCheckFrequency scan
    assert ("Normal", "Killing", "Stopping container kube-scheduler") in env.messages(
        "kube-scheduler-node01", "kube-system"
    )
    env.advance(35)  # kube-scheduler exits on SIGTERM well inside its grace period
    assert not env.exists("kube-scheduler-node01", "kube-system")
    assert env.exists("etcd-node01", "kube-system")


def test_a_manifest_appearing_makes_a_static_pod_and_editing_it_replaces_the_pod(env: KubeEnv) -> None:
    manifest = env.pool.static_pod_dir("node02") / "static-web.yaml"
    manifest.write_text(STATIC_WEB)
    env.advance(20)
    pod = env.pod("static-web-node02")
    assert pod["metadata"]["labels"] == {"app": "static"}
    assert pod["metadata"]["annotations"]["kubernetes.io/config.source"] == "file"
    assert pod["spec"]["nodeName"] == "node02"
    assert "serviceAccountName" not in pod["spec"] and "volumes" not in pod["spec"]
    assert pod["spec"]["tolerations"] == [{"effect": "NoExecute", "operator": "Exists"}]
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["podIP"].startswith("10.244.1.")
    first_hash = pod["metadata"]["annotations"]["kubernetes.io/config.hash"]
    first_container = pod["status"]["containerStatuses"][0]["containerID"]
    manifest.write_text(STATIC_WEB.replace("image: nginx", "image: nginx:1.25"))
    env.pool.sync_static_pods("node02")
    env.advance(10)
    pod = env.pod("static-web-node02")
    assert pod["metadata"]["annotations"]["kubernetes.io/config.hash"] != first_hash
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert pod["status"]["containerStatuses"][0]["containerID"] != first_container
    assert pod["status"]["phase"] == "Running"


def test_bad_manifests_are_skipped(env: KubeEnv) -> None:
    folder = env.pool.static_pod_dir("node02")
    (folder / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: [")
    (folder / "deployment.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n")
    (folder / ".hidden.yaml").write_text(STATIC_WEB)
    (folder / "web.yaml").write_text(STATIC_WEB)
    env.advance(20)
    items, _, _ = env.store.list("pods", "default")
    assert [s.name for s in items] == ["static-web-node02"]


class _ManifestServer:
    """A loopback HTTP server that serves whatever manifest the test sets."""

    def __init__(self) -> None:
        self.body = b""
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/yaml")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = QuickHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/manifests"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def manifest_server() -> Iterator[_ManifestServer]:
    server = _ManifestServer()
    yield server
    server.close()


def test_manifest_url_serves_static_pods(env: KubeEnv, manifest_server: _ManifestServer) -> None:
    manifest_server.body = (
        b"apiVersion: v1\nkind: PodList\nitems:\n"
        b"- apiVersion: v1\n  kind: Pod\n  metadata: {name: url-a, namespace: default}\n"
        b"  spec: {containers: [{name: c, image: redis}]}\n"
        b"- apiVersion: v1\n  kind: Pod\n  metadata: {name: url-b}\n"
        b"  spec: {containers: [{name: c, image: busybox, command: [sleep, '3600']}]}\n"
    )
    env.pool.set_manifest_url("node02", manifest_server.url)
    env.advance(5)
    a = env.pod("url-a-node02")
    assert a["metadata"]["annotations"]["kubernetes.io/config.source"] == "http"
    # Only file manifests get the kubelet's catch-all toleration; URL pods get the admission defaults.
    assert [t["key"] for t in a["spec"]["tolerations"]] == [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ]
    assert a["status"]["phase"] == "Running"
    assert env.exists("url-b-node02")
    manifest_server.body = (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: url-a}\nspec: {containers: [{name: c, image: redis}]}\n"
    )
    env.advance(20)  # httpCheckFrequency
    env.advance(35)  # url-b's sleep ignores SIGTERM: it goes after its grace period
    assert env.exists("url-a-node02") and not env.exists("url-b-node02")
    env.pool.set_manifest_url("node02", None)
    env.advance(5)
    assert not env.exists("url-a-node02")


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5/manifests", "http://example.com/x", "ftp://127.0.0.1/x", "not a url"]
)
def test_manifest_urls_must_stay_on_loopback(url: str) -> None:
    with pytest.raises(ValueError, match="manifest URL"):
        check_loopback(url)


def test_loopback_urls_are_accepted() -> None:
    for url in ("http://127.0.0.1:8080/m", "http://localhost/m", "http://[::1]:9/m", "https://127.0.0.2/m"):
        check_loopback(url)
