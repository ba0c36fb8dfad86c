"""Every action against podbot.sim through the real `kubernetes` client config and real HTTP,
checking the cluster's state afterwards, not only what the action returned."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from podbot.commands import parse
from podbot.core.errors import AlreadyExists, Conflict, Invalid, NotFound, NotPermitted
from podbot.core.model import OutputFormat
from podbot.core.results import Changed, Logs, PodDescription, PodTable, RawOutput, StaticPods
from podbot.k8s import actions
from podbot.k8s.client import Clusters, KubeClient
from podbot.sim.cluster import SimCluster
from podbot.sim.objects.store import NotFoundError


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    with SimCluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def kube(sim: SimCluster) -> Iterator[KubeClient]:
    clusters = Clusters(str(sim.kubeconfig_path))
    yield clusters.get()
    clusters.close()


def stored(sim: SimCluster, resource: str, name: str, namespace: str = "default") -> dict:
    return sim.store.get(resource, namespace, name).load()


def test_run_creates_exactly_one_pod_like_kubectl_run(sim: SimCluster, kube: KubeClient) -> None:
    request = parse("kubectl run seed-nginx --image=nginx:1.16 --replicas=3 --generator=run-pod/v1")
    result = actions.run_pod(request, kube)  # type: ignore[arg-type]
    assert isinstance(result, Changed) and result.objects[0].name == "seed-nginx"
    pod = stored(sim, "pods", "seed-nginx")
    assert pod["metadata"]["labels"] == {"run": "seed-nginx"}
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.16"
    assert pod["metadata"]["uid"] == result.objects[0].uid
    assert sum(1 for s in sim.store.list("pods", "default")[0] if s.name.startswith("seed-nginx")) == 1
    with pytest.raises(AlreadyExists):
        actions.run_pod(request, kube)  # type: ignore[arg-type]


def test_server_dry_run_changes_nothing(sim: SimCluster, kube: KubeClient) -> None:
    result = actions.run_pod(parse("run ghost --image=nginx:1.16 --dry-run=server"), kube)  # type: ignore[arg-type]
    assert result.dry_run and result.preview is not None
    with pytest.raises(NotFoundError):
        sim.store.get("pods", "default", "ghost")


def test_create_validates_every_document_before_creating_any(sim: SimCluster, kube: KubeClient) -> None:
    text = """create
apiVersion: v1
kind: Pod
metadata: {name: first-ok}
spec: {containers: [{name: a, image: nginx:1.16}]}
---
apiVersion: v1
kind: Pod
metadata: {name: second-bad}
spec: {containers: [{name: a, image: nginx:1.16, bogusField: 1}]}
"""
    with pytest.raises(Invalid, match="bogusField"):
        actions.create_from_manifest(parse(text), kube)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):  # nothing half-created
        sim.store.get("pods", "default", "first-ok")
    good = text.replace(", bogusField: 1", "")
    result = actions.create_from_manifest(parse(good), kube)  # type: ignore[arg-type]
    assert [o.name for o in result.objects] == ["first-ok", "second-bad"]
    assert stored(sim, "pods", "second-bad")["spec"]["containers"][0]["name"] == "a"


def test_get_table_wide_yaml_json_name_and_selectors(sim: SimCluster, kube: KubeClient) -> None:
    actions.run_pod(parse("run labelled --image=nginx:1.16 --labels=tier=web"), kube)  # type: ignore[arg-type]
    sim.advance(15)
    table = actions.get_pods(parse("get pods -o wide"), kube)  # type: ignore[arg-type]
    assert isinstance(table, PodTable)
    assert table.columns[:5] == ("NAME", "READY", "STATUS", "RESTARTS", "AGE") and "NODE" in table.columns
    names = [row[0] for row in table.rows]
    assert names == sorted(names) and "labelled" in names
    selected = actions.get_pods(parse("get pods -l tier=web"), kube)  # type: ignore[arg-type]
    assert isinstance(selected, PodTable) and [r[0] for r in selected.rows] == ["labelled"]
    everywhere = actions.get_pods(parse("get pods -A"), kube)  # type: ignore[arg-type]
    assert isinstance(everywhere, PodTable) and everywhere.columns[0] == "NAMESPACE"
    assert any(row[0] == "kube-system" for row in everywhere.rows)
    as_yaml = actions.get_pods(parse("get pod labelled -o yaml"), kube)  # type: ignore[arg-type]
    assert isinstance(as_yaml, RawOutput) and "kind: Pod" in as_yaml.text and "name: labelled" in as_yaml.text
    as_json = actions.get_pods(parse("get pods -l tier=web -o json"), kube)  # type: ignore[arg-type]
    assert (
        isinstance(as_json, RawOutput)
        and json.loads(as_json.text)["items"][0]["metadata"]["name"] == "labelled"
    )
    as_names = actions.get_pods(parse("get pods -l tier=web -o name"), kube)  # type: ignore[arg-type]
    assert isinstance(as_names, RawOutput) and as_names.text == "pod/labelled\n"
    missing = actions.get_pods(parse("get pod nope"), kube)  # type: ignore[arg-type]
    assert isinstance(missing, PodTable) and missing.missing == ("nope",)


def test_logs_and_previous_logs(sim: SimCluster, kube: KubeClient) -> None:
    actions.run_pod(parse("run web-logs --image=nginx:1.16"), kube)  # type: ignore[arg-type]
    sim.advance(60)
    logs = actions.pod_logs(parse("logs web-logs --tail=2"), kube)  # type: ignore[arg-type]
    assert isinstance(logs, Logs) and logs.container == "web-logs"
    assert len(logs.text.strip().splitlines()) == 2
    with pytest.raises(Invalid, match="previous terminated container"):
        actions.pod_logs(parse("logs web-logs --previous"), kube)  # type: ignore[arg-type]


def test_seed_story_secret_fixes_the_same_pod(sim: SimCluster, kube: KubeClient) -> None:
    seed = """create
