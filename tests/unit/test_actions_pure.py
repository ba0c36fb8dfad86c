"""Pure parts of the action layer, checked against what the real kubectl produces."""

import base64
import json

from podbot.core.model import RestartPolicy, RunPod
from podbot.core.overrides import merge_patch
from podbot.core.pods.describe import event_age
from podbot.k8s.actions import build_run_pod, dockerconfigjson

# `kubectl create secret docker-registry myregistrykey --docker-server=10.0.0.130:5000
#  --docker-username=test --docker-password=123456 --dry-run=client -o json` (kubectl v1.32)
KUBECTL_DOCKERCONFIGJSON = (
    "eyJhdXRocyI6eyIxMC4wLjAuMTMwOjUwMDAiOnsidXNlcm5hbWUiOiJ0ZXN0IiwicGFzc3dvcmQiOiIxMjM0NTYiLCJh"
    "dXRoIjoiZEdWemREb3hNak0wTlRZPSJ9fX0="
)


def test_dockerconfigjson_is_byte_for_byte_what_kubectl_writes() -> None:
    ours = base64.b64encode(dockerconfigjson("10.0.0.130:5000", "test", "123456", None).encode()).decode()
    assert ours == KUBECTL_DOCKERCONFIGJSON


def test_dockerconfigjson_with_email() -> None:
    doc = json.loads(dockerconfigjson("r.example.com", "u", "p", "u@example.com"))
    assert doc == {
        "auths": {
            "r.example.com": {
                "username": "u",
                "password": "p",
                "email": "u@example.com",
                "auth": base64.b64encode(b"u:p").decode(),
            }
        }
    }


def test_run_pod_defaults_like_kubectl_run() -> None:
    pod = build_run_pod(RunPod(name="nginx", image="nginx:1.16"), "default")
    assert pod == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"run": "nginx"}},
        "spec": {
            "containers": [{"name": "nginx", "image": "nginx:1.16", "resources": {}}],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
        },
    }


def test_run_pod_flags() -> None:
    req = RunPod(
        name="web",
        image="nginx:1.16",
        port=80,
        env=(("A", "1"),),
        labels=(("app", "web"),),
        annotations=(("note", "x"),),
        restart=RestartPolicy.NEVER,
        image_pull_policy="IfNotPresent",
        command=True,
        args=("sleep", "10"),
        overrides='{"spec": {"nodeName": "node02"}}',
    )
    pod = build_run_pod(req, "team")
    container = pod["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80}]
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["command"] == ["sleep", "10"] and "args" not in container
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert pod["metadata"]["labels"] == {"app": "web"} and pod["metadata"]["annotations"] == {"note": "x"}
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["nodeName"] == "node02"


def test_merge_patch_rfc7386() -> None:
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": None}}) == {"a": {}}
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert merge_patch({"a": "b"}, {"c": {"d": None}}) == {"a": "b", "c": {}}


def test_event_age_like_kubectl_describe() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    event = {"count": 4, "firstTimestamp": "2026-01-01T11:45:00Z", "lastTimestamp": "2026-01-01T11:46:00Z"}
    assert event_age(event, now) == "14m (x4 over 15m)"
    assert event_age({"firstTimestamp": "2026-01-01T11:59:30Z", "count": 1}, now) == "30s"
