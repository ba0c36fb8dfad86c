"""The real kubectl (1.32) against podbot.sim: the seed notes' operations, each asserted on kubectl's output.

Skipped (with the reason) when kubectl is not installed, unless CI=true. The cluster's clock only
moves when a test advances it, so image pull back-offs and grace periods take no real time.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time

import pytest
import yaml

from podbot.sim.cluster import SimCluster
from tests.support.seed import SEED_POD
from tests.support.sim import Kubectl

pytestmark = pytest.mark.kubectl


MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: podbot
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: podbot, namespace: podbot}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: podbot, namespace: podbot}
rules:
  - apiGroups: [""]
    resources: [pods, pods/log, events]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: podbot, namespace: podbot}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: podbot}
subjects:
  - {kind: ServiceAccount, name: podbot, namespace: podbot}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: podbot-config, namespace: podbot}
data: {LOG_LEVEL: INFO}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: podbot, namespace: podbot, labels: {app: podbot}}
spec:
  replicas: 1
  selector: {matchLabels: {app: podbot}}
  template:
    metadata: {labels: {app: podbot}}
    spec:
      serviceAccountName: podbot
      containers:
        - name: podbot
          image: ghcr.io/example/podbot:0.1.0
          ports: [{containerPort: 8080, name: http}]
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 1, memory: 256Mi}
---
apiVersion: v1
kind: Service
metadata: {name: podbot, namespace: podbot}
spec:
  selector: {app: podbot}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: podbot-data, namespace: podbot}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


def table(output: str) -> tuple[list[str], list[list[str]]]:
    """Split kubectl's column output (columns separated by 2+ spaces)."""
    lines = [line for line in output.splitlines() if line.strip()]
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl) -> str:
    kubectl("create", "namespace", "seed")
    return "seed"


def test_run_creates_one_pod_labelled_run_name(kubectl: Kubectl) -> None:
    assert kubectl("run", "nginx", "--image=nginx:1.16").strip() == "pod/nginx created"
    pod = json.loads(kubectl("get", "pod", "nginx", "-o", "json"))
    assert pod["metadata"]["labels"] == {"run": "nginx"}
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.16"
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["metadata"]["uid"] and pod["metadata"]["resourceVersion"]
    header, rows = table(kubectl("get", "pods"))
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[:2] for r in rows] == [["nginx", "0/1"]]


def test_create_from_the_seed_yaml_and_again_is_already_exists(kubectl: Kubectl, ns: str) -> None:
    assert kubectl("create", "-n", ns, "-f", "-", stdin=SEED_POD).strip() == "pod/nginx created"
    error = kubectl.fails("create", "-n", ns, "-f", "-", stdin=SEED_POD)
    assert (
        'Error from server (AlreadyExists): error when creating "STDIN": pods "nginx" already exists' in error
    )


def test_get_pod_wide_yaml_and_name(kubectl: Kubectl, ns: str) -> None:
    header, rows = table(kubectl("get", "pod", "nginx", "-n", ns, "-o", "wide"))
    assert header == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    assert rows[0][0] == "nginx" and rows[0][-1] == "<none>"
    pod = yaml.safe_load(kubectl("get", "pod", "nginx", "-n", ns, "-o", "yaml"))
    assert pod["kind"] == "Pod" and pod["metadata"]["namespace"] == ns
    assert pod["spec"]["containers"][0]["image"] == "10.0.0.130:5000/nginx:latest"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "myregistrykey"}]
    assert pod["status"]["phase"] in ("Pending", "Running")
    assert kubectl("get", "pods", "-n", ns, "-o", "name").split() == ["pod/nginx"]
    header, rows = table(kubectl("get", "pods", "-A"))
    assert header[:2] == ["NAMESPACE", "NAME"]
    assert {(r[0], r[1]) for r in rows} >= {("default", "nginx"), (ns, "nginx")}


