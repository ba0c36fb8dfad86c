"""The action layer (podbot.k8s.actions) against the in-memory fake of the Kube port: which calls
each request makes, in which order, as whom, and what it makes of the answers and refusals.

The same actions over real HTTP against podbot.sim: tests/integration/test_actions_sim.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import yaml

from podbot.commands import parse
from podbot.core.diagnosis.pull_causes import PullCause
from podbot.core.errors import (
    AlreadyExists,
    ClusterUnavailable,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    NotPermitted,
    UsageError,
)
from podbot.core.model import CreateRegistrySecret, DryRun, Secret, Where
from podbot.core.results import Changed, Logs, PodDescription, PodTable, RawOutput, StaticPods
from podbot.k8s import actions
from podbot.k8s.api import TABLE_ACCEPT, Identity
from tests.support.builders import NOW, ago, cstatus, event, pod, terminated, waiting
from tests.support.fakekube import FakeKube
from tests.support.seed import SEED_IMAGE, SEED_PULL_ERROR

ALICE = Identity("alice@example.com", ("sre",))
PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
def kube() -> FakeKube:
    return FakeKube("prod")


def act(text: str) -> Any:
    """A typed request, as the parser makes it from ``/pod text``."""
    return parse(text)


# --- run -----------------------------------------------------------------------------------------
def test_run_posts_the_pod_kubectl_run_builds_as_the_user(kube: FakeKube) -> None:
    request = act("run web --image=nginx:1.16 --port=80")
    result = actions.run_pod(request, kube, ALICE)
    (call,) = kube.calls
    assert (call.method, call.path, call.query, call.as_user) == ("POST", PODS, (), ALICE)
    assert call.body == actions.build_run_pod(request, None)  # like kubectl: the namespace is the URL's
    stored = kube.stored("pods", "web")
    assert stored is not None and stored["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]
    assert result == Changed(
        "created", "prod", (actions.ObjectRef("Pod", "default", "web", stored["metadata"]["uid"]),)
    )
    with pytest.raises(AlreadyExists, match='pods "web" already exists'):
        actions.run_pod(request, kube)


def test_run_dry_runs_client_side_without_a_call_and_server_side_without_a_change(kube: FakeKube) -> None:
    client = actions.run_pod(act("run web --image=nginx:1.16 --dry-run=client -n shop"), kube)
    assert kube.calls == [] and client.dry_run and client.preview is not None
    assert client.objects == (actions.ObjectRef("Pod", "shop", "web"),)
    server = actions.run_pod(act("run web --image=nginx:1.16 --dry-run=server"), kube)
    (call,) = kube.calls
    assert call.dry_run and server.dry_run and server.preview is not None
    assert server.preview["metadata"]["uid"]  # the server's answer, not the object as built
    assert kube.stored("pods", "web") is None


def test_run_in_a_namespace_that_does_not_exist_is_not_found(kube: FakeKube) -> None:
    with pytest.raises(NotFound, match='namespaces "nowhere" not found'):
        actions.run_pod(act("run web --image=nginx:1.16 -n nowhere"), kube)


# --- create --------------------------------------------------------------------------------------
TWO_PODS = """create
apiVersion: v1
kind: Pod
metadata: {name: first}
spec: {containers: [{name: a, image: nginx:1.16}]}
---
apiVersion: v1
kind: Pod
metadata: {name: second}
spec: {containers: [{name: a, image: nginx:1.16}]}
"""


def test_create_dry_runs_every_document_strictly_then_creates_each(kube: FakeKube) -> None:
    result = actions.create_from_manifest(act(TWO_PODS), kube, ALICE)
    assert [(c.method, c.dry_run, c.param("fieldValidation")) for c in kube.calls] == [
        ("POST", True, "Strict"),
        ("POST", True, "Strict"),
        ("POST", False, "Strict"),
        ("POST", False, "Strict"),
    ]
    assert all(c.as_user == ALICE for c in kube.calls)
    assert [(o.kind, o.name) for o in result.objects] == [("Pod", "first"), ("Pod", "second")]
    assert all(o.uid for o in result.objects) and not result.dry_run


def test_create_refuses_all_documents_when_one_is_invalid_and_names_it(kube: FakeKube) -> None:
    bad = TWO_PODS.replace("metadata: {name: second}", "metadata: {name: second}\nbogus: 1")
    with pytest.raises(Invalid, match=r'document 2 \(Pod second\).*unknown field "bogus"'):
        actions.create_from_manifest(act(bad), kube)
    assert all(c.dry_run for c in kube.writes())  # nothing half-created
    assert kube.stored("pods", "first") is None


def test_create_with_dry_run_stops_after_the_checks(kube: FakeKube) -> None:
    result = actions.create_from_manifest(
        act(TWO_PODS.replace("create\n", "create --dry-run=server\n")), kube
    )
    assert result.dry_run and len(kube.calls) == 2 and all(c.dry_run for c in kube.calls)
    assert kube.stored("pods", "first") is None


def test_create_checks_fail_before_anything_is_created(kube: FakeKube) -> None:
    kube.fail("POST", PODS, ClusterUnavailable("cluster 'prod' is unavailable: timeout"))
    with pytest.raises(ClusterUnavailable):
        actions.create_from_manifest(act(TWO_PODS), kube)
    assert len(kube.writes()) == 1 and kube.writes()[0].dry_run
    kube.calls.clear()
    kube.add(pod("second", owner=None))  # exists: its dry run fails, so "first" is not created either
    with pytest.raises(AlreadyExists, match='pods "second" already exists'):
        actions.create_from_manifest(act(TWO_PODS), kube)
    assert all(c.dry_run for c in kube.writes()) and kube.stored("pods", "first") is None


def test_create_partial_failure_names_the_objects_already_created(kube: FakeKube) -> None:
    request = act(TWO_PODS)
    real_request = kube.request
    creates = 0

    def second_create_races(method: str, path: str, **kw: Any) -> dict[str, Any]:
        nonlocal creates
        if method == "POST" and ("dryRun", "All") not in kw.get("query", ()):
            creates += 1
            if creates == 2:  # someone made "second" between our check and our create
                kube.add(pod("second", owner=None))
        return real_request(method, path, **kw)

    kube.request = second_create_races  # type: ignore[method-assign]
    with pytest.raises(AlreadyExists, match="pod/first") as raised:
        actions.create_from_manifest(request, kube)
    assert 'pods "second" already exists' in raised.value.message
    assert kube.stored("pods", "first") is not None


def test_create_namespace_flag_must_agree_with_the_document(kube: FakeKube) -> None:
    text = TWO_PODS.replace("metadata: {name: first}", "metadata: {name: first, namespace: shop}")
    with pytest.raises(UsageError, match="shop"):
        actions.create_from_manifest(act(text.replace("create\n", "create -n prod\n")), kube)
    assert kube.calls == []
    with pytest.raises(UsageError):
        actions.create_from_manifest(act("create"), kube)  # no manifest: the dialog's job


# --- get -----------------------------------------------------------------------------------------
def seed_pods(kube: FakeKube) -> None:
    kube.add(pod("web-1", node="node-1"))
    kube.add(pod("web-2", node="node-2", phase="Pending", statuses=[]))
    kube.add(pod("api-1", "shop", node="node-1"))


def test_get_table_shows_priority_zero_columns_and_wide_shows_all(kube: FakeKube) -> None:
    seed_pods(kube)
    table = actions.get_pods(act("get pods"), kube, ALICE)
    assert isinstance(table, PodTable)
    assert table.columns == ("NAME", "STATUS") and table.namespace == "default"
    assert table.rows == (("web-1", "Running"), ("web-2", "Pending"))
    (call,) = kube.calls
    assert call.accept == TABLE_ACCEPT and call.param("includeObject") == "None" and call.as_user == ALICE
    wide = actions.get_pods(act("get pods -o wide"), kube)
    assert isinstance(wide, PodTable) and wide.columns == ("NAME", "STATUS", "NODE")
    assert wide.rows[0] == ("web-1", "Running", "node-1")


def test_get_across_namespaces_adds_the_namespace_column_from_the_row_metadata(kube: FakeKube) -> None:
    seed_pods(kube)
    table = actions.get_pods(act("get pods -A"), kube)
    assert isinstance(table, PodTable) and table.namespace is None
    assert table.columns == ("NAMESPACE", "NAME", "STATUS")
    assert table.rows == (
        ("default", "web-1", "Running"),
        ("default", "web-2", "Pending"),
        ("shop", "api-1", "Running"),
    )
    assert kube.calls[0].path == "/api/v1/pods" and kube.calls[0].param("includeObject") == "Metadata"


def test_get_table_follows_continue_tokens_and_passes_selectors(kube: FakeKube) -> None:
    paged = FakeKube(page_limit=2)
    for i in range(5):
        paged.add(pod(f"p{i}", node="node-1" if i % 2 else "node-2"))
    table = actions.get_pods(act("get pods"), paged)
    assert isinstance(table, PodTable) and [r[0] for r in table.rows] == [f"p{i}" for i in range(5)]
    assert [c.param("continue") for c in paged.calls] == [None, "2", "4"]
    paged.calls.clear()
    selected = actions.get_pods(act("get pods -l app=web --field-selector spec.nodeName=node-1"), paged)
    assert isinstance(selected, PodTable) and [r[0] for r in selected.rows] == ["p1", "p3"]
    assert paged.calls[0].param("labelSelector") == "app=web"
    assert paged.calls[0].param("fieldSelector") == "spec.nodeName=node-1"


def test_get_by_name_reports_the_missing_ones(kube: FakeKube) -> None:
    seed_pods(kube)
    table = actions.get_pods(act("get pods web-1 nope"), kube)
    assert (
        isinstance(table, PodTable) and table.rows == (("web-1", "Running"),) and table.missing == ("nope",)
    )
    with pytest.raises(NotFound, match="nope"):
        actions.get_pods(act("get pods web-1 nope -o yaml"), kube)


def test_get_raw_formats(kube: FakeKube) -> None:
    seed_pods(kube)
    one = actions.get_pods(act("get pod web-1 -o yaml"), kube)
    assert isinstance(one, RawOutput) and yaml.safe_load(one.text)["metadata"]["name"] == "web-1"
    listed = actions.get_pods(act("get pods -o json"), kube)
    assert isinstance(listed, RawOutput)
    document = json.loads(listed.text)
    assert document["kind"] == "List" and [i["kind"] for i in document["items"]] == ["Pod", "Pod"]
    names = actions.get_pods(act("get pods -A -o name"), kube)
    assert isinstance(names, RawOutput) and names.text == "pod/web-1\npod/web-2\npod/api-1\n"


def test_get_refused_by_rbac_is_forbidden_with_the_servers_words(kube: FakeKube) -> None:
    kube.forbid("list", "pods", "default", user=ALICE.user)
    with pytest.raises(Forbidden, match=r'User "alice@example\.com" cannot list resource "pods"'):
        actions.get_pods(act("get pods"), kube, ALICE)
    assert isinstance(actions.get_pods(act("get pods"), kube), PodTable)  # podbot itself may


# --- describe ------------------------------------------------------------------------------------
def seed_story(kube: FakeKube) -> dict[str, Any]:
    """The seed notes' pod: a private registry without a login, its pull secret not created yet."""
    raw = kube.add(
        pod(
            "nginx",
            containers=[{"name": "nginx", "image": SEED_IMAGE}],
            statuses=[cstatus("nginx", SEED_IMAGE, waiting("ErrImagePull", SEED_PULL_ERROR))],
            phase="Pending",
            pull_secrets=["myregistrykey"],
            owner=None,
        )
    )
    kube.add(event(raw, "Failed", SEED_PULL_ERROR, container="nginx"))
    stale = pod("nginx", uid="an-earlier-pod-of-that-name", owner=None)
    kube.add(event(stale, "Killing", "Stopping container nginx", type_="Normal"))
    return raw


