"""Image references, pull credentials and the registry table's pull decisions."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from podbot.sim.images.credentials import Credential, credentials_from_secret, docker_config_json, lookup
from podbot.sim.images.reference import InvalidReference, parse_image_name_error, parse_reference
from podbot.sim.images.registry import RateLimitLedger, RegistryTable, RegistryTableError
from tests.support.seed import SEED_AUTH_ERROR, SEED_IMAGE


@pytest.mark.parametrize(
    ("image", "domain", "path", "tag", "full"),
    [
        ("nginx", "docker.io", "library/nginx", None, "docker.io/library/nginx:latest"),
        ("nginx:1.16", "docker.io", "library/nginx", "1.16", "docker.io/library/nginx:1.16"),
        ("library/nginx", "docker.io", "library/nginx", None, "docker.io/library/nginx:latest"),
        (
            "index.docker.io/library/nginx:1.25",
            "docker.io",
            "library/nginx",
            "1.25",
            "docker.io/library/nginx:1.25",
        ),
        ("podbot/crash", "docker.io", "podbot/crash", None, "docker.io/podbot/crash:latest"),
        (SEED_IMAGE, "10.0.0.130:5000", "nginx", "latest", SEED_IMAGE),
        ("localhost/app", "localhost", "app", None, "localhost/app:latest"),
        (
            "registry.k8s.io/etcd:3.5.16-0",
            "registry.k8s.io",
            "etcd",
            "3.5.16-0",
            "registry.k8s.io/etcd:3.5.16-0",
        ),
        ("ghcr.io/a/b/c:v1", "ghcr.io", "a/b/c", "v1", "ghcr.io/a/b/c:v1"),
    ],
)
def test_references_are_normalised_like_docker(
    image: str, domain: str, path: str, tag: str | None, full: str
) -> None:
    ref = parse_reference(image)
    assert (ref.domain, ref.path, ref.tag) == (domain, path, tag)
    assert ref.with_default_tag() == full


def test_digests() -> None:
    digest = "sha256:" + "ab" * 32
    ref = parse_reference(f"nginx@{digest}")
    assert (ref.tag, ref.digest, ref.effective_tag) == (None, digest, "")
    assert ref.with_default_tag() == f"docker.io/library/nginx@{digest}"
    with pytest.raises(InvalidReference, match="invalid checksum digest length"):
        parse_reference("nginx@sha256:" + "a" * 40)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (
            "Nginx",
            'couldn\'t parse image name "Nginx": invalid reference format: repository name '
            "(library/Nginx) must be lowercase",
        ),
        ("nginx:", 'couldn\'t parse image name "nginx:": invalid reference format'),
        ("nginx::1", 'couldn\'t parse image name "nginx::1": invalid reference format'),
        ("-nginx", 'couldn\'t parse image name "-nginx": invalid reference format'),
        (
            "a" * 64,
            f'couldn\'t parse image name "{"a" * 64}": invalid repository name ({"a" * 64}), cannot '
            "specify 64-byte hexadecimal strings",
        ),
    ],
)
def test_invalid_names_carry_the_library_wording(image: str, message: str) -> None:
    assert parse_image_name_error(image) == message


def test_kubectl_docker_registry_secret_is_read_back() -> None:
    data = docker_config_json("10.0.0.130:5000", "test", "123456", "a@b.c")
    payload = json.loads(base64.b64decode(data[".dockerconfigjson"]))
    assert payload == {
        "auths": {
            "10.0.0.130:5000": {
                "username": "test",
                "password": "123456",
                "email": "a@b.c",
                "auth": "dGVzdDoxMjM0NTY=",
            }
        }
    }
    secret = {
        "metadata": {"name": "myregistrykey", "namespace": "default"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": data,
    }
    [credential] = credentials_from_secret(secret)
    assert (credential.server, credential.username, credential.password) == (
        "10.0.0.130:5000",
        "test",
        "123456",
    )
    assert "123456" not in repr(credential)


def test_auth_field_wins_and_other_secret_types_are_ignored() -> None:
    auth = base64.b64encode(b"real:pw").decode()
    config = {"auths": {"https://index.docker.io/v1/": {"username": "x", "password": "y", "auth": auth}}}
    data = {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}
    secret = {"metadata": {}, "type": "kubernetes.io/dockerconfigjson", "data": data}
    assert [(c.username, c.password) for c in credentials_from_secret(secret)] == [("real", "pw")]
    assert credentials_from_secret({"metadata": {}, "type": "Opaque", "data": data}) == []
    legacy = {"10.0.0.130:5000": {"username": "test", "password": "123456"}}
    dockercfg = {
        "metadata": {},
        "type": "kubernetes.io/dockercfg",
        "data": {".dockercfg": base64.b64encode(json.dumps(legacy).encode()).decode()},
    }
    assert [c.username for c in credentials_from_secret(dockercfg)] == ["test"]


@pytest.mark.parametrize(
    ("server", "repository", "matches"),
    [
        ("10.0.0.130:5000", "10.0.0.130:5000/nginx", True),
        ("http://10.0.0.130:5000", "10.0.0.130:5000/nginx", True),
        ("https://10.0.0.130:5000/v2/", "10.0.0.130:5000/nginx", True),
        ("10.0.0.130", "10.0.0.130:5000/nginx", False),  # the port must match
        ("10.0.0.130:5001", "10.0.0.130:5000/nginx", False),
        ("*.example.com", "registry.example.com/team/api", True),
        ("example.com", "registry.example.com/team/api", False),
        ("registry.example.com/team", "registry.example.com/team/api", True),
        ("registry.example.com/other", "registry.example.com/team/api", False),
        ("https://index.docker.io/v1/", "docker.io/library/nginx", True),
        ("docker.io", "docker.io/library/nginx", True),
        ("index.docker.io", "10.0.0.130:5000/nginx", False),
    ],
)
def test_keyring_lookup(server: str, repository: str, matches: bool) -> None:
    credential = Credential(server, "u", "p")
    assert (lookup([credential], repository) == [credential]) is matches


@pytest.fixture(scope="module")
def table() -> RegistryTable:
    return RegistryTable.default()


def _pull(
    table: RegistryTable, image: str, *creds: Credential, ledger: RateLimitLedger | None = None
) -> tuple[str | None, float]:
    result = table.pull(
        parse_reference(image), list(creds), ledger=ledger or RateLimitLedger(), node="node01", now=0.0
    )
    return result.error, result.duration


SEED = Credential("10.0.0.130:5000", "test", "123456")
HUB = Credential("https://index.docker.io/v1/", "podbot", "dckr_pat_podbot_demo")


@pytest.mark.parametrize(
    ("image", "creds", "error"),
    [
        (SEED_IMAGE, (), SEED_AUTH_ERROR),
        (
            SEED_IMAGE,
            (Credential("10.0.0.130:5000", "test", "wrong"),),
            "rpc error: code = Unknown desc = Error response from daemon: "
            "Get http://10.0.0.130:5000/v2/nginx/manifests/latest: unauthorized: authentication required",
        ),
        (
            SEED_IMAGE,
            (Credential("10.0.0.131:5000", "test", "123456"),),
            SEED_AUTH_ERROR,
        ),  # creds for another host
        (
            "10.0.0.130:5000/nginx:nosuch",
            (SEED,),
            "rpc error: code = Unknown desc = Error response from daemon: "
            "manifest for 10.0.0.130:5000/nginx:nosuch not found: manifest unknown: manifest unknown",
        ),
        (
            "nginx:1.99",
            (),
            "rpc error: code = NotFound desc = failed to pull and unpack image "
            '"docker.io/library/nginx:1.99": '
            'failed to resolve reference "docker.io/library/nginx:1.99": docker.io/library/nginx:1.99: '
            "not found",
        ),
        (
            "nosuch.example.com/app:1.0",
            (),
            'rpc error: code = Unknown desc = failed to pull and unpack image "nosuch.example.com/app:1.0": '
            'failed to resolve reference "nosuch.example.com/app:1.0": failed to do request: '
            'Head "https://nosuch.example.com/v2/app/manifests/1.0": dial tcp: lookup '
            "nosuch.example.com: no such host",
        ),
        (
            "acme/secret-app:1.0",
            (),
            "rpc error: code = Unknown desc = failed to pull and unpack image "
            '"docker.io/acme/secret-app:1.0": '
            'failed to resolve reference "docker.io/acme/secret-app:1.0": pull access denied, '
            "repository does not "
            "exist or may require authorization: server message: insufficient_scope: authorization failed",
        ),
        (
            "podbot/private-app:1.0",
            (),
            "rpc error: code = Unknown desc = failed to pull and unpack image "
            '"docker.io/podbot/private-app:1.0": '
            'failed to resolve reference "docker.io/podbot/private-app:1.0": pull access denied, '
            "repository does not "
            "exist or may require authorization: server message: insufficient_scope: authorization failed",
        ),
        (
            "nginx:1.16",
            (Credential("https://index.docker.io/v1/", "podbot", "nope"),),
            "rpc error: code = Unknown desc = failed to pull and unpack image "
            '"docker.io/library/nginx:1.16": '
            'failed to resolve reference "docker.io/library/nginx:1.16": failed to authorize: failed to '
            "fetch oauth "
            "token: unexpected status from GET request to https://auth.docker.io/token?scope=repository%3Alibrary%2F"
            "nginx%3Apull&service=registry.docker.io: 401 Unauthorized",
        ),
        (
            "registry.example.com/team/api:1.0",
            (),
            "rpc error: code = Unknown desc = failed to pull and unpack image "
            '"registry.example.com/team/api:1.0": '
            'failed to resolve reference "registry.example.com/team/api:1.0": unexpected status from '
            "HEAD request to "
            "https://registry.example.com/v2/team/api/manifests/1.0: 401 Unauthorized",
        ),
        (
            "insecure.example.com:5000/app:1.0",
            (),
            "rpc error: code = Unknown desc = failed to pull and unpack image "
            '"insecure.example.com:5000/app:1.0": '
            'failed to resolve reference "insecure.example.com:5000/app:1.0": failed to do request: '
            'Head "https://insecure.example.com:5000/v2/app/manifests/1.0": http: server gave HTTP '
            "response to HTTPS client",
        ),
        (
            "selfsigned.example.com/app:1.0",
            (),
            "rpc error: code = Unknown desc = failed to pull and unpack image "
            '"selfsigned.example.com/app:1.0": '
            'failed to resolve reference "selfsigned.example.com/app:1.0": failed to do request: '
            'Head "https://selfsigned.example.com/v2/app/manifests/1.0": tls: failed to verify certificate: '
            "x509: certificate signed by unknown authority",
        ),
        (
            "down.example.com:5000/app:1.0",
            (),
            "rpc error: code = Unknown desc = failed to pull and unpack image "
            '"down.example.com:5000/app:1.0": '
            'failed to resolve reference "down.example.com:5000/app:1.0": failed to do request: '
            'Head "https://down.example.com:5000/v2/app/manifests/1.0": dial tcp 198.51.100.60:5000: '
            "connect: connection refused",
        ),
    ],
)
def test_pull_failures_read_like_the_runtime(
    table: RegistryTable, image: str, creds: tuple[Credential, ...], error: str
) -> None:
    assert _pull(table, image, *creds)[0] == error


def test_successful_pulls(table: RegistryTable) -> None:
    for image, creds in [
        (SEED_IMAGE, (SEED,)),
        ("nginx:1.16", ()),
        ("podbot/private-app:1.0", (HUB,)),
        ("busybox", ()),
    ]:
        error, duration = _pull(table, image, *creds)
        assert error is None, image
        assert duration > 0.3
    result = table.pull(parse_reference("nginx:1.16"), [], ledger=RateLimitLedger(), node="n", now=0)
    assert result.image is not None
    assert result.image.full_ref == "docker.io/library/nginx:1.16"
    assert result.image.image_id.startswith("docker.io/library/nginx@sha256:")
    assert result.image.size == 51030575
    assert result.image.behaviour == "nginx"


def test_a_second_matching_credential_is_tried_after_a_wrong_one(table: RegistryTable) -> None:
    wrong = Credential("10.0.0.130:5000", "test", "wrong")
    assert _pull(table, SEED_IMAGE, wrong, SEED)[0] is None
    error, _ = _pull(table, SEED_IMAGE, wrong, Credential("http://10.0.0.130:5000", "x", "y"))
    assert error is not None and error.startswith(
        "[rpc error: code = Unknown desc = Error response from daemon:"
    )
    assert error.count("unauthorized: authentication required") == 2


def test_rate_limited_registry_and_counted_limits(table: RegistryTable) -> None:
    error, _ = _pull(table, "ratelimited.example.com/nginx")
    image = table.resolve(parse_reference("ratelimited.example.com/nginx"))
    assert image is not None
    digest = image.image_id.split("@")[1]
    assert error == (
        "rpc error: code = Unknown desc = failed to pull and unpack image "
        '"ratelimited.example.com/nginx:latest": '
        "failed to copy: httpReadSeeker: failed open: unexpected status code https://ratelimited.example.com/v2/"
        f"nginx/manifests/{digest}: "
        "429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. "
        "You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"
    )
    limited = RegistryTable.from_yaml(
        """
