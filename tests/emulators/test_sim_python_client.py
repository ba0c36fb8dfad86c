"""The official ``kubernetes`` Python client (37.x) against podbot.sim over HTTPS on loopback.

Typed calls where the client allows them; the client's raw path (``param_serialize`` +
``call_api``, as podbot.k8s.client does) where its pydantic models would reject the request
client-side (unknown fields) or cannot express it (repeated ``Impersonate-Group`` lines).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from urllib3._collections import HTTPHeaderDict

from podbot.sim.cluster import SimCluster
from tests.support.builders import unscheduled_pod as pod

NS = "bulk"
PODS = 1200


@pytest.fixture(scope="module")
def api(sim_cluster: SimCluster) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(sim_cluster.kubeconfig_path))
    yield api_client
    api_client.close()


@pytest.fixture(scope="module")
def v1(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@dataclass(frozen=True)
class Bulk:
    namespace: str
    size: int


@pytest.fixture(
    scope="module",
    params=[pytest.param(120, id="120-pods"), pytest.param(PODS, id="1200-pods", marks=pytest.mark.slow)],
)
def bulk(request: pytest.FixtureRequest, sim_cluster: SimCluster, v1: client.CoreV1Api) -> Bulk:
    """``size`` pods in one namespace: app=web|db alternating, tier t0..t3, every third one Running.
    The fast loop lists 120 of them; the full run, 1,200 (the typed client takes ~2 s for those)."""
    size: int = request.param
    namespace = f"{NS}-{size}"
    v1.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    rest = sim_cluster.api.rest
    pods_type = sim_cluster.api.registry.by_storage("pods")
    for i in range(size):
        rest.create(
            pods_type, namespace, pod(f"p{i:04d}", app="web" if i % 2 == 0 else "db", tier=f"t{i % 4}")
        )
    for i in range(0, size, 3):

        def running(obj: dict[str, Any]) -> dict[str, Any]:
            obj["status"]["phase"] = "Running"
            return obj

        sim_cluster.store.mutate("pods", namespace, f"p{i:04d}", running)
    return Bulk(namespace, size)


def list_all(
    v1: client.CoreV1Api, namespace: str, limit: int, **selectors: str
) -> tuple[list[str], list[int], set[str]]:
    names: list[str] = []
    page_sizes: list[int] = []
    versions: set[str] = set()
    token = None
    while True:
        page = v1.list_namespaced_pod(namespace, limit=limit, _continue=token, **selectors)
        names += [p.metadata.name for p in page.items]
        page_sizes.append(len(page.items))
        versions.add(page.metadata.resource_version)
        token = page.metadata._continue
        if not token:
            return names, page_sizes, versions


def test_pagination_returns_every_pod_once_in_pages_of_the_limit(v1: client.CoreV1Api, bulk: Bulk) -> None:
    limit = bulk.size * 250 // PODS  # 250 of 1,200
    names, sizes, versions = list_all(v1, bulk.namespace, limit)
    assert len(names) == bulk.size and len(set(names)) == bulk.size
    assert sizes == [limit, limit, limit, limit, bulk.size - 4 * limit]  # 250, 250, 250, 250, 200
    assert names == sorted(names)
    assert len(versions) == 1  # every page reports the first page's snapshot resourceVersion


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [  # how many of 1,200 pods match, and of 120
        ({"label_selector": "app=web"}, {PODS: 600, 120: 60}),
        ({"label_selector": "app==db,tier=t1"}, {PODS: 300, 120: 30}),
        ({"label_selector": "tier in (t0,t2),app!=web"}, {PODS: 0, 120: 0}),
        ({"label_selector": "tier notin (t0),!missing"}, {PODS: 900, 120: 90}),
        ({"field_selector": "status.phase=Running"}, {PODS: 400, 120: 40}),
        ({"field_selector": "status.phase!=Running,metadata.name!=p0001"}, {PODS: 799, 120: 79}),
        ({"label_selector": "app=web", "field_selector": "status.phase=Running"}, {PODS: 200, 120: 20}),
    ],
    ids=["app=web", "db-t1", "none", "notin", "running", "not-running", "web-running"],
)
def test_selectors_filter_across_pages(
    v1: client.CoreV1Api, bulk: Bulk, selectors: dict[str, str], expected: dict[int, int]
) -> None:
    limit = bulk.size * 170 // PODS  # 170 of 1,200
    names, sizes, _ = list_all(v1, bulk.namespace, limit, **selectors)
    assert len(names) == expected[bulk.size] == len(set(names))
    assert all(size <= limit for size in sizes)


def test_unsupported_field_selector_is_400_with_the_real_message(v1: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as info:
        v1.list_namespaced_pod("default", field_selector="status.hostIP=1.2.3.4")
    assert info.value.status == 400
    assert json.loads(info.value.body)["message"] == "field label not supported: status.hostIP"


def test_watch_resumes_from_a_resource_version_then_410_once_compacted(
    sim_cluster: SimCluster, v1: client.CoreV1Api
) -> None:
    created = v1.create_namespaced_pod("default", pod("watched", app="w"))
    since = created.metadata.resource_version
    v1.patch_namespaced_pod("watched", "default", {"metadata": {"labels": {"step": "2"}}})
    v1.create_namespaced_pod("default", pod("watched-2", app="w"))
    v1.delete_namespaced_pod("watched", "default")  # never scheduled: deleted at once

    events: list[tuple[str, str]] = []
    w = watch.Watch()
    for event in w.stream(
        v1.list_namespaced_pod, "default", label_selector="app=w", resource_version=since, timeout_seconds=10
    ):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 3:
            w.stop()
    assert events == [("MODIFIED", "watched"), ("ADDED", "watched-2"), ("DELETED", "watched")]

    sim_cluster.faults.compact()
    with pytest.raises(ApiException) as info:
        for _ in watch.Watch().stream(
            v1.list_namespaced_pod, "default", resource_version=since, timeout_seconds=10
        ):
            pass
    assert info.value.status == 410
    assert "too old resource version" in str(info.value.reason)


def test_delete_with_a_stale_uid_precondition_is_a_409_conflict(v1: client.CoreV1Api) -> None:
    old = v1.create_namespaced_pod("default", pod("reused"))
    v1.delete_namespaced_pod("reused", "default")
    new = v1.create_namespaced_pod("default", pod("reused"))
    assert new.metadata.uid != old.metadata.uid
    stale = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=old.metadata.uid))
    with pytest.raises(ApiException) as info:
        v1.delete_namespaced_pod("reused", "default", body=stale)
    status = json.loads(info.value.body)
    assert info.value.status == 409 and status["reason"] == "Conflict"
    assert status["message"] == (
        f'Operation cannot be fulfilled on pods "reused": Precondition failed: UID in precondition: '
        f"{old.metadata.uid}, UID in object meta: {new.metadata.uid}"
    )
    assert v1.read_namespaced_pod("reused", "default").metadata.uid == new.metadata.uid
    fresh = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=new.metadata.uid))
    v1.delete_namespaced_pod("reused", "default", body=fresh)
    with pytest.raises(ApiException) as gone:
        v1.read_namespaced_pod("reused", "default")
    assert gone.value.status == 404


def raw(
    api: client.ApiClient,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: list[tuple[str, str]] | None = None,
    headers: HTTPHeaderDict | None = None,
) -> tuple[int, Any, Any]:
    """The official client's raw path: its auth and TLS, our own body and headers."""
    _, url, header_params, _, _ = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params={},
        auth_settings=["BearerToken"],
    )
    all_headers = HTTPHeaderDict(header_params)
    all_headers["Content-Type"] = "application/json"
    for key, value in (headers or HTTPHeaderDict()).items():
        all_headers.add(key, value)
    response = api.rest_client.pool_manager.request(
        method,
        url,
        headers=all_headers,
        body=None if body is None else json.dumps(body).encode(),
        preload_content=True,
    )
    return response.status, json.loads(response.data), response.headers