def test_describe_pod_has_identity_containers_and_events(kubectl: Kubectl, ns: str) -> None:
    text = kubectl("describe", "pod", "nginx", "-n", ns)
    assert re.search(r"^Name:\s+nginx$", text, re.M)
    assert re.search(rf"^Namespace:\s+{ns}$", text, re.M)
    assert re.search(r"^Labels:\s+app=web$", text, re.M)
    assert re.search(r"Image:\s+10\.0\.0\.130:5000/nginx:latest", text)
    assert re.search(r"^Events:", text, re.M)


def test_describe_shows_the_seed_pull_failure_event(
    sim_cluster: SimCluster, kubectl: Kubectl, ns: str
) -> None:
    sim_cluster.advance(60)
    text = kubectl("describe", "pod", "nginx", "-n", ns)
    assert 'Failed to pull image "10.0.0.130:5000/nginx:latest"' in text
    assert "no basic auth credentials" in text


def test_registry_secret_create_inspect_delete(kubectl: Kubectl, ns: str) -> None:
    out = kubectl(
        "create",
        "secret",
        "docker-registry",
        "myregistrykey",
        "-n",
        ns,
        "--docker-server=10.0.0.130:5000",
        "--docker-username=test",
        "--docker-password=123456",
    )
    assert out.strip() == "secret/myregistrykey created"
    header, rows = table(kubectl("get", "secrets", "-n", ns))
    assert header == ["NAME", "TYPE", "DATA", "AGE"]
    assert rows[0][:3] == ["myregistrykey", "kubernetes.io/dockerconfigjson", "1"]
    secret = json.loads(kubectl("get", "secret", "myregistrykey", "-n", ns, "-o", "json"))
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    entry = config["auths"]["10.0.0.130:5000"]
    assert (entry["username"], entry["password"]) == ("test", "123456")
    assert base64.b64decode(entry["auth"]) == b"test:123456"
    assert kubectl("delete", "secrets", "myregistrykey", "-n", ns).strip() == 'secret "myregistrykey" deleted'
    error = kubectl.fails("get", "secret", "myregistrykey", "-n", ns)
    assert 'Error from server (NotFound): secrets "myregistrykey" not found' in error


def test_get_events_prints_kubectl_columns(sim_cluster: SimCluster, kubectl: Kubectl, ns: str) -> None:
    now = sim_cluster.clock.timestamp()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "nginx.1", "namespace": ns},
        "involvedObject": {"kind": "Pod", "name": "nginx", "namespace": ns, "apiVersion": "v1"},
        "reason": "Failed",
        "message": 'Failed to pull image "10.0.0.130:5000/nginx:latest": no basic auth credentials',
        "type": "Warning",
        "source": {"component": "kubelet", "host": "node01"},
        "count": 4,
        "firstTimestamp": now,
        "lastTimestamp": now,
    }
    events_type = sim_cluster.api.registry.by_storage("events")
    sim_cluster.api.rest.create(events_type, ns, event)
    header, rows = table(kubectl("get", "events", "-n", ns))
    assert header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    row = next(r for r in rows if r[3] == "pod/nginx" and r[2] == "Failed")
    assert row[1] == "Warning" and "no basic auth credentials" in row[4]
    wide_header, _ = table(kubectl("get", "events", "-n", ns, "-o", "wide"))
    assert wide_header == [
        "LAST SEEN",
        "TYPE",
        "REASON",
        "OBJECT",
        "SUBOBJECT",
        "SOURCE",
        "MESSAGE",
        "FIRST SEEN",
        "COUNT",
        "NAME",
    ]
    selected = kubectl(
        "get", "events", "-n", ns, "--field-selector", "involvedObject.name=nginx,type=Warning", "-o", "name"
    )
    assert "event/nginx.1" in selected.split()


def test_delete_pod(kubectl: Kubectl) -> None:
    kubectl("run", "doomed", "--image=busybox")
    assert kubectl("delete", "pod", "doomed").strip() == 'pod "doomed" deleted'
    assert 'pods "doomed" not found' in kubectl.fails("get", "pod", "doomed")


