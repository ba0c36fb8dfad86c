"""``pods/log`` over HTTP: parameters reach the kubelet side, errors become Status, follow streams.

The kubelet side is a test double of ``apiserver.LogSource`` so the HTTP contract is tested on its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from podbot.sim.api.server import ApiServer
from podbot.sim.clock import SimClock
from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.store import ObjectStore
from tests.support.sim import Api

TOKEN = "logs-test-token"


class FakeLogs:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.stopped = threading.Event()

    def logs(self, namespace: str, pod: str, container: str | None, **options: Any) -> list[str]:
        self.calls.append({"namespace": namespace, "pod": pod, "container": container, **options})
        if container is None and pod == "two":
            raise SimApiError(
                400, "BadRequest", f"a container name must be specified for pod {pod}, choose one of: [a b]"
            )
        lines = [f"{pod}/{container or 'app'} line {i}" for i in range(10)]
        tail = options.get("tail_lines")
        return lines[-tail:] if tail is not None else lines

    def follow_logs(
        self, namespace: str, pod: str, container: str | None, *, stop: threading.Event, **options: Any
    ) -> Iterator[str]:
        self.calls.append(
            {"namespace": namespace, "pod": pod, "container": container, "follow": True, **options}
        )
        yield "first"
        self.release.wait(5)
        yield "second"
        stop.wait(5)
        if stop.is_set():
            self.stopped.set()


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[Api, FakeLogs]]:
    store, clock, logs = ObjectStore(), SimClock(speed=0), FakeLogs()
    server = ApiServer(store, clock, admin_token=TOKEN, logs=logs)
    server.prepare()
    server.start()
    api = Api(server.url, server.ca_pem, TOKEN)
    for name in ("one", "two"):
        api.json(
            "POST",
            "/api/v1/namespaces/default/pods",
            {
                "metadata": {"name": name},
                "spec": {"containers": [{"name": "a", "image": "busybox"}]},
            },
        )
    try:
        yield api, logs
    finally:
        server.stop()


def test_plain_logs_with_options(setup: tuple[Api, FakeLogs]) -> None:
    api, logs = setup
    status, headers, data = api.request(
        "GET", "/api/v1/namespaces/default/pods/one/log?container=a&tailLines=2&timestamps=true"
    )
    assert status == 200 and headers["Content-Type"] == "text/plain"
    assert data.decode() == "one/a line 8\none/a line 9\n"
    assert logs.calls[-1] == {
        "namespace": "default",
        "pod": "one",
        "container": "a",
        "previous": False,
        "tail_lines": 2,
        "since_seconds": None,
        "timestamps": True,
    }
    api.request("GET", "/api/v1/namespaces/default/pods/one/log?previous=true&sinceSeconds=60")
    assert logs.calls[-1]["previous"] is True and logs.calls[-1]["since_seconds"] == 60
    _, _, data = api.request("GET", "/api/v1/namespaces/default/pods/one/log?limitBytes=5")
    assert data == b"one/a"


def test_log_errors_are_statuses(setup: tuple[Api, FakeLogs]) -> None:
    api, _ = setup
    status, body = api.json("GET", "/api/v1/namespaces/default/pods/missing/log")
    assert status == 404 and body["message"] == 'pods "missing" not found'
    status, body = api.json("GET", "/api/v1/namespaces/default/pods/two/log")
    assert (
        status == 400
        and body["message"] == "a container name must be specified for pod two, choose one of: [a b]"
    )
    status, body = api.json("GET", "/api/v1/namespaces/default/pods/one/log?tailLines=-1")
    assert (
        status == 422
        and "tailLines: Invalid value: -1: must be greater than or equal to 0" in body["message"]
    )
    status, body = api.json("GET", "/api/v1/namespaces/default/pods/one/log?tailLines=ten")
    assert status == 400


def test_follow_streams_lines_as_they_come_and_stops_when_the_client_leaves(
    setup: tuple[Api, FakeLogs],
) -> None:
    api, logs = setup
    conn = api.connect()
    conn.putrequest("GET", "/api/v1/namespaces/default/pods/one/log?follow=true&container=a")
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 200 and response.headers["Transfer-Encoding"] == "chunked"
    assert response.readline() == b"first\n"  # delivered before the stream ends
    logs.release.set()
    assert response.readline() == b"second\n"
    conn.close()
    assert logs.stopped.wait(5), "the kubelet side was not told to stop following"
    assert logs.calls[-1]["follow"] is True


def test_only_get_is_allowed_on_log(setup: tuple[Api, FakeLogs]) -> None:
    api, _ = setup
    status, body = api.json("DELETE", "/api/v1/namespaces/default/pods/one/log")
    assert status == 405 and json.dumps(body)
