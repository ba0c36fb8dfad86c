"""Fault injection from Python and over the /_sim/ admin endpoint, and simulated time over HTTP."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator

import pytest

from podbot.core.errors import ClusterUnavailable
from podbot.k8s.client import Clusters, Gone
from podbot.sim.cluster import SimCluster
from tests.support.sim import Api


@pytest.fixture(scope="module")
def api(sim_cluster: SimCluster) -> Api:
    return Api(sim_cluster.url, sim_cluster.ca_pem, sim_cluster.admin_token)


@pytest.fixture(autouse=True)
def clean_faults(sim_cluster: SimCluster) -> Iterator[None]:
    yield
    sim_cluster.faults.clear()


def test_fail_n_requests_with_503_then_recover(api: Api, sim_cluster: SimCluster) -> None:
    sim_cluster.faults.fail(503, count=2)
    for _ in range(2):
        status, body = api.json("GET", "/api/v1/namespaces")
        assert status == 503 and body["reason"] == "ServiceUnavailable"
        assert body["message"] == "the server is currently unable to handle the request"
    assert api.json("GET", "/api/v1/namespaces")[0] == 200
    assert sim_cluster.faults.rules() == []


def test_fail_only_matching_path_and_method_and_429_has_retry_after(
    api: Api, sim_cluster: SimCluster
) -> None:
    sim_cluster.faults.fail(429, path=r"/configmaps", method="POST")
    assert api.json("GET", "/api/v1/namespaces/default/configmaps")[0] == 200
    status, headers, data = api.request(
        "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "x"}}
    )
    assert status == 429 and headers["Retry-After"] == "1" and json.loads(data)["reason"] == "TooManyRequests"
    assert api.json("GET", "/api/v1/namespaces/default/configmaps/x")[0] == 404  # nothing was written


def test_slow_responses(api: Api, sim_cluster: SimCluster) -> None:
    sim_cluster.faults.slow(0.3, count=1)
    started = time.monotonic()
    assert api.json("GET", "/version")[0] == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.json("GET", "/version")
    assert time.monotonic() - started < 0.3


def test_reset_connection(api: Api, sim_cluster: SimCluster) -> None:
    sim_cluster.faults.reset(count=1, path="^/api$")
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, OSError)):
        api.json("GET", "/api")
    assert api.json("GET", "/api")[0] == 200


def test_api_down_refuses_connections_until_up_on_the_same_port(api: Api, sim_cluster: SimCluster) -> None:
    url = sim_cluster.url
    sim_cluster.faults.api_down()
    with pytest.raises(ConnectionRefusedError):
        api.json("GET", "/version")
    sim_cluster.faults.api_up()
    assert sim_cluster.url == url and api.json("GET", "/version")[0] == 200
    sim_cluster.faults.api_down(seconds=0.2)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            assert api.json("GET", "/version")[0] == 200
            break
        except ConnectionRefusedError:
            time.sleep(0.05)
    else:
        pytest.fail("the API did not come back after api_down(seconds=0.2)")


def test_expired_dropped_and_compacted_watches(api: Api, sim_cluster: SimCluster) -> None:
    sim_cluster.faults.expire_watches(count=1)
    [event] = list(api.stream("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=5"))
    assert (
        event["type"] == "ERROR" and event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    )

    stream = api.stream("/api/v1/namespaces/kube-public/configmaps?watch=true&timeoutSeconds=30")
    assert next(stream)["type"] == "ADDED"
    started = time.monotonic()
    sim_cluster.faults.drop_watches()
    assert list(stream) == [] and time.monotonic() - started < 5

    _, created = api.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "old-rv"}})
    api.json("DELETE", "/api/v1/namespaces/default/configmaps/old-rv")
    sim_cluster.faults.compact()
    rv = created["metadata"]["resourceVersion"]
    [event] = list(
        api.stream(f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=5")
    )
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert event["object"]["message"].startswith(f"too old resource version: {rv} (")


def test_admin_endpoint_drives_faults_and_time(api: Api, sim_cluster: SimCluster) -> None:
    rule = {"action": "fail", "status": 500, "count": 1, "path": "^/api/v1/namespaces$"}
    status, state = api.json("POST", "/_sim/faults", rule)
    assert status == 200 and state["rules"][0]["status"] == 500 and state["rules"][0]["remaining"] == 1
    assert api.json("GET", "/_sim/faults")[1]["rules"] == state["rules"]
    status, body = api.json("GET", "/api/v1/namespaces")
    assert status == 500 and body["reason"] == "InternalError"
    assert api.json("GET", "/api/v1/namespaces")[0] == 200
    api.json("POST", "/_sim/faults", {"action": "slow", "seconds": 5})
    assert api.json("DELETE", "/_sim/faults") == (200, {"rules": [], "down": False})
    status, body = api.json("POST", "/_sim/faults", {"action": "explode"})
    assert status == 400 and body["message"].startswith("unknown action 'explode'")
    before = sim_cluster.clock.time()
    status, body = api.json("POST", "/_sim/advance?seconds=90")
    assert status == 200 and 90 <= sim_cluster.clock.time() - before < 91
    assert api.json("POST", "/_sim/advance?seconds=-1")[0] == 400
    anonymous = Api(sim_cluster.url, sim_cluster.ca_pem, None)
    assert anonymous.json("POST", "/_sim/advance?seconds=1")[0] == 401
    assert api.json("GET", "/_sim/nothing")[0] == 404


@pytest.mark.usefixtures("quick_read_retries")
def test_podbots_own_client_sees_faults_as_podbot_errors(sim_cluster: SimCluster) -> None:
    clusters = Clusters(str(sim_cluster.kubeconfig_path), timeout=5)
    kube = clusters.get()
    try:
        items, rv = kube.list_all("/api/v1/namespaces", page_size=2)
        assert {"default", "kube-system"} <= {i["metadata"]["name"] for i in items} and rv
        sim_cluster.faults.fail(503, count=4)  # more than the client's read retries
        with pytest.raises(ClusterUnavailable):
            kube.get("/api/v1/namespaces")
        assert sim_cluster.faults.rules() == []
        sim_cluster.faults.expire_watches(count=1)
        with pytest.raises(Gone):
            list(kube.watch("/api/v1/namespaces/default/pods", timeout_seconds=5))
        sim_cluster.faults.api_down()
        with pytest.raises(ClusterUnavailable):
            kube.version()
    finally:
        sim_cluster.faults.api_up()
        clusters.close()


@pytest.mark.usefixtures("quick_read_retries")
@pytest.mark.parametrize(
    "status",
    [
        pytest.param(429, marks=pytest.mark.slow),  # the retry waits the sim's Retry-After: 1 s, in real time
        500,
        502,
        503,
        504,
    ],
)
def test_podbots_reads_are_retried_and_its_writes_are_not(sim_cluster: SimCluster, status: int) -> None:
    clusters = Clusters(str(sim_cluster.kubeconfig_path), timeout=5)
    kube = clusters.get()
    try:
        sim_cluster.faults.fail(status, count=1, method="GET")
        assert kube.get("/api/v1/namespaces/default")["metadata"]["name"] == "default"
        assert sim_cluster.faults.rules() == []  # the one failure was met, then the retry answered
        sim_cluster.faults.fail(status, count=2, method="POST")
        with pytest.raises(ClusterUnavailable):
            kube.request(
                "POST", "/api/v1/namespaces/default/configmaps", body={"metadata": {"name": f"w{status}"}}
            )
        assert [rule["remaining"] for rule in sim_cluster.faults.rules()] == [1]  # sent once
    finally:
        sim_cluster.faults.clear()
        clusters.close()


def test_admin_endpoint_can_take_the_api_down_for_a_while(api: Api) -> None:
    status, state = api.json("POST", "/_sim/faults", {"action": "down", "seconds": 0.5})
    assert status == 200 and state["down"] is True
    deadline = time.monotonic() + 5
    refused = False
    while time.monotonic() < deadline:
        try:
            api.json("GET", "/version")
            if refused:
                break  # back up after the given seconds
        except (ConnectionRefusedError, ConnectionResetError):
            refused = True  # a connection caught mid-close is reset rather than refused
        time.sleep(0.05)
    assert refused, "the API never went down"
    assert api.json("GET", "/version")[0] == 200