def test_describe_reads_the_pod_its_own_events_and_the_secrets_then_diagnoses(kube: FakeKube) -> None:
    raw = seed_story(kube)
    described = actions.describe_pod(act("describe pod nginx"), kube, NOW, ALICE)
    assert (
        isinstance(described, PodDescription) and described.pod["metadata"]["uid"] == raw["metadata"]["uid"]
    )
    assert [e.reason for e in described.events] == ["Failed"]  # not the same-named earlier pod's
    selector = kube.calls[1].param("fieldSelector")
    uid = raw["metadata"]["uid"]
    assert selector == f"involvedObject.name=nginx,involvedObject.namespace=default,involvedObject.uid={uid}"
    assert [c.path for c in kube.calls[:2]] == [f"{PODS}/nginx", "/api/v1/namespaces/default/events"]
    assert {(c.path, c.param("fieldSelector")) for c in kube.calls[2:]} == {
        ("/api/v1/namespaces/default/secrets", "type=kubernetes.io/dockerconfigjson"),
        ("/api/v1/namespaces/default/secrets", "type=kubernetes.io/dockercfg"),
        ("/api/v1/namespaces/default/serviceaccounts/default", None),
    }
    assert all(c.as_user == ALICE for c in kube.calls)
    (finding,) = described.findings
    assert finding.cause is PullCause.CREDENTIALS_MISSING
    assert (finding.fixes[0].secret_name, finding.fixes[0].server) == ("myregistrykey", "10.0.0.130:5000")


