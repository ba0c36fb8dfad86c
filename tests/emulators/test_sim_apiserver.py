"""The simulated API server over HTTPS: discovery, errors, Table output, lists, watches, writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from podbot.sim.cluster import SimCluster
from tests.support.builders import unscheduled_pod as pod
from tests.support.sim import Api

TABLE = (  # what kubectl get sends
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


@pytest.fixture(scope="module")
def api(sim_cluster: SimCluster) -> Api:
    return Api(sim_cluster.url, sim_cluster.ca_pem, sim_cluster.admin_token)


@pytest.fixture(scope="module")
def anonymous(sim_cluster: SimCluster) -> Api:
    return Api(sim_cluster.url, sim_cluster.ca_pem, None)


# --- discovery and plumbing ------------------------------------------------------------------------
def test_version_and_health_need_no_token_but_the_api_does(anonymous: Api, sim_cluster: SimCluster) -> None:
    status, version = anonymous.json("GET", "/version")
    assert status == 200 and version["major"] == "1" and version["minor"] == "32"
    assert anonymous.request("GET", "/healthz")[2] == b"ok"
    status, body = anonymous.json("GET", "/api/v1/pods")
    assert status == 401 and body["reason"] == "Unauthorized" and body["message"] == "Unauthorized"
    wrong = Api(sim_cluster.url, sim_cluster.ca_pem, "not-the-token")
    assert wrong.json("GET", "/version")[0] == 401


def test_legacy_and_aggregated_discovery(api: Api) -> None:
    status, versions = api.json("GET", "/api")
    assert status == 200 and versions["kind"] == "APIVersions" and versions["versions"] == ["v1"]
    status, core = api.json("GET", "/api/v1")
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods["namespaced"] is True and pods["shortNames"] == ["po"] and "watch" in pods["verbs"]
    assert {"pods/log", "pods/status"} <= {r["name"] for r in core["resources"]}
    status, groups = api.json("GET", "/apis")
    names = [g["name"] for g in groups["groups"]]
    assert {"apps", "coordination.k8s.io", "authorization.k8s.io", "rbac.authorization.k8s.io"} <= set(names)
    status, leases = api.json("GET", "/apis/coordination.k8s.io/v1")
    assert [r["name"] for r in leases["resources"]] == ["leases"]
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    status, headers, data = api.request("GET", "/apis", headers=[("Accept", accept)])
    assert headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    aggregated = json.loads(data)
    apps = next(i for i in aggregated["items"] if i["metadata"]["name"] == "apps")
    deployments = apps["versions"][0]["resources"][0]
    assert deployments["resource"] == "deployments" and deployments["scope"] == "Namespaced"
    assert {s["subresource"] for s in deployments["subresources"]} == {"status", "scale"}


def test_openapi_v3_advertises_server_side_field_validation(api: Api) -> None:
    status, root = api.json("GET", "/openapi/v3")
    assert status == 200 and {"api/v1", "apis/apps/v1"} <= set(root["paths"])
    status, doc = api.json("GET", root["paths"]["api/v1"]["serverRelativeURL"])
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    pod_schema = doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    assert pod_schema["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    containers = doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert (containers["x-kubernetes-patch-merge-key"], containers["x-kubernetes-patch-strategy"]) == (
        "name",
        "merge",
    )


@pytest.mark.parametrize(
    ("method", "path", "code", "message"),
    [
        ("GET", "/api/v1/foos", 404, "the server could not find the requested resource"),
        ("GET", "/apis/nope/v1/things", 404, "the server could not find the requested resource"),
        (
            "GET",
            "/api/v1/namespaces/default/pods/x/proxy",
            404,
            "the server could not find the requested resource",
        ),
        ("GET", "/api/v1/namespaces/default/pods/x/exec", 404, 'pods "x" not found'),
        (
            "GET",
            "/api/v1/namespaces/default/pods/x/exec/more",
            404,
            "the server could not find the requested resource",
        ),
        (
            "PUT",
            "/api/v1/namespaces/default/pods",
            405,
            "the server does not allow this method on the requested resource",
        ),
        ("GET", "/api/v1/namespaces/default/pods/missing", 404, 'pods "missing" not found'),
        (
            "GET",
            "/apis/apps/v1/namespaces/default/deployments/missing",
            404,
            'deployments.apps "missing" not found',
        ),
    ],
)
def test_error_statuses(api: Api, method: str, path: str, code: int, message: str) -> None:
    status, body = api.json(method, path, {} if method == "PUT" else None)
    assert status == code and body["kind"] == "Status" and body["message"] == message


def test_request_bodies_over_3_mib_are_413(api: Api) -> None:
    big = {"metadata": {"name": "big"}, "data": {"blob": "x" * (3 * 1024 * 1024)}}
    status, body = api.json("POST", "/api/v1/namespaces/default/configmaps", big)
    assert status == 413 and body["message"] == "Request entity too large: limit is 3145728"


def test_malformed_and_mismatched_bodies_are_400(api: Api) -> None:
    status, _, data = api.request("POST", "/api/v1/namespaces/default/pods", b'{"apiVersion": ')
    body = json.loads(data)
    assert status == 400 and body["message"].startswith(
        "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; "
        "json parse error: unexpected end of JSON input"
    )
    status, body = api.json("POST", "/api/v1/namespaces/default/pods", {**pod("x"), "kind": "Service"})
    assert status == 400 and body["message"].startswith('Service in version "v1" cannot be handled as a Pod')
    status, body = api.json(
        "POST",
        "/api/v1/namespaces/default/pods",
        {**pod("x"), "metadata": {"name": "x", "namespace": "other"}},
    )
    assert (
        status == 400
        and body["message"]
        == "the namespace of the provided object does not match the namespace sent on the request"
    )
    bad_type = pod("x")
    bad_type["spec"]["containers"][0]["image"] = 5
    status, body = api.json("POST", "/api/v1/namespaces/default/pods", bad_type)
    assert status == 400 and body["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field '
        "Container.spec.containers.image of type string"
    )


# --- creates -------------------------------------------------------------------------------------------
def test_create_in_a_missing_namespace_is_404(api: Api) -> None:
    status, body = api.json("POST", "/api/v1/namespaces/nowhere/pods", pod("x"))
    assert status == 404 and body["message"] == 'namespaces "nowhere" not found'
    assert body["details"] == {"name": "nowhere", "kind": "namespaces"}


def test_generate_name_and_dry_run(api: Api) -> None:
    status, created = api.json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        {"metadata": {"generateName": "cfg-"}, "data": {"a": "b"}},
    )
    assert (
        status == 201
        and created["metadata"]["name"].startswith("cfg-")
        and len(created["metadata"]["name"]) == 9
    )
    status, dry = api.json("POST", "/api/v1/namespaces/default/pods?dryRun=All", pod("dry"))
    assert status == 201 and dry["metadata"]["uid"] and dry["status"]["phase"] == "Pending"
    assert api.json("GET", "/api/v1/namespaces/default/pods/dry")[0] == 404
    status, body = api.json("POST", "/api/v1/namespaces/default/pods?dryRun=Sometimes", pod("dry"))
    assert status == 422 and body["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Sometimes"}: '
        'supported values: "All"'
    )
    status, body = api.json("POST", "/api/v1/namespaces/default/pods?fieldValidation=Loose", pod("dry"))
    assert status == 422 and body["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": '
        'supported values: "", "Ignore", "Strict", "Warn"'
    )


def test_server_sets_identity_and_ignores_client_values(api: Api) -> None:
    manifest = pod("ident")
    manifest["metadata"].update(
        {"uid": "mine", "resourceVersion": "999", "creationTimestamp": "2000-01-01T00:00:00Z"}
    )
    manifest["status"] = {"phase": "Running"}
    status, created = api.json("POST", "/api/v1/namespaces/default/pods", manifest)
    assert status == 201
    assert created["metadata"]["uid"] != "mine" and created["metadata"]["resourceVersion"] != "999"
    assert created["metadata"]["creationTimestamp"] != "2000-01-01T00:00:00Z"
    assert created["status"]["phase"] == "Pending"


# --- updates -------------------------------------------------------------------------------------------
def test_put_with_a_stale_resource_version_conflicts(api: Api) -> None:
    _, cm = api.json(
        "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "occ"}, "data": {"v": "1"}}
    )
    first = {**cm, "data": {"v": "2"}}
    status, updated = api.json("PUT", "/api/v1/namespaces/default/configmaps/occ", first)
    assert status == 200 and int(updated["metadata"]["resourceVersion"]) > int(
        cm["metadata"]["resourceVersion"]
    )
    stale = {**cm, "data": {"v": "3"}}
    status, body = api.json("PUT", "/api/v1/namespaces/default/configmaps/occ", stale)
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "occ": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    status, body = api.json("PUT", "/api/v1/namespaces/default/configmaps/other", updated)
    assert (
        status == 400
        and body["message"] == "the name of the object (occ) does not match the name on the URL (other)"
    )
    same = api.json("PUT", "/api/v1/namespaces/default/configmaps/occ", updated)[1]
    assert (
        same["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]
    )  # no-op: no new version


def test_status_subresource_changes_only_status(api: Api, sim_cluster: SimCluster) -> None:
    api.json("POST", "/api/v1/namespaces/default/pods", pod("stat"))
    patch = {"status": {"phase": "Running"}, "metadata": {"labels": {"sneaky": "1"}}}
    status, _, data = api.request(
        "PATCH",
        "/api/v1/namespaces/default/pods/stat/status",
        patch,
        content_type="application/merge-patch+json",
    )
    patched = json.loads(data)
    assert (
        status == 200
        and patched["status"]["phase"] == "Running"
        and "sneaky" not in patched["metadata"]["labels"]
    )
    main = {"status": {"phase": "Failed"}, "metadata": {"labels": {"ok": "1"}}}
    _, _, data = api.request(
        "PATCH", "/api/v1/namespaces/default/pods/stat", main, content_type="application/merge-patch+json"
    )
    after = json.loads(data)
    assert after["status"]["phase"] == "Running" and after["metadata"]["labels"]["ok"] == "1"


def test_unsupported_patch_type_is_415(api: Api) -> None:
    api.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "p415"}})
    status, _, data = api.request(
        "PATCH", "/api/v1/namespaces/default/configmaps/p415", {"a": 1}, content_type="text/plain"
    )
    assert status == 415 and json.loads(data)["reason"] == "UnsupportedMediaType"


# --- deletes -------------------------------------------------------------------------------------------
def test_graceful_delete_of_a_scheduled_pod_only_marks_it(api: Api, sim_cluster: SimCluster) -> None:
    api.json("POST", "/api/v1/namespaces/default/pods", pod("graceful"))

    def schedule(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["nodeName"] = "node-without-kubelet"  # nobody finishes the deletion but us
        obj["status"]["phase"] = "Running"
        return obj

    sim_cluster.store.mutate("pods", "default", "graceful", schedule)
    status, marked = api.json("DELETE", "/api/v1/namespaces/default/pods/graceful")
    assert status == 200 and marked["kind"] == "Pod"
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30 and marked["metadata"]["deletionTimestamp"]
    status, still = api.json("GET", "/api/v1/namespaces/default/pods/graceful")
    assert status == 200 and still["metadata"]["deletionTimestamp"] == marked["metadata"]["deletionTimestamp"]
    _, _, data = api.request("GET", "/api/v1/namespaces/default/pods/graceful", headers=[("Accept", TABLE)])
    assert json.loads(data)["rows"][0]["cells"][2] == "Terminating"
    status, _ = api.json("DELETE", "/api/v1/namespaces/default/pods/graceful", {"gracePeriodSeconds": 0})
    assert status == 200 and api.json("GET", "/api/v1/namespaces/default/pods/graceful")[0] == 404


def test_delete_returns_status_for_most_kinds_and_honours_finalizers(api: Api) -> None:
    api.json(
        "POST", "/api/v1/namespaces/default/secrets", {"metadata": {"name": "gone"}, "stringData": {"k": "v"}}
    )
    status, body = api.json("DELETE", "/api/v1/namespaces/default/secrets/gone")
    assert status == 200 and body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "gone" and body["details"]["kind"] == "secrets"
    api.json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}},
    )
    status, held = api.json("DELETE", "/api/v1/namespaces/default/configmaps/held")
    assert status == 200 and held["metadata"]["deletionTimestamp"]
    assert api.json("GET", "/api/v1/namespaces/default/configmaps/held")[0] == 200
    api.request(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/held",
        {"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )
    assert api.json("GET", "/api/v1/namespaces/default/configmaps/held")[0] == 404


def test_delete_collection_by_label(api: Api) -> None:
    for i in range(3):
        api.json(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            {"metadata": {"name": f"bulk{i}", "labels": {"batch": "x" if i < 2 else "y"}}},
        )
    status, body = api.json("DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=batch%3Dx")
    assert status == 200 and sorted(i["metadata"]["name"] for i in body["items"]) == ["bulk0", "bulk1"]
    _, left = api.json("GET", "/api/v1/namespaces/default/configmaps?labelSelector=batch")
    assert [i["metadata"]["name"] for i in left["items"]] == ["bulk2"]


def test_namespace_terminating_refuses_new_content(api: Api, sim_cluster: SimCluster) -> None:
    api.json("POST", "/api/v1/namespaces", {"metadata": {"name": "closing"}})
    api.json("POST", "/api/v1/namespaces/closing/pods", pod("runner"))
    orphan = "node-without-kubelet"
    sim_cluster.store.mutate(
        "pods", "closing", "runner", lambda o: {**o, "spec": {**o["spec"], "nodeName": orphan}}
    )
    status, ns = api.json("DELETE", "/api/v1/namespaces/closing")
    assert status == 200 and ns["status"]["phase"] == "Terminating"
    status, body = api.json("POST", "/api/v1/namespaces/closing/configmaps", {"metadata": {"name": "late"}})
    assert status == 403 and body["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace closing '
        "because it is being terminated"
    )
    assert body["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    # The scheduled pod is only marked; when "its kubelet" finishes it, the namespace goes too.
    sim_cluster.advance(0)
    assert api.json("GET", "/api/v1/namespaces/closing")[0] == 200
    sim_cluster.store.delete("pods", "closing", "runner")
    sim_cluster.advance(2)
    assert api.json("GET", "/api/v1/namespaces/closing")[0] == 404


# --- output forms ---------------------------------------------------------------------------------------
def test_table_output_for_pods_and_other_kinds(api: Api) -> None:
    api.json("POST", "/api/v1/namespaces/default/pods", pod("tabled", app="t"))
    _, _, data = api.request(
        "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dt", headers=[("Accept", TABLE)]
    )
    table = json.loads(data)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [(c["name"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]
    [row] = table["rows"]
    assert row["cells"][:4] == ["tabled", "0/1", "Pending", "0"] and row["cells"][5:] == ["<none>"] * 4
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == "tabled"
    _, _, data = api.request(
        "GET", "/api/v1/namespaces/default/pods/tabled?includeObject=Object", headers=[("Accept", TABLE)]
    )
    assert json.loads(data)["rows"][0]["object"]["kind"] == "Pod"
    _, _, data = api.request("GET", "/api/v1/namespaces", headers=[("Accept", TABLE)])
    ns_table = json.loads(data)
    assert [c["name"] for c in ns_table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert ["default", "Active"] in [r["cells"][:2] for r in ns_table["rows"]]
    _, _, data = api.request(
        "GET",
        "/api/v1/namespaces/default/pods/tabled",
        headers=[("Accept", "application/json;as=Table;v=v1beta1;g=meta.k8s.io")],
    )
    assert json.loads(data)["apiVersion"] == "meta.k8s.io/v1beta1"


def test_metadata_only_and_yaml_output(api: Api) -> None:
    api.json("POST", "/api/v1/namespaces/default/pods", pod("shapes"))
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    _, _, data = api.request(
        "GET",
        "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dshapes",
        headers=[("Accept", accept)],
    )
    listing = json.loads(data)
    assert listing["kind"] == "PartialObjectMetadataList"
    assert listing["items"] == [
        {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": listing["items"][0]["metadata"],
        }
    ]
    status, headers, data = api.request(
        "GET", "/api/v1/namespaces/default/pods/shapes", headers=[("Accept", "application/yaml")]
    )
    assert status == 200 and headers["Content-Type"] == "application/yaml"
    assert yaml.safe_load(data)["metadata"]["name"] == "shapes"


# --- lists ------------------------------------------------------------------------------------------
def test_continue_token_expires_after_compaction(api: Api, sim_cluster: SimCluster) -> None:
    for i in range(3):
        api.json(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            {"metadata": {"name": f"page{i}", "labels": {"paged": "1"}}},
        )
    _, first = api.json("GET", "/api/v1/namespaces/default/configmaps?labelSelector=paged&limit=2")
    token = first["metadata"]["continue"]
    assert len(first["items"]) == 2
    api.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "after-page"}})
    sim_cluster.faults.compact()  # the token's snapshot is now older than the oldest kept revision
    status, body = api.json(
        "GET", f"/api/v1/namespaces/default/configmaps?labelSelector=paged&limit=2&continue={token}"
    )
    assert status == 410 and body["reason"] == "Expired"
    assert body["message"].startswith(
        "The provided continue parameter is too old to display a consistent list result."
    )
    status, body = api.json("GET", "/api/v1/namespaces/default/configmaps?continue=garbage!")
    assert status == 400 and body["message"].startswith("invalid continue token: continue key is not valid")
    status, body = api.json(
        "GET", f"/api/v1/namespaces/default/configmaps?continue={token}&resourceVersion=5"
    )
    assert (
        status == 400 and body["message"] == "specifying resource version is not allowed when using continue"
    )


def test_resource_version_0_lists_are_whole_like_the_watch_cache(api: Api) -> None:
    _, paged = api.json("GET", "/api/v1/namespaces?limit=1")
    assert len(paged["items"]) == 1 and paged["metadata"]["continue"]
    _, whole = api.json("GET", "/api/v1/namespaces?limit=1&resourceVersion=0")
    assert len(whole["items"]) > 1 and "continue" not in whole["metadata"]


def test_cluster_scoped_and_all_namespace_lists(api: Api) -> None:
    _, namespaces = api.json("GET", "/api/v1/namespaces")
    names = [n["metadata"]["name"] for n in namespaces["items"]]
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(names)
    _, sas = api.json("GET", "/api/v1/serviceaccounts?fieldSelector=metadata.name%3Ddefault")
    assert {"default", "kube-system"} <= {s["metadata"]["namespace"] for s in sas["items"]}
    _, svc = api.json("GET", "/api/v1/namespaces/default/services/kubernetes")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"


# --- watches ----------------------------------------------------------------------------------------
def watch(api: Api, path: str, **kw: Any) -> Iterator[Any]:
    return api.stream(path, **kw)


def test_watch_initial_state_selector_transitions_and_timeout(api: Api) -> None:
    api.json("POST", "/api/v1/namespaces/default/pods", pod("sel-a", watch="yes"))
    stream = watch(
        api, "/api/v1/namespaces/default/pods?watch=true&labelSelector=watch%3Dyes&timeoutSeconds=5"
    )
    first = next(stream)
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "sel-a")
    api.request(
        "PATCH",
        "/api/v1/namespaces/default/pods/sel-a",
        {"metadata": {"labels": {"watch": "no"}}},
        content_type="application/merge-patch+json",
    )
    left = next(stream)
    assert (left["type"], left["object"]["metadata"]["labels"]["watch"]) == ("DELETED", "no")
    api.request(
        "PATCH",
        "/api/v1/namespaces/default/pods/sel-a",
        {"metadata": {"labels": {"watch": "yes"}}},
        content_type="application/merge-patch+json",
    )
    assert next(stream)["type"] == "ADDED"
    stream.close()


def test_watch_bookmarks_initial_events_end_and_table_events(api: Api, sim_cluster: SimCluster) -> None:
    sim_cluster.api.bookmark_interval = 0.05
    try:
        stream = watch(
            api,
            "/api/v1/namespaces/kube-public/configmaps?watch=true&allowWatchBookmarks=true"
            "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=5",
        )
        added = next(stream)
        assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "kube-root-ca.crt"
        end = next(stream)
        assert end["type"] == "BOOKMARK"
        assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        idle = next(stream)
        assert idle["type"] == "BOOKMARK" and int(idle["object"]["metadata"]["resourceVersion"]) >= int(
            end["object"]["metadata"]["resourceVersion"]
        )
        stream.close()
    finally:
        sim_cluster.api.bookmark_interval = 10.0
    api.json("POST", "/api/v1/namespaces/default/pods", pod("tw1", tw="1"))
    stream = watch(
        api,
        "/api/v1/namespaces/default/pods?watch=true&labelSelector=tw&timeoutSeconds=5",
        headers=[("Accept", TABLE)],
    )
    event = next(stream)
    assert event["object"]["kind"] == "Table" and len(event["object"]["columnDefinitions"]) == 9
    api.json("POST", "/api/v1/namespaces/default/pods", pod("tw2", tw="1"))
    second = next(stream)
    assert second["object"]["columnDefinitions"] == [] and second["object"]["rows"][0]["cells"][0] == "tw2"
    stream.close()


@pytest.mark.slow  # a real-time protocol timer: the server ends the watch after its 1 s timeoutSeconds
def test_watch_ends_at_timeout_seconds(api: Api) -> None:
    events = list(watch(api, "/api/v1/namespaces/kube-node-lease/configmaps?watch=true&timeoutSeconds=1"))
    assert [e["type"] for e in events] == ["ADDED"]  # kube-root-ca.crt, then the server closes the stream


def test_events_expire_an_hour_after_their_last_write(api: Api, sim_cluster: SimCluster) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "ttl.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "x", "namespace": "default"},
        "reason": "BackOff",
        "message": "Back-off pulling image",
        "type": "Normal",
        "count": 1,
    }
    assert api.json("POST", "/api/v1/namespaces/default/events", event)[0] == 201
    sim_cluster.advance(3000)
    status, _, _ = api.request(
        "PATCH",
        "/api/v1/namespaces/default/events/ttl.1",
        {"count": 2},
        content_type="application/merge-patch+json",
    )
    assert status == 200  # a new write renews the event's lease
    sim_cluster.advance(3000)
    assert api.json("GET", "/api/v1/namespaces/default/events/ttl.1")[0] == 200
    sim_cluster.advance(601)
    assert api.json("GET", "/api/v1/namespaces/default/events/ttl.1")[0] == 404