def test_strict_field_validation_rejects_unknown_fields_with_400(api: client.ApiClient) -> None:
    manifest = pod("strict")
    manifest["spec"]["foo"] = 1
    manifest["spec"]["containers"][0]["bar"] = 2
    status, body, _ = raw(
        api, "POST", "/api/v1/namespaces/default/pods", body=manifest, query=[("fieldValidation", "Strict")]
    )
    assert status == 400 and body["reason"] == "BadRequest"
    assert body["message"] == (
        # Go's decoder reports unknown fields in document order: containers come before foo here.
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.containers[0].bar", unknown field "spec.foo"'
    )
    status, _, _ = raw(api, "GET", "/api/v1/namespaces/default/pods/strict")
    assert status == 404  # nothing was stored

    status, created, headers = raw(
        api, "POST", "/api/v1/namespaces/default/pods", body=manifest, query=[("fieldValidation", "Warn")]
    )
    assert status == 201 and "foo" not in created["spec"]
    assert headers.getlist("Warning") == [
        '299 - "unknown field \\"spec.containers[0].bar\\""',
        '299 - "unknown field \\"spec.foo\\""',
    ]


def test_impersonated_user_is_denied_then_allowed_with_separate_group_lines(api: client.ApiClient) -> None:
    path = "/api/v1/namespaces/default/pods"
    status, body, _ = raw(api, "GET", path, headers=HTTPHeaderDict({"Impersonate-User": "alice"}))
    assert status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'pods is forbidden: User "alice" cannot list resource "pods" in API group "" '
        'in the namespace "default"'
    )
    assert body["details"] == {"kind": "pods"}

    one_line = HTTPHeaderDict({"Impersonate-User": "alice", "Impersonate-Group": "nobody,developers"})
    status, body, _ = raw(api, "GET", path, headers=one_line)
    assert status == 403, "a comma-joined Impersonate-Group value is ONE group name, not two"

    two_lines = HTTPHeaderDict({"Impersonate-User": "alice"})
    two_lines.add("Impersonate-Group", "nobody")
    two_lines.add("Impersonate-Group", "developers")
    status, body, _ = raw(api, "GET", path, headers=two_lines)
    assert status == 200 and body["kind"] == "PodList"

    status, body, _ = raw(api, "DELETE", "/api/v1/namespaces/prod/pods/x", headers=two_lines)
    assert status == 403
    assert body["message"] == (
        'pods "x" is forbidden: User "alice" cannot delete resource "pods" in API group "" '
        'in the namespace "prod"'
    )


def test_lease_optimistic_concurrency_for_leader_election(api: client.ApiClient) -> None:
    leases = client.CoordinationV1Api(api)
    now = "2026-01-01T00:00:00.000000Z"
    body = client.V1Lease(
        metadata=client.V1ObjectMeta(name="podbot-leader"),
        spec=client.V1LeaseSpec(
            holder_identity="replica-a", lease_duration_seconds=15, acquire_time=now, renew_time=now
        ),
    )
    created = leases.create_namespaced_lease("default", body)
    assert created.spec.holder_identity == "replica-a"
    created.spec.renew_time = "2026-01-01T00:00:10.000000Z"
    renewed = leases.replace_namespaced_lease("podbot-leader", "default", created)
    assert int(renewed.metadata.resource_version) > int(created.metadata.resource_version)
    created.spec.holder_identity = "replica-b"  # a competitor still holding the old resourceVersion
    with pytest.raises(ApiException) as info:
        leases.replace_namespaced_lease("podbot-leader", "default", created)
    assert info.value.status == 409 and json.loads(info.value.body)["reason"] == "Conflict"
    assert leases.read_namespaced_lease("podbot-leader", "default").spec.holder_identity == "replica-a"