def test_auth_can_i_answers_from_the_policy(kubectl: Kubectl) -> None:
    assert kubectl("auth", "can-i", "delete", "pods").strip() == "yes"
    denied = kubectl.run("auth", "can-i", "delete", "pods", "--as", "alice", check=False)
    assert denied.returncode == 1 and denied.stdout.strip() == "no"
    assert (
        kubectl("auth", "can-i", "get", "pods", "--as", "alice", "--as-group", "developers").strip() == "yes"
    )
    no = kubectl.run(
        "auth",
        "can-i",
        "create",
        "pods",
        "-n",
        "prod",
        "--as",
        "alice",
        "--as-group",
        "developers",
        check=False,
    )
    assert no.stdout.strip() == "no"


def test_impersonated_kubectl_is_forbidden_with_the_real_message(kubectl: Kubectl) -> None:
    error = kubectl.fails("delete", "pod", "nginx", "--as", "bob")
    assert error.strip() == (
        'Error from server (Forbidden): pods "nginx" is forbidden: User "bob" cannot delete resource "pods" '
        'in API group "" in the namespace "default"'
    )


def test_apply_multi_kind_manifest_then_reapply_and_change(kubectl: Kubectl) -> None:
    out = kubectl("apply", "-f", "-", stdin=MANIFEST).splitlines()
    assert out == [
        "namespace/podbot created",
        "serviceaccount/podbot created",
        "role.rbac.authorization.k8s.io/podbot created",
        "rolebinding.rbac.authorization.k8s.io/podbot created",
        "configmap/podbot-config created",
        "deployment.apps/podbot created",
        "service/podbot created",
        "persistentvolumeclaim/podbot-data created",
    ]
    again = kubectl("apply", "-f", "-", stdin=MANIFEST).splitlines()
    assert all(line.endswith(" unchanged") for line in again) and len(again) == 8
    changed = MANIFEST.replace('{name: B, value: "2"}', '{name: C, value: "3"}').replace(
        "replicas: 1", "replicas: 2"
    )
    third = kubectl("apply", "-f", "-", stdin=changed).splitlines()
    assert "deployment.apps/podbot configured" in third
    assert sum(line.endswith(" unchanged") for line in third) == 7
    deploy = json.loads(kubectl("get", "deployment", "podbot", "-n", "podbot", "-o", "json"))
    assert deploy["spec"]["replicas"] == 2
    # strategic merge patch: env B removed, C added, A kept (merge key "name")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "C", "value": "3"},
    ]
    header, rows = table(kubectl("get", "svc", "-n", "podbot"))
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert rows[0][:2] == ["podbot", "ClusterIP"] and rows[0][3:5] == ["<none>", "80/TCP"]
    assert re.fullmatch(r"10\.\d+\.\d+\.\d+", rows[0][2])
    assert (
        kubectl(
            "auth", "can-i", "list", "pods", "-n", "podbot", "--as", "system:serviceaccount:podbot:podbot"
        ).strip()
        == "yes"
    )
    assert (
        kubectl.run(
            "auth",
            "can-i",
            "delete",
            "pods",
            "-n",
            "podbot",
            "--as",
            "system:serviceaccount:podbot:podbot",
            check=False,
        ).stdout.strip()
        == "no"
    )
    assert (
        kubectl("scale", "deployment", "podbot", "-n", "podbot", "--replicas=3").strip()
        == "deployment.apps/podbot scaled"
    )
    assert (
        json.loads(kubectl("get", "deploy", "podbot", "-n", "podbot", "-o", "json"))["spec"]["replicas"] == 3
    )


