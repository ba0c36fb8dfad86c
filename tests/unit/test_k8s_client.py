"""podbot.k8s.client over real HTTP on loopback: auth from kubeconfig, impersonation headers,
raw JSON bodies, Status errors -> podbot errors, watch streaming, unreachable clusters."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from podbot.core.errors import AlreadyExists, ClusterUnavailable, Conflict, Invalid, NotFound, NotPermitted
from podbot.k8s.api import Identity, path_for
from podbot.k8s.client import Clusters, Gone, error_from_status
from tests.support.net import QuickHTTPServer

SEEN: list[dict[str, Any]] = []


class Recorder(BaseHTTPRequestHandler):
    """Answers by path; records method, path, raw header lines and body of every request."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _record(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        SEEN.append(
            {"method": self.command, "path": self.path, "headers": self.headers.items(), "body": body}
        )
        return body

    def _send(self, code: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record()
        if self.path.startswith("/api/v1/namespaces/default/pods?") and "watch=true" in self.path:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            events = [
                {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "5"}}},
                {
                    "type": "ERROR",
                    "object": {
                        "kind": "Status",
                        "code": 410,
                        "reason": "Expired",
                        "message": "too old resource version: 1 (5)",
                    },
                },
            ]
            for event in events:
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/api/v1/namespaces/default/pods?"):
            token = "continue" not in self.path
            self._send(
                200,
                {
                    "kind": "PodList",
                    "metadata": {"resourceVersion": "9", "continue": "t1" if token else ""},
                    "items": [{"metadata": {"name": "p1" if token else "p2"}}],
                },
            )
            return
        if self.path == "/api/v1/namespaces/default/pods/missing":
            self._send(
                404,
                {
                    "kind": "Status",
                    "status": "Failure",
                    "reason": "NotFound",
                    "code": 404,
                    "message": 'pods "missing" not found',
                },
            )
            return
        self._send(200, {"path": self.path})

    def do_POST(self) -> None:
        body = self._record()
        if b'"exists"' in body:
            self._send(
                409,
                {
                    "kind": "Status",
                    "reason": "AlreadyExists",
                    "code": 409,
                    "message": 'pods "exists" already exists',
                },
            )
            return
        self._send(201, json.loads(body))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Path]:
    SEEN.clear()
    httpd = QuickHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "sim",
                "clusters": [
                    {"name": "sim", "cluster": {"server": f"http://127.0.0.1:{httpd.server_address[1]}"}}
                ],
                "users": [{"name": "admin", "user": {"token": "s3cr3t-token"}}],
                "contexts": [
                    {"name": "sim", "context": {"cluster": "sim", "user": "admin", "namespace": "team-a"}}
                ],
            }
        )
    )
    yield kubeconfig
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_bearer_token_impersonation_and_raw_body(server: Path) -> None:
    clusters = Clusters(str(server))
    kube = clusters.get()
    assert kube.context == "sim" and kube.default_namespace == "team-a"
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"futureField": {"a": 1}},
    }
    created = kube.request(
        "POST",
        path_for("v1", "pods", "default"),
        body=manifest,
        as_user=Identity("alice@example.com", ("sre", "dev,ops")),
    )
    assert created == manifest  # unknown fields travel unchanged: the server validates, not us
    request = SEEN[-1]
    assert json.loads(request["body"]) == manifest
    headers = [(k.lower(), v) for k, v in request["headers"]]
    assert ("authorization", "Bearer s3cr3t-token") in headers
    assert ("impersonate-user", "alice@example.com") in headers
    # each group on its own header line, a comma inside a group name preserved
    assert [v for k, v in headers if k == "impersonate-group"] == ["sre", "dev,ops"]
    clusters.close()


def test_status_errors_become_podbot_errors(server: Path) -> None:
    kube = Clusters(str(server)).get("sim")
    with pytest.raises(NotFound, match='pods "missing" not found'):
        kube.get(path_for("v1", "pods", "default", "missing"))
    with pytest.raises(AlreadyExists):
        kube.request("POST", path_for("v1", "pods", "default"), body={"metadata": {"name": "exists"}})


def test_list_all_follows_continue_tokens(server: Path) -> None:
    kube = Clusters(str(server)).get()
    items, rv = kube.list_all(path_for("v1", "pods", "default"), page_size=1)
    assert [i["metadata"]["name"] for i in items] == ["p1", "p2"] and rv == "9"
    assert "limit=1" in SEEN[0]["path"] and "continue=t1" in SEEN[1]["path"]