def test_describe_without_access_to_secrets_still_diagnoses(kube: FakeKube) -> None:
    seed_story(kube)
    kube.forbid("list", "secrets")
    described = actions.describe_pod(act("describe pod nginx"), kube, NOW)
    (finding,) = described.findings  # "unknown" credentials, not a failed describe
    assert finding.cause is not None


def test_describe_quotes_the_last_lines_of_a_crash_looping_container(kube: FakeKube) -> None:
    kube.add(
        pod(
            "loop",
            statuses=[
                cstatus(
                    "web",
                    "nginx:1.25",
                    waiting("CrashLoopBackOff", "back-off 5m0s"),
                    restarts=7,
                    last=terminated(1, finished=ago(minutes=1)),
                )
            ],
        )
    )
    kube.set_log("loop", "web", "".join(f"line {i}\n" for i in range(30)), previous=True)
    described = actions.describe_pod(act("describe pod loop"), kube, NOW)
    log_call = next(c for c in kube.calls if c.path.endswith("/log"))
    assert (log_call.param("previous"), log_call.param("tailLines")) == ("true", actions.CRASH_LOG_LINES)
    crash = next(f for f in described.findings if f.evidence.log_tail)
    assert crash.evidence.log_tail == tuple(f"line {i}" for i in range(20, 30))