def test_typed_create_commands_and_whoami(kubectl: Kubectl) -> None:
    """These kubectl commands use client-go's typed clients, which send protobuf request bodies."""
    kubectl("create", "namespace", "typed")
    created = [
        kubectl(
            "create", "deployment", "web", "-n", "typed", "--image=nginx:1.16", "--port=80", "--replicas=2"
        ),
        kubectl("create", "service", "nodeport", "web", "-n", "typed", "--tcp=80:8080", "--node-port=30080"),
        kubectl("create", "configmap", "cfg", "-n", "typed", "--from-literal=k=v"),
        kubectl("create", "serviceaccount", "bot", "-n", "typed"),
        kubectl("create", "role", "reader", "-n", "typed", "--verb=get,list", "--resource=pods"),
        kubectl(
            "create", "rolebinding", "reader", "-n", "typed", "--role=reader", "--serviceaccount=typed:bot"
        ),
    ]
    assert [line.strip() for line in created] == [
        "deployment.apps/web created",
        "service/web created",
        "configmap/cfg created",
        "serviceaccount/bot created",
        "role.rbac.authorization.k8s.io/reader created",
        "rolebinding.rbac.authorization.k8s.io/reader created",
    ]
    deploy = json.loads(kubectl("get", "deployment", "web", "-n", "typed", "-o", "json"))
    assert deploy["spec"]["replicas"] == 2 and deploy["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deploy["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}
    ]
    svc = json.loads(kubectl("get", "service", "web", "-n", "typed", "-o", "json"))
    assert svc["spec"]["ports"] == [
        {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080}
    ]
    bot = "system:serviceaccount:typed:bot"
    assert kubectl("auth", "can-i", "list", "pods", "-n", "typed", "--as", bot).strip() == "yes"
    header, rows = table(kubectl("auth", "whoami", "--as", "alice", "--as-group", "developers"))
    assert header == ["ATTRIBUTE", "VALUE"]
    assert rows == [["Username", "alice"], ["Groups", "[developers system:authenticated]"]]


def test_strict_validation_and_invalid_objects_are_refused(kubectl: Kubectl) -> None:
    unknown = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: typo}\n"
        "spec:\n  containers: [{name: c, image: nginx, imagePullPolicy: Always, bad: 1}]\n"
    )
    error = kubectl.fails("create", "-f", "-", stdin=unknown)
    assert (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.containers[0].bad"' in error
    )
    invalid = "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec:\n  containers: [{name: c}]\n"
    error = kubectl.fails("create", "-f", "-", stdin=invalid)
    assert 'The Pod "Bad_Name" is invalid:' in error
    assert (
        '* metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of' in error
    )
    assert "* spec.containers[0].image: Required value" in error


def test_server_dry_run_stores_nothing(kubectl: Kubectl) -> None:
    assert (
        kubectl("run", "ghost", "--image=nginx", "--dry-run=server").strip()
        == "pod/ghost created (server dry run)"
    )
    assert 'pods "ghost" not found' in kubectl.fails("get", "pod", "ghost")


def test_label_annotate_patch_and_immutable_spec(kubectl: Kubectl) -> None:
    kubectl("run", "tagged", "--image=nginx:1.16")
    assert kubectl("label", "pod", "tagged", "tier=web").strip() == "pod/tagged labeled"
    assert kubectl("annotate", "pod", "tagged", "note=hi").strip() == "pod/tagged annotated"
    assert kubectl("label", "pod", "tagged", "tier-").strip() == "pod/tagged unlabeled"
    kubectl(
        "patch",
        "pod",
        "tagged",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/j","value":"k"}]',
    )
    assert kubectl("get", "pods", "-l", "j=k", "-o", "name").split() == ["pod/tagged"]
    assert kubectl("set", "image", "pod/tagged", "tagged=nginx:1.17").strip() == "pod/tagged image updated"
    error = kubectl.fails(
        "patch", "pod", "tagged", "--type=merge", "-p", '{"spec":{"restartPolicy":"Never"}}'
    )
    assert (
        'The Pod "tagged" is invalid: spec: Forbidden: pod updates may not change fields other than' in error
    )
    pod = json.loads(kubectl("get", "pod", "tagged", "-o", "json"))
    assert pod["metadata"]["labels"] == {"run": "tagged", "j": "k"}
    assert pod["metadata"]["annotations"] == {"note": "hi"}
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.17"