apiVersion: v1
kind: Pod
metadata:
  name: private-nginx
spec:
  containers:
    - name: nginx
      image: 10.0.0.130:5000/nginx:latest
  imagePullSecrets:
    - name: myregistrykey
"""
    created = actions.create_from_manifest(parse(seed), kube)  # type: ignore[arg-type]
    uid = created.objects[0].uid
    sim.advance(30)
    described = actions.describe_pod(
        parse("describe pod private-nginx"),
        kube,  # type: ignore[arg-type]
        datetime.now(UTC),
    )
    assert isinstance(described, PodDescription)
    causes = {f.cause.value for f in described.findings if f.cause is not None}
    assert causes == {"credentials_missing"}
    fix = described.findings[0].fixes[0]
    assert (fix.secret_name, fix.server) == ("myregistrykey", "10.0.0.130:5000")
    assert any("no basic auth credentials" in e.message for e in described.events)
    secret_cmd = (
        "create secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 "
        "--docker-username=test --docker-password=123456"
    )
    actions.create_registry_secret(parse(secret_cmd), kube)  # type: ignore[arg-type]
    secret = stored(sim, "secrets", "myregistrykey")
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert config["auths"]["10.0.0.130:5000"]["username"] == "test"
    sim.advance(310)
    pod = stored(sim, "pods", "private-nginx")
    assert pod["metadata"]["uid"] == uid and pod["status"]["phase"] == "Running"


def test_delete_pins_the_uid_and_refuses_a_replacement(sim: SimCluster, kube: KubeClient) -> None:
    actions.run_pod(parse("run doomed --image=nginx:1.16"), kube)  # type: ignore[arg-type]
    target = actions.plan_delete_pod(parse("delete pod doomed --grace-period=1"), kube)  # type: ignore[arg-type]
    sim.store.delete("pods", "default", "doomed")  # replaced behind our back by a same-named pod
    actions.run_pod(parse("run doomed --image=nginx:1.16"), kube)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        actions.delete_target(target, kube)
    assert stored(sim, "pods", "doomed")["metadata"]["uid"] != target.uid  # the new pod survived
    fresh = actions.plan_delete_pod(parse("delete pod doomed --grace-period=1"), kube)  # type: ignore[arg-type]
    actions.delete_target(fresh, kube)
    sim.advance(5)
    with pytest.raises(NotFoundError):
        sim.store.get("pods", "default", "doomed")
    with pytest.raises(NotFound):
        actions.plan_delete_pod(parse("delete pod doomed"), kube)  # type: ignore[arg-type]


def test_static_pods_are_listed_and_their_delete_refused(sim: SimCluster, kube: KubeClient) -> None:
    static = actions.list_static_pods(parse("static"), kube)  # type: ignore[arg-type]
    assert isinstance(static, StaticPods)
    names = {p.name for p in static.pods}
    assert {
        "etcd-node01",
        "kube-apiserver-node01",
        "kube-controller-manager-node01",
        "kube-scheduler-node01",
    } <= names
    assert all(p.node == "node01" and p.source == "file" for p in static.pods)
    with pytest.raises(NotPermitted, match="static pod"):
        actions.plan_delete_pod(parse("delete pod etcd-node01 -n kube-system"), kube)  # type: ignore[arg-type]


def test_action_refusals_come_in_the_callers_language(sim: SimCluster, kube: KubeClient) -> None:
    """Issue 14: the action layer formatted its refusals in English whatever the channel's language."""
    with pytest.raises(NotPermitted) as caught:
        actions.plan_delete_pod(parse("delete pod kube-apiserver-node01 -n kube-system"), kube, None, "zh_CN")  # type: ignore[arg-type]
    assert "是静态 Pod" in caught.value.message and "/etc/kubernetes/manifests" in caught.value.message
    with pytest.raises(NotFound) as missing:
        actions.get_pods(parse("get pod no-such-pod -o yaml"), kube, None, "zh_CN")  # type: ignore[arg-type]
    assert "找不到" in missing.value.message and "no-such-pod" in missing.value.message
    static = actions.list_static_pods(parse("static"), kube, None, "zh_CN")  # type: ignore[arg-type]
    assert all("清单文件" in p.manifest_hint for p in static.pods)


def test_delete_secret(sim: SimCluster, kube: KubeClient) -> None:
    actions.create_registry_secret(
        parse(
            "secret docker-registry gone --docker-server=r.example.com "  # type: ignore[arg-type]
            "--docker-username=u --docker-password=p"
        ),
        kube,
    )
    target = actions.plan_delete_secret(parse("delete secrets gone"), kube)  # type: ignore[arg-type]
    actions.delete_target(target, kube)
    with pytest.raises(NotFoundError):
        sim.store.get("secrets", "default", "gone")


def test_output_format_enum_roundtrip() -> None:
    assert OutputFormat("wide") is OutputFormat.WIDE