def test_describe_of_a_missing_pod_is_not_found(kube: FakeKube) -> None:
    with pytest.raises(NotFound, match='pods "ghost" not found'):
        actions.describe_pod(act("describe pod ghost"), kube, NOW)


# --- logs ----------------------------------------------------------------------------------------
def test_logs_pick_the_default_container_and_pass_the_flags(kube: FakeKube) -> None:
    two = pod(
        "multi",
        containers=[{"name": "app", "image": "nginx"}, {"name": "sidecar", "image": "envoy"}],
        annotations={"kubectl.kubernetes.io/default-container": "sidecar"},
    )
    kube.add(two)
    kube.set_log("multi", "sidecar", "a\nb\nc\n")
    logs = actions.pod_logs(act("logs multi --tail=2 --since=5m"), kube, ALICE)
    assert isinstance(logs, Logs) and logs.container == "sidecar" and logs.text == "b\nc\n"
    assert logs.containers == ("app", "sidecar")
    call = kube.calls[-1]
    assert call.as_user == ALICE and call.param("sinceSeconds") == 300
    assert call.param("limitBytes") == actions.MAX_LOG_BYTES


def test_logs_of_an_unknown_container_or_a_missing_previous_run_are_invalid(kube: FakeKube) -> None:
    kube.add(pod("web"))
    with pytest.raises(Invalid, match="container nope is not valid for pod web"):
        actions.pod_logs(act("logs web -c nope"), kube)
    with pytest.raises(Invalid, match='previous terminated container "web" in pod "web" not found'):
        actions.pod_logs(act("logs web --previous"), kube)