def test_watch_yields_events_and_raises_gone_on_410_error_event(server: Path) -> None:
    kube = Clusters(str(server)).get()
    seen = []
    with pytest.raises(Gone, match="too old resource version"):
        for event in kube.watch(path_for("v1", "pods", "default"), query=[("resourceVersion", "1")]):
            seen.append(event["object"]["metadata"]["name"])
    assert seen == ["a"]


@pytest.mark.usefixtures("quick_read_retries")
def test_unreachable_cluster_is_cluster_unavailable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "down",
                "clusters": [{"name": "down", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "tok-do-not-leak"}}],
                "contexts": [{"name": "down", "context": {"cluster": "down", "user": "u"}}],
            }
        )
    )
    kube = Clusters(str(kubeconfig), timeout=2).get()
    with pytest.raises(ClusterUnavailable, match="cannot reach") as info:
        kube.version()
    assert "tok-do-not-leak" not in str(info.value)
    # issue 14: shown to a user in their language, like every other sentence
    assert info.value.localized("zh_CN").startswith("无法连接集群 down 的 Kubernetes API（")
    assert info.value.localized("en") == str(info.value)


def test_unknown_context_and_bad_kubeconfig_are_clear(server: Path, tmp_path: Path) -> None:
    clusters = Clusters(str(server))
    with pytest.raises(NotFound, match="no cluster context named 'prod'"):
        clusters.get("prod")
    from podbot.core.errors import ConfigError

    bad = tmp_path / "nope"
    with pytest.raises(ConfigError, match="cannot read kubeconfig"):
        Clusters(str(bad))


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        (404, {"reason": "NotFound", "message": "gone"}, NotFound),
        (409, {"reason": "AlreadyExists", "message": "dup"}, AlreadyExists),
        (409, {"reason": "Conflict", "message": "uid mismatch"}, Conflict),
        (
            422,
            {
                "reason": "Invalid",
                "message": "bad",
                "details": {"causes": [{"field": "spec.x", "message": "m"}]},
            },
            Invalid,
        ),
        (
            400,
            {"reason": "BadRequest", "message": 'strict decoding error: unknown field "spec.foo"'},
            Invalid,
        ),
        (403, {"reason": "Forbidden", "message": "nope"}, NotPermitted),
        (401, {"reason": "Unauthorized", "message": "Unauthorized"}, NotPermitted),
        (410, {"reason": "Expired", "message": "old"}, Gone),
        (503, {"reason": "ServiceUnavailable", "message": "etcd"}, ClusterUnavailable),
        (429, {"reason": "TooManyRequests", "message": "slow down"}, ClusterUnavailable),
    ],
)
def test_error_mapping(code: int, status: dict[str, Any], error: type[Exception]) -> None:
    mapped = error_from_status(code, json.dumps(status).encode(), "ctx")
    assert isinstance(mapped, error)
    if isinstance(mapped, Invalid) and status.get("details"):
        assert mapped.causes[0].field == "spec.x"


def test_error_mapping_survives_non_json_bodies() -> None:
    mapped = error_from_status(502, b"<html>bad gateway</html>", "ctx")
    assert isinstance(mapped, ClusterUnavailable) and "bad gateway" in str(mapped)


def test_paths() -> None:
    assert path_for("v1", "pods", "default", "nginx", "log") == "/api/v1/namespaces/default/pods/nginx/log"
    assert path_for("v1", "nodes", None, "node01") == "/api/v1/nodes/node01"
    assert path_for("coordination.k8s.io/v1", "leases", "kube-system") == (
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
    )


def test_podbot_s_own_api_error_sentences_come_in_the_readers_language() -> None:
    unavailable = error_from_status(503, b'{"message": "etcdserver: leader changed"}', "prod")
    assert unavailable.localized("zh_CN") == "集群 prod 暂时不可用：etcdserver: leader changed"
    assert (
        unavailable.localized("en")
        == str(unavailable)
        == "cluster 'prod' is unavailable: etcdserver: leader changed"
    )
    refused = error_from_status(401, b'{"message": "Unauthorized"}', "prod")
    assert refused.localized("zh_CN") == "集群 prod 拒绝了 podbot 的身份认证（Unauthorized）"
    found = error_from_status(404, b'{"message": "pods \\"x\\" not found"}', "prod")
    assert found.localized("zh_CN") == found.message  # the API server's own words, as kubectl shows them