def test_get_watch_streams_changes(kubectl: Kubectl) -> None:
    kubectl("run", "watched", "--image=nginx")
    proc = subprocess.Popen(
        [
            kubectl.binary,
            "--cache-dir",
            str(kubectl.cache),
            "get",
            "pods",
            "--watch",
            "--output-watch-events",
        ],
        env=kubectl.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        while "watched" not in first:
            first = proc.stdout.readline()
        assert first.split()[:2] == ["ADDED", "watched"]
        kubectl("label", "pod", "watched", "seen=yes")
        second = proc.stdout.readline()
        assert second.split()[:2] == ["MODIFIED", "watched"]
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def test_namespace_deletion_removes_its_contents(sim_cluster: SimCluster, kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "scratch")
    kubectl("create", "configmap", "cfg", "-n", "scratch", "--from-literal=a=b")
    held = (
        "apiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: held, namespace: scratch, finalizers: [example.com/hold]}\n"
    )
    kubectl("apply", "-f", "-", stdin=held)
    kubectl("run", "tmp", "-n", "scratch", "--image=nginx")
    out = kubectl("delete", "namespace", "scratch", "--wait=false")
    assert out.strip() == 'namespace "scratch" deleted'
    sim_cluster.advance(60)
    header, rows = table(kubectl("get", "namespace", "scratch"))
    assert header == ["NAME", "STATUS", "AGE"] and rows[0][:2] == ["scratch", "Terminating"]
    assert kubectl("get", "configmaps", "-n", "scratch", "-o", "name").split() == ["configmap/held"]
    kubectl(
        "patch",
        "configmap",
        "held",
        "-n",
        "scratch",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )
    deadline = time.monotonic() + 10
    while "scratch" in kubectl("get", "ns", "-o", "name") and time.monotonic() < deadline:
        sim_cluster.advance(10)  # a scheduled pod terminates within its grace period (simulated)
    assert "namespace/scratch" not in kubectl("get", "ns", "-o", "name").split()
    assert 'namespaces "scratch" not found' in kubectl.fails("create", "configmap", "x", "-n", "scratch")


def test_explain_reads_the_openapi_schema(kubectl: Kubectl) -> None:
    text = kubectl("explain", "pod.spec.containers.image")
    assert "FIELD: image <string>" in text
    assert "Container image name" in text


def test_logs_from_the_kubelet(sim_cluster: SimCluster, kubectl: Kubectl) -> None:
    kubectl("run", "logger", "--image=nginx:1.16")
    sim_cluster.advance(30)
    assert kubectl("logs", "logger").strip()


def test_nodes_are_listed(kubectl: Kubectl) -> None:
    header, rows = table(kubectl("get", "nodes"))
    assert header == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert {r[0] for r in rows} == {"node01", "node02"}


def test_seed_pod_runs_once_its_pull_secret_exists(
    sim_cluster: SimCluster, kubectl: Kubectl, ns: str
) -> None:
    """The seed notes' fix: create the registry secret the pod names; the same pod then runs."""
    before = json.loads(kubectl("get", "pod", "nginx", "-n", ns, "-o", "json"))
    _, rows = table(kubectl("get", "pod", "nginx", "-n", ns))
    assert rows[0][2] in ("ErrImagePull", "ImagePullBackOff")
    kubectl(
        "create", "secret", "docker-registry", "myregistrykey", "-n", ns,
        "--docker-server=10.0.0.130:5000", "--docker-username=test", "--docker-password=123456",
    )  # fmt: skip
    for _ in range(30):
        sim_cluster.advance(30)  # past the image pull back-off, in simulated time
        if table(kubectl("get", "pod", "nginx", "-n", ns))[1][0][2] == "Running":
            break
    after = json.loads(kubectl("get", "pod", "nginx", "-n", ns, "-o", "json"))
    assert after["status"]["phase"] == "Running"
    assert after["metadata"]["uid"] == before["metadata"]["uid"]  # not recreated