# --- delete --------------------------------------------------------------------------------------
def test_plan_pins_the_pod_and_the_delete_sends_its_uid_as_precondition(kube: FakeKube) -> None:
    raw = kube.add(pod("web-7d4b9c-abcde", node="node-3"))
    target = actions.plan_delete_pod(
        act('delete pod web-7d4b9c-abcde --grace-period=5 --reason "stuck"'), kube
    )
    assert (target.uid, target.resource_version) == (
        raw["metadata"]["uid"],
        raw["metadata"]["resourceVersion"],
    )
    assert (target.owner_kind, target.owner_name, target.node) == ("ReplicaSet", "web-7d4b9c", "node-3")
    assert (target.grace_period, target.reason, target.context) == (5, "stuck", "prod")
    result = actions.delete_target(target, kube, ALICE)
    call = kube.calls[-1]
    assert call.method == "DELETE" and call.as_user == ALICE
    assert call.body == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "preconditions": {"uid": raw["metadata"]["uid"]},
        "gracePeriodSeconds": 5,
    }
    assert result.verb == "deleted" and result.objects[0].uid == raw["metadata"]["uid"]
    assert kube.stored("pods", "web-7d4b9c-abcde") is None


def test_a_same_named_replacement_fails_the_precondition_and_survives(kube: FakeKube) -> None:
    kube.add(pod("web"))
    target = actions.plan_delete_pod(act("delete pod web"), kube)
    kube.add(pod("web"))  # replaced behind our back: a new uid
    with pytest.raises(Conflict, match="Precondition failed: UID in precondition"):
        actions.delete_target(target, kube)
    survivor = kube.stored("pods", "web")
    assert survivor is not None and survivor["metadata"]["uid"] != target.uid


def test_a_mirror_pod_is_refused_with_where_its_manifest_lives(kube: FakeKube) -> None:
    kube.add(
        pod(
            "etcd-node01",
            "kube-system",
            node="node01",
            owner=("Node", "node01"),
            annotations={actions.MIRROR_ANNOTATION: "abc", actions.SOURCE_ANNOTATION: "file"},
        )
    )
    with pytest.raises(
        NotPermitted, match=r"static pod.*manifest of pod etcd in the kubelet's staticPodPath.*on node node01"
    ):
        actions.plan_delete_pod(act("delete pod etcd-node01 -n kube-system"), kube)
    assert kube.writes() == []


def test_secrets_are_planned_and_deleted_the_same_way(kube: FakeKube) -> None:
    secret = kube.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "old"}, "type": "Opaque"})
    target = actions.plan_delete_secret(act("delete secret old"), kube)
    assert (target.kind, target.uid) == ("Secret", secret["metadata"]["uid"])
    actions.delete_target(target, kube)
    assert kube.calls[-1].path == "/api/v1/namespaces/default/secrets/old"
    assert kube.stored("secrets", "old") is None
    with pytest.raises(NotFound):
        actions.plan_delete_secret(act("delete secret old"), kube)


