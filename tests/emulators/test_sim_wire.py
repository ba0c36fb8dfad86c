"""Wire-level pieces: strict JSON decoding, protobuf request bodies, continue tokens, content
negotiation, and the pure-Python TLS certificate."""

from __future__ import annotations

import base64
import socket
import ssl
import threading

import pytest

from podbot.sim.api import listing
from podbot.sim.objects import protobuf
from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.resources import ResourceRegistry, builtin_resources
from podbot.sim.objects.schema import decode_check, go_struct_name, go_type, loads_tracking_dups
from podbot.sim.wire.tls import self_signed
from podbot.sim.wire.transport import server_context

# Captured from kubectl 1.32 (`kubectl -v=9`): `create secret generic s9 --from-literal=a=b`
SECRET_BODY = bytes.fromhex(
    "6b3873000a0c0a0276311206536563726574121e0a120a02733912001a0022002a00320038004200"
    "12060a01611201621a001a002200"
)
# ... and `auth can-i delete pods/log -n prod` (TYPE/NAME: resource pods, name "log")
SSAR_BODY = bytes.fromhex(
    "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a65637441636365"
    "7373526576696577123f0a100a0012001a0022002a0032003800420012210a1f0a0470726f64120664656c6574651a00"
    "22002a04706f647332003a036c6f671a08080012001a0020001a002200"
)

# ... and `create deployment dep1 --image=nginx:1.16 --port=80 --replicas=2 -n dev -- sleep 10`
DEPLOYMENT_BODY = bytes.fromhex(
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412cf010a240a046465703112001a0364657622002a"
    "003200380042005a0b0a036170701204646570311298010802120d0a0b0a036170701204646570311a7d0a1d0a001200"
    "1a0022002a003200380042005a0b0a03617070120464657031125c123e0a056e67696e78120a6e67696e783a312e3136"
    "1a05736c6565701a0231302a00320a0a001000185022002a0042006a007200800100880100900100a201001a00320042"
    "004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a0022"
    "00"
)


def test_strict_decoding_reports_unknown_duplicate_and_type_errors() -> None:
    body = (
        b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","name":"y","labels":{"a":1}},'
        b'"spec":{"containers":[{"name":"c","image":"i","bogus":1,"resources":{"limits":{"cpu":1}}}],"foo":2}}'
    )
    obj, dups = loads_tracking_dups(body)
    report = decode_check(obj, "V1Pod", dups=dups)
    assert report.unknown == ["spec.containers[0].bogus", "spec.foo"]
    assert report.duplicates == ["metadata.name"]
    assert (
        report.type_error
        == "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"
    )
    assert report.strict_messages() == [
        'unknown field "spec.containers[0].bogus"',
        'unknown field "spec.foo"',
        'duplicate field "metadata.name"',
    ]
    assert "foo" not in obj["spec"] and "bogus" not in obj["spec"]["containers"][0]  # dropped, never stored
    assert obj["spec"]["containers"][0]["resources"] == {"limits": {"cpu": 1}}  # quantities may be numbers


@pytest.mark.parametrize(
    ("model", "struct", "type_str", "go"),
    [
        ("V1Container", "Container", "List[V1ContainerPort]", "[]v1.ContainerPort"),
        ("CoreV1Event", "Event", "Dict[str, str]", "map[string]string"),
        ("V1ObjectMeta", "ObjectMeta", "str", "string"),
    ],
)
def test_go_names(model: str, struct: str, type_str: str, go: str) -> None:
    assert go_struct_name(model) == struct
    assert go_type(type_str) == go


def test_protobuf_secret_from_kubectl() -> None:
    assert protobuf.decode(SECRET_BODY, "Secret") == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s9"},
        "data": {"a": "Yg=="},
    }


def test_protobuf_access_review_from_kubectl() -> None:
    review = protobuf.decode(SSAR_BODY, "SelfSubjectAccessReview")
    assert review["apiVersion"] == "authorization.k8s.io/v1"
    assert review["spec"] == {
        "resourceAttributes": {"namespace": "prod", "verb": "delete", "resource": "pods", "name": "log"}
    }