registries:
  - host: docker.io
    auth: token
    rate_limit: {anonymous: 2, window_seconds: 60}
    repositories:
      library/nginx:
        behaviour: nginx
        tags: {latest: {}}
"""
    )
    ledger = RateLimitLedger()
    ref = parse_reference("nginx")
    results = [limited.pull(ref, [], ledger=ledger, node="node01", now=t).error for t in (0, 1, 2)]
    assert results[:2] == [None, None]
    assert results[2] is not None and "toomanyrequests" in results[2]
    assert limited.pull(ref, [], ledger=ledger, node="node02", now=3).error is None  # per node (per IP)
    assert limited.pull(ref, [], ledger=ledger, node="node01", now=61).error is None  # the window moved on


def test_timeouts_take_thirty_seconds(table: RegistryTable) -> None:
    error, duration = _pull(table, "slow.example.com/app:1.0")
    assert duration == 30.0
    assert error is not None and error.endswith("dial tcp 203.0.113.10:443: i/o timeout")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("registries: nope", "expected a mapping with a 'registries' list"),
        ("registries:\n  - {}", "registries[0]: host is required"),
        (
            "registries:\n  - {host: a.io, auth: magic}",
            "auth must be one of none, basic, token (got 'magic')",
        ),
        ("registries:\n  - {host: a.io, colour: red}", "unknown field(s): colour"),
        ("registries:\n  - {host: a.io}\n  - {host: a.io}", "host 'a.io' is listed twice"),
        (
            "registries:\n  - host: a.io\n    repositories:\n      x: {behaviour: dance, tags: {v1: {}}}",
            "unknown behaviour 'dance'",
        ),
        (
            "registries:\n  - host: a.io\n    repositories:\n      x: {tags: {}}",
            "tags must be a non-empty mapping",
        ),
        ("registries: [", "not valid YAML"),
    ],
)
def test_bad_tables_say_where_and_why(text: str, message: str) -> None:
    with pytest.raises(RegistryTableError) as err:
        RegistryTable.from_yaml(text, source="t.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("t.yaml")


def test_load_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(
        "registries:\n  - host: r.local\n    repositories:\n      app: {behaviour: job, tags: {'1': "
        "{size: 1000}}}\n"
    )
    table = RegistryTable.load(path)
    image = table.resolve(parse_reference("r.local/app:1"))
    assert image is not None and image.behaviour == "job" and image.size == 1000
    with pytest.raises(RegistryTableError, match="cannot read"):
        RegistryTable.load(tmp_path / "missing.yaml")


def test_default_table_preloads_kubernetes_images(table: RegistryTable) -> None:
    names = {image.full_ref for image in table.preloaded_images()}
    assert "registry.k8s.io/etcd:3.5.16-0" in names
    assert "registry.k8s.io/kube-apiserver:v1.32.4" in names
    assert not any(name.startswith("docker.io/") for name in names)