def test_rbac_refusing_the_delete_leaves_the_pod(kube: FakeKube) -> None:
    kube.add(pod("web"))
    target = actions.plan_delete_pod(act("delete pod web"), kube, ALICE)
    kube.forbid("delete", "pods", user=ALICE.user)
    with pytest.raises(Forbidden, match=r'pods "web" is forbidden: User "alice@example\.com" cannot delete'):
        actions.delete_target(target, kube, ALICE)
    assert kube.stored("pods", "web") is not None


# --- registry secret -----------------------------------------------------------------------------
def registry_secret(dry_run: DryRun = DryRun.NONE, password: str | None = "123456") -> CreateRegistrySecret:
    return CreateRegistrySecret(
        name="myregistrykey",
        server="10.0.0.130:5000",
        username="test",
        password=Secret(password) if password is not None else None,
        where=Where(namespace="default"),
        dry_run=dry_run,
    )


def test_registry_secret_is_the_dockerconfigjson_kubectl_writes(kube: FakeKube) -> None:
    result = actions.create_registry_secret(registry_secret(), kube, ALICE)
    (call,) = kube.calls
    assert call.path == "/api/v1/namespaces/default/secrets" and call.as_user == ALICE
    stored = kube.stored("secrets", "myregistrykey")
    assert stored is not None and stored["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(stored["data"][".dockerconfigjson"]))
    assert config["auths"]["10.0.0.130:5000"]["auth"] == base64.b64encode(b"test:123456").decode()
    assert result.objects == (
        actions.ObjectRef("Secret", "default", "myregistrykey", stored["metadata"]["uid"]),
    )
    assert "123456" not in repr(result)


def test_registry_secret_dry_runs_and_needs_a_password(kube: FakeKube) -> None:
    assert actions.create_registry_secret(registry_secret(DryRun.CLIENT), kube).dry_run and kube.calls == []
    server = actions.create_registry_secret(registry_secret(DryRun.SERVER), kube)
    assert server.dry_run and kube.calls[0].dry_run and kube.stored("secrets", "myregistrykey") is None
    for missing in (None, ""):
        with pytest.raises(UsageError, match="myregistrykey"):
            actions.create_registry_secret(registry_secret(password=missing), kube)
    assert len(kube.calls) == 1


# --- static pods ---------------------------------------------------------------------------------
def test_static_pods_are_the_mirror_pods_with_their_manifest_hints(kube: FakeKube) -> None:
    mirror = {actions.MIRROR_ANNOTATION: "abc", actions.SOURCE_ANNOTATION: "file"}
    kube.add(pod("etcd-node01", "kube-system", node="node01", owner=("Node", "node01"), annotations=mirror))
    kube.add(
        pod(
            "web-node02",
            node="node02",
            owner=("Node", "node02"),
            annotations={actions.MIRROR_ANNOTATION: "def", actions.SOURCE_ANNOTATION: "http"},
        )
    )
    kube.add(pod("ordinary", node="node01"))
    listed = actions.list_static_pods(act("static"), kube)
    assert isinstance(listed, StaticPods)
    assert [(p.namespace, p.name, p.node, p.source) for p in listed.pods] == [
        ("default", "web-node02", "node02", "http"),
        ("kube-system", "etcd-node01", "node01", "file"),
    ]
    assert listed.pods[0].manifest_hint.startswith("pod web from the kubelet's --manifest-url on node node02")
    assert listed.pods[1].manifest_hint.startswith("the manifest of pod etcd in the kubelet's staticPodPath")
    assert kube.calls[0].path == "/api/v1/pods"  # every namespace by default
    on_node = actions.list_static_pods(act("static --node node01"), kube)
    assert [p.name for p in on_node.pods] == ["etcd-node01"]
    assert kube.calls[-1].param("fieldSelector") == "spec.nodeName=node01"