def test_protobuf_deployment_from_kubectl_create() -> None:
    assert protobuf.decode(DEPLOYMENT_BODY, "Deployment") == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "dep1", "namespace": "dev", "labels": {"app": "dep1"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "dep1"}},
            "template": {
                "metadata": {"labels": {"app": "dep1"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.16",
                            "command": ["sleep", "10"],
                            "ports": [{"containerPort": 80}],
                            "resources": {},
                        }
                    ]
                },
            },
            "strategy": {},
        },
    }


def test_protobuf_refuses_kinds_it_cannot_decode_and_garbage() -> None:
    unknown_kind = bytes.fromhex("6b3873000a0d0a0276311207506f644c697374") + b"\x12\x00"
    with pytest.raises(SimApiError) as info:
        protobuf.decode(unknown_kind, "Pod")
    assert info.value.code == 415
    with pytest.raises(SimApiError) as info:
        protobuf.decode(b"not protobuf", "Secret")
    assert info.value.code == 400
    truncated = SECRET_BODY[:-12]
    with pytest.raises(SimApiError) as info:
        protobuf.decode(truncated, "Secret")
    assert info.value.code == 400 and "unable to decode the protobuf body" in info.value.message


def test_continue_tokens_round_trip_and_reject_garbage() -> None:
    token = listing.encode_continue(42, ("default", "nginx"))
    assert listing.decode_continue(token) == (42, ("default", "nginx"))
    assert listing.decode_continue(listing.encode_continue(7, ("", "node01"))) == (7, ("", "node01"))
    with pytest.raises(SimApiError) as info:
        listing.decode_continue("ab%%")
    assert info.value.code == 400
    assert (
        info.value.message
        == "invalid continue token: continue key is not valid: illegal base64 data at input byte 2"
    )
    old_version = base64.urlsafe_b64encode(b'{"v":"meta.k8s.io/v0","rv":3,"start":"a"}').decode().rstrip("=")
    with pytest.raises(SimApiError) as info:
        listing.decode_continue(old_version)
    assert info.value.message == (
        "invalid continue token: continue key is not valid: server does not recognize this encoded version "
        "meta.k8s.io/v0"
    )


@pytest.mark.parametrize(
    ("accept", "form", "version"),
    [
        (None, "json", "v1"),
        ("application/json", "json", "v1"),
        (
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
            "table",
            "v1",
        ),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "table", "v1beta1"),
        ("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "metadata", "v1"),
        ("application/vnd.kubernetes.protobuf,application/json", "json", "v1"),
        ("application/yaml", "yaml", "v1"),
        ("*/*", "json", "v1"),
    ],
)
def test_content_negotiation(accept: str | None, form: str, version: str) -> None:
    output = listing.negotiate(accept)
    assert (output.form, output.version) == (form, version)


def test_protobuf_only_accept_is_406() -> None:
    with pytest.raises(SimApiError) as info:
        listing.negotiate("application/vnd.kubernetes.protobuf")
    assert info.value.code == 406


def test_resource_table_names_are_unique_and_storage_names_follow_the_contract() -> None:
    registry = ResourceRegistry(builtin_resources())
    storages = [r.storage for r in registry.all]
    assert len(storages) == len(set(storages))
    assert {
        "pods",
        "events",
        "namespaces",
        "nodes",
        "secrets",
        "serviceaccounts",
        "configmaps",
        "leases.coordination.k8s.io",
        "deployments.apps",
    } <= set(storages)
    short: dict[str, str] = {}
    for rt in registry.all:
        for name in rt.short_names:
            assert name not in short, f"short name {name} used twice"
            short[name] = rt.plural


def test_self_signed_certificate_verifies_with_the_stdlib_client() -> None:
    cert, key = self_signed(["127.0.0.1", "localhost"])
    server_ctx = server_context(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            received.append(tls.recv(5))
            tls.sendall(b"pong!")

    thread = threading.Thread(target=serve)
    thread.start()
    client_ctx = ssl.create_default_context(cadata=cert.decode())
    try:
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"ping!")
            assert tls.recv(5) == b"pong!"
            assert tls.selected_alpn_protocol() in (None, "http/1.1")
    finally:
        thread.join(timeout=5)
        listener.close()
    assert received == [b"ping!"]
