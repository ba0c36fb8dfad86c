"""The watch cache's decoding (podbot.k8s.wire) gives what json.loads gives, for what podbot reads."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podbot.core.diagnosis.credentials import hosts_from_secret
from podbot.core.pods.summary import note_from_event, summarize
from podbot.k8s import wire
from tests.support.builders import NOW, cstatus, pod, running, terminated, waiting
from tests.support.podgen import events, pods, registry_secret

EXAMPLES = [
    pod(),
    pod(phase="Pending", statuses=[cstatus("web", "nginx:1.25", waiting("ErrImagePull", "no basic auth"))]),
    pod(statuses=[cstatus("web", "nginx:1.25", waiting("CrashLoopBackOff"), restarts=7, last=terminated(1))]),
    pod(
        init_containers=[{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}],
        init_statuses=[cstatus("proxy", "envoy", running(), started=True)],
    ),
    pod(annotations={"kubernetes.io/config.mirror": "h", "kubernetes.io/config.source": "file"}, owner=None),
    pod(deletion="2026-03-01T11:00:00Z", finalizers=["example.com/cleanup"]),
]


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_pod_summarizes_the_same_from_its_wire_struct(example: dict[str, Any]) -> None:
    decoded = wire.decode_object("pods", raw(example))
    assert summarize(decoded, now=NOW) == summarize(example, now=NOW)


def summarizes_the_same(first: dict[str, Any], then: Any) -> None:
    then["metadata"]["uid"] = first["metadata"]["uid"]  # the same pod, changed: memory carries over
    from_dict = summarize(first, now=NOW)
    from_wire = summarize(wire.decode_object("pods", raw(first)), now=NOW)
    assert from_wire == from_dict
    assert summarize(wire.decode_object("pods", raw(then)), from_wire, now=NOW) == summarize(
        then, from_dict, now=NOW
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods(), pods())
def test_a_few_random_pods_summarize_the_same_from_json_and_from_the_wire(
    first: dict[str, Any], then: Any
) -> None:
    summarizes_the_same(first, then)  # the fast loop's sample of the property below


@pytest.mark.slow  # a big property test: 300 pairs of generated pods, ~9 s
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods(), pods())
def test_any_pod_summarizes_the_same_from_json_and_from_the_wire(first: dict[str, Any], then: Any) -> None:
    summarizes_the_same(first, then)


@settings(max_examples=200, deadline=None)
@given(events())
def test_any_event_makes_the_same_note_from_json_and_from_the_wire(event: dict[str, Any]) -> None:
    assert note_from_event(wire.decode_object("events", raw(event))) == note_from_event(event)


@pytest.mark.parametrize("kind", ["kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"])
def test_a_registry_secret_gives_its_hosts_and_its_password_is_never_decoded(kind: str) -> None:
    secret = registry_secret(["registry.corp.example", "https://index.docker.io/v1/"], kind=kind)
    decoded = wire.decode_object("secrets", raw(secret))
    assert hosts_from_secret(decoded) == hosts_from_secret(secret) == {"registry.corp.example", "docker.io"}
    # The struct holds the registry config (base64) and nothing of the secret's other keys.
    assert secret["data"]["password"] not in repr(decoded)
    assert "password" not in decoded.get("data")


def test_structs_read_like_dicts_absent_null_and_present_fields() -> None:
    decoded = wire.decode_object("pods", b'{"metadata": {"name": "a", "namespace": null}, "spec": {}}')
    meta = decoded["metadata"]
    assert meta.get("name") == "a" and meta["name"] == "a" and "name" in meta
    assert meta.get("namespace", "x") is None and "namespace" in meta  # null is a key, as in a dict
    assert meta.get("uid", "x") == "x" and "uid" not in meta  # absent is no key
    with pytest.raises(KeyError):
        meta["uid"]
    assert decoded.get("status") is None and "status" not in decoded


@pytest.mark.parametrize(
    "page",
    [
        b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"tok"},"items":[]}',
        b'{"items":[{"metadata":{"name":"a"}}],"metadata":{"continue":"tok","resourceVersion":"7"}}',
    ],
)
def test_the_continue_token_is_read_whatever_the_order_of_the_keys(page: bytes) -> None:
    assert wire.continue_token(page) == "tok"
    items, version = wire.decode_list("pods", page)
    assert version == "7"
    assert [i["metadata"]["name"] for i in items] == [
        i["metadata"]["name"] for i in json.loads(page)["items"]
    ]


def test_a_list_page_decodes_to_the_items_and_version_json_gives() -> None:
    page = {"kind": "PodList", "metadata": {"resourceVersion": "99"}, "items": EXAMPLES}
    items, version = wire.decode_list("pods", raw(page))
    assert version == "99" and wire.continue_token(raw(page)) == ""
    assert [summarize(i, now=NOW) for i in items] == [summarize(p, now=NOW) for p in EXAMPLES]


def test_watch_lines_keep_their_object_for_later_and_bookmarks_give_their_version() -> None:
    kind, obj = wire.watch_event(raw({"type": "ADDED", "object": EXAMPLES[0]}))
    assert kind == "ADDED"
    assert summarize(wire.decode_object("pods", obj), now=NOW) == summarize(EXAMPLES[0], now=NOW)
    kind, obj = wire.watch_event(b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}}')
    assert (kind, wire.object_version(obj)) == ("BOOKMARK", "12")
    kind, obj = wire.watch_event(b'{"type":"ERROR","object":{"kind":"Status","code":410,"status":"Failure"}}')
    assert kind == "ERROR" and json.loads(bytes(obj))["code"] == 410


@pytest.mark.parametrize(
    "text", [b"not json", b'{"metadata": {"name": 5}}', b'{"spec": {"containers": {"name": "x"}}}']
)
def test_json_of_the_wrong_shape_is_a_decode_error(text: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        wire.decode_object("pods", text)


@given(st.lists(st.sampled_from(["app", "web", "x"]), max_size=4))
def test_the_same_values_are_one_shared_object(names: list[str]) -> None:
    statuses = [cstatus(n, "nginx:1.25", running("2026-03-01T10:00:00Z")) for n in names]
    containers = [{"name": n, "image": "nginx:1.25"} for n in names]
    a = summarize(pod("a", containers=containers, statuses=statuses), now=NOW)
    b = summarize(pod("b", containers=containers, statuses=statuses), now=NOW)
    assert a.place is b.place and a.origin is b.origin and a.containers is b.containers
    assert a.uid != b.uid and len(a.uid) == 36 and isinstance(a.uid_key, bytes)
