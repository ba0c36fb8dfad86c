"""Where podbot.sim now behaves like a real kube-apiserver (issue 15, items 2-9), each shown with
the real kubectl or the official Python client, whichever is the client for that behaviour."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from podbot.sim.cluster import SimCluster
from tests.support.sim import Api, Kubectl

pytestmark = pytest.mark.kubectl

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web, tier: front}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.25}]}
"""


@pytest.fixture(scope="module")
def api(sim_cluster: SimCluster) -> Api:
    return Api(sim_cluster.url, sim_cluster.ca_pem, sim_cluster.admin_token)


@pytest.fixture(scope="module")
def core(sim_cluster: SimCluster) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(k8s_config.new_client_from_config(str(sim_cluster.kubeconfig_path)))


def _pod_json(kubectl: Kubectl, name: str, namespace: str = "default") -> dict[str, Any]:
    return json.loads(kubectl("get", "pod", name, "-n", namespace, "-o", "json", "--show-managed-fields"))


# --- 2: managedFields ----------------------------------------------------------------------------
def test_every_write_records_its_manager_and_kubectl_hides_them(kubectl: Kubectl) -> None:
    kubectl("run", "mf", "--image=nginx:1.25", "--labels=app=mf")
    kubectl("label", "pod", "mf", "tier=web")
    entries = _pod_json(kubectl, "mf")["metadata"]["managedFields"]
    by_manager = {e["manager"]: e for e in entries}
    assert set(by_manager) == {"kubectl-run", "kubectl-label"}
    run = by_manager["kubectl-run"]
    assert (run["operation"], run["apiVersion"], run["fieldsType"]) == ("Update", "v1", "FieldsV1")
    fields = run["fieldsV1"]
    assert fields["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
    assert {"f:image", "f:name", "f:imagePullPolicy"} <= set(
        fields["f:spec"]["f:containers"]['k:{"name":"mf"}']
    )
    assert "f:status" not in fields  # status is reset on create: nobody's
    assert by_manager["kubectl-label"]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:tier": {}}}}
    # kubectl hides them unless asked
    assert "managedFields" not in json.loads(kubectl("get", "pod", "mf", "-o", "json"))["metadata"]
    assert "managedFields" not in yaml.safe_load(kubectl("get", "pod", "mf", "-o", "yaml"))["metadata"]


# --- 3: DELETE with dryRun in the DeleteOptions body ----------------------------------------------
def test_delete_dry_run_server_deletes_nothing(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "dry")
    kubectl("run", "keep", "--image=nginx:1.25", "-n", "dry")
    kubectl("create", "secret", "generic", "keep", "--from-literal=a=b", "-n", "dry")
    assert kubectl("delete", "pod", "keep", "-n", "dry", "--dry-run=server").strip() == (
        'pod "keep" deleted (server dry run)'
    )
    kubectl("delete", "secret", "keep", "-n", "dry", "--dry-run=server")
    kubectl("delete", "namespace", "dry", "--dry-run=server")
    assert kubectl("get", "pod,secret", "-n", "dry", "-o", "name").split() == ["pod/keep", "secret/keep"]
    assert kubectl("get", "namespace", "dry", "-o", "jsonpath={.status.phase}") == "Active"
    assert "deletionTimestamp" not in _pod_json(kubectl, "keep", "dry")["metadata"]


# --- 4: immortal namespaces -----------------------------------------------------------------------
@pytest.mark.parametrize("namespace", ["default", "kube-system", "kube-public", "kube-node-lease"])
def test_system_namespaces_cannot_be_deleted(kubectl: Kubectl, namespace: str) -> None:
    error = kubectl.fails("delete", "namespace", namespace)
    assert error.strip() == (
        f'Error from server (Forbidden): namespaces "{namespace}" is forbidden: '
        "this namespace may not be deleted"
    )
    assert kubectl("get", "namespace", namespace, "-o", "jsonpath={.status.phase}") == "Active"


# --- 5: exec, attach, port-forward, cp, debug -------------------------------------------------------
def test_streaming_subresources_are_listed_and_refused_by_name(
    sim_cluster: SimCluster, kubectl: Kubectl, api: Api
) -> None:
    kubectl("run", "box", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
    sim_cluster.advance(10)
    resources = json.loads(kubectl("get", "--raw", "/api/v1"))["resources"]
    names = {r["name"]: r["verbs"] for r in resources}
    for sub in ("exec", "attach", "portforward"):
        assert names[f"pods/{sub}"] == ["create", "get"]
    assert kubectl("auth", "can-i", "create", "pods/exec").strip() == "yes"
    for args, what in (
        (("exec", "box", "--", "echo", "hi"), "exec into a container"),
        (("cp", "box:/etc/hosts", "/dev/null"), "exec into a container"),
        (("port-forward", "box", "18080:80"), "forward a port"),
        (
            ("debug", "box", "--image=busybox", "--profile=general"),
            "add an ephemeral container (kubectl debug)",
        ),
    ):
        error = kubectl.fails(*args)
        assert f"podbot.sim cannot {what}: it simulates containers but runs no processes" in error, error
    assert 'pods "ghost" not found' in kubectl.fails("exec", "ghost", "--", "true")
    # authorization first, as on a real server: a user without the right is Forbidden, not refused
    code, _, raw = api.request(
        "POST",
        "/api/v1/namespaces/default/pods/box/exec?command=true",
        headers=[("Impersonate-User", "nobody")],
    )
    assert code == 403
    assert 'User "nobody" cannot create resource "pods/exec" in API group ""' in json.loads(raw)["message"]


def test_run_rm_it_says_why_it_could_not_attach(sim_cluster: SimCluster, kubectl: Kubectl) -> None:
    stop = threading.Event()

    def tick() -> None:  # kubectl waits for the pod in real time: let simulated time pass meanwhile
        for _ in range(600):
            if stop.wait(0.1):
                return
            sim_cluster.advance(1)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        result = kubectl.run(
            "run", "once", "--rm", "-i", "--image=busybox", "--restart=Never", "--", "echo", "hello"
        )
    finally:
        stop.set()
        ticker.join()
    assert "hello" in result.stdout
    assert "couldn't attach to pod/once" in result.stderr
    assert "podbot.sim cannot attach to a container" in result.stderr


# --- 6: server-side apply with field managers ----------------------------------------------------------
def test_server_side_apply_conflicts_forces_and_removes_fields(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "web.yaml"
    manifest.write_text(DEPLOYMENT)
    assert (
        kubectl("apply", "--server-side", "-f", str(manifest)).strip()
        == "deployment.apps/web serverside-applied"
    )
    kubectl("scale", "deployment", "web", "--replicas=3")
    conflict = kubectl.fails("apply", "--server-side", "-f", str(manifest))
    assert conflict.startswith(
        "error: Apply failed with 1 conflict: "
        'conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas'
    ), conflict
    assert kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}") == "3"
    # dropping a label from the applied configuration removes it; forcing takes .spec.replicas back
    manifest.write_text(DEPLOYMENT.replace(", tier: front", ""))
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(manifest))
    deploy = json.loads(kubectl("get", "deploy", "web", "-o", "json", "--show-managed-fields"))
    assert deploy["spec"]["replicas"] == 2
    assert deploy["metadata"]["labels"] == {"app": "web"}
    owners = {(e["manager"], e["operation"]) for e in deploy["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in owners
    scale = [e for e in deploy["metadata"]["managedFields"] if e.get("subresource") == "scale"]
    assert all("f:replicas" not in json.dumps(e["fieldsV1"]) for e in scale)
    # another manager applying the same values co-owns them: no conflict
    kubectl("apply", "--server-side", "--field-manager=other", "-f", str(manifest))
    entries = json.loads(kubectl("get", "deploy", "web", "-o", "json", "--show-managed-fields"))["metadata"]
    assert {e["manager"] for e in entries["managedFields"] if e["operation"] == "Apply"} == {
        "kubectl",
        "other",
    }


def test_apply_patch_without_field_manager_is_invalid(api: Api) -> None:
    code, _, raw = api.request(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        content_type="application/apply-patch+yaml",
    )
    answer = json.loads(raw)
    assert (code, answer["reason"]) == (422, "Invalid")
    assert "fieldManager: Required value: is required for apply patch" in answer["message"]


# --- 7: kubeadm's control-plane taint ------------------------------------------------------------
def test_control_plane_is_tainted_and_pods_land_on_workers(sim_cluster: SimCluster, kubectl: Kubectl) -> None:
    taints = json.loads(kubectl("get", "node", "node01", "-o", "jsonpath={.spec.taints}"))
    assert taints == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    for i in range(4):
        kubectl("run", f"spread{i}", "--image=nginx:1.25")
    sim_cluster.advance(5)
    nodes = kubectl(
        "get", "pods", "-l", "run", "-o", "jsonpath={range .items[*]}{.spec.nodeName}{'\\n'}{end}"
    )
    assert set(nodes.split()) == {"node02"}
    kubectl("run", "picky", "--image=nginx:1.25", "--overrides", '{"spec":{"nodeSelector":{"disk":"ssd"}}}')
    sim_cluster.advance(5)
    message = kubectl("get", "pod", "picky", "-o", "jsonpath={.status.conditions[0].message}")
    assert message == (
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had "
        "untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: "
        "2 Preemption is not helpful for scheduling.."
    )


# --- 8: SIGKILL after the grace period for a shell that traps TERM -----------------------------------
def test_trapped_term_waits_for_the_foreground_command_then_sigkill(
    sim_cluster: SimCluster, kubectl: Kubectl
) -> None:
    script = "trap 'echo bye; exit 0' TERM; sleep 3600"
    kubectl("run", "stubborn", "--image=busybox", "--restart=Never", "--", "sh", "-c", script)
    sim_cluster.advance(10)
    kubectl("delete", "pod", "stubborn", "--wait=false", "--grace-period=20")
    sim_cluster.advance(10)
    assert kubectl("get", "pod", "stubborn", "-o", "jsonpath={.status.containerStatuses[0].state.running}")
    sim_cluster.advance(11)  # SIGKILL at the 20 s deadline, then the pod goes
    assert kubectl("get", "pods", "-o", "name").count("pod/stubborn") == 0


# --- 9: row conditions, trailing newline, remainingItemCount, Service DELETE ---------------------------
def test_finished_pod_rows_carry_upstreams_condition(
    sim_cluster: SimCluster, kubectl: Kubectl, api: Api
) -> None:
    kubectl("run", "done", "--image=busybox", "--restart=Never", "--", "true")
    sim_cluster.advance(15)
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    status, _, raw = api.request("GET", "/api/v1/namespaces/default/pods/done", headers=[("Accept", accept)])
    assert status == 200
    [row] = json.loads(raw)["rows"]
    assert row["cells"][2] == "Completed"
    assert row["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]


def test_json_bodies_end_with_a_newline(kubectl: Kubectl, api: Api) -> None:
    for path in ("/api/v1/namespaces/default", "/api/v1/namespaces", "/version", "/api/v1/namespaces/nope"):
        _, _, raw = api.request("GET", path)
        assert raw.endswith(b"}\n"), (path, raw[-20:])
    assert kubectl("get", "--raw", "/api/v1/namespaces/default").endswith("}\n")


def test_pages_say_how_many_items_remain(kubectl: Kubectl, core: k8s.CoreV1Api) -> None:
    kubectl("create", "namespace", "pages")
    for i in range(5):
        kubectl("create", "configmap", f"cm{i}", "-n", "pages")
    total = len(core.list_namespaced_config_map("pages").items)  # ours, and kube-root-ca.crt if any
    assert total >= 5
    first = core.list_namespaced_config_map("pages", limit=2)
    assert (len(first.items), first.metadata.remaining_item_count) == (2, total - 2)
    second = core.list_namespaced_config_map("pages", limit=2, _continue=first.metadata._continue)
    assert second.metadata.remaining_item_count == total - 4
    last = core.list_namespaced_config_map("pages", limit=10, _continue=second.metadata._continue)
    assert last.metadata.remaining_item_count is None and not last.metadata._continue
    selected = core.list_namespaced_config_map("pages", limit=2, label_selector="x!=y")
    assert selected.metadata._continue and selected.metadata.remaining_item_count is None


def test_service_delete_returns_the_service(kubectl: Kubectl, core: k8s.CoreV1Api) -> None:
    kubectl("create", "service", "clusterip", "gone", "--tcp=80:8080")
    deleted = core.delete_namespaced_service("gone", "default")
    assert (deleted.kind, deleted.metadata.name, deleted.spec.ports[0].port) == ("Service", "gone", 80)
