"""The pull error corpus (tests/data/pull_errors.yaml) drives classification; plus registry helpers."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from podbot.core.diagnosis.credentials import (
    CredentialState,
    RegistryCredentialIndex,
    host_matches,
    hosts_from_secret,
    normalize_host,
    parse_image,
)
from podbot.core.diagnosis.pull_causes import PullCause, PullSignal, classify, read_signal

CORPUS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "pull_errors.yaml").read_text()
)
STATES = {s.value: s for s in CredentialState}
_IMAGE = re.compile(r'Failed to pull image "([^"]+)"')


def image_of(entry: dict[str, Any]) -> str:
    if "image" in entry:
        return str(entry["image"])
    match = _IMAGE.search(entry["message"])
    assert match, f"{entry['id']}: needs an image field"
    return match.group(1)


def test_corpus_is_big_and_cited() -> None:
    assert len(CORPUS) >= 30
    ids = [e["id"] for e in CORPUS]
    assert len(ids) == len(set(ids))
    for entry in CORPUS:
        assert entry["source"].strip(), entry["id"]
        assert entry["message"].strip(), entry["id"]
    covered = {cause for e in CORPUS for cause in e["expect"].values()}
    # CREDENTIALS_UPDATED depends on time, not on the text: test_new_login_beats_an_older_error
    expected = {c.value for c in PullCause} - {PullCause.CREDENTIALS_UPDATED.value}
    assert covered == expected, expected - covered  # every cause has at least one real message


def test_new_login_beats_an_older_error() -> None:
    """A login written after the last failed pull, with an entry for the registry, has not been
    tried: when the old error was about the login (no login sent, refused, denied), the cause is
    CREDENTIALS_UPDATED; an error that names its cause by itself (DNS, TLS, ...) stays."""
    for entry in CORPUS:
        registry, message = entry.get("registry", ""), entry["message"]
        verdict = classify(message, CredentialState.HAS_ENTRY, registry, credentials_newer=True)
        if read_signal(message)[0] is PullSignal.FINAL:
            assert verdict == classify(message, CredentialState.HAS_ENTRY, registry), entry["id"]
        else:
            assert verdict.cause is PullCause.CREDENTIALS_UPDATED, entry["id"]
        for state in CredentialState:
            if state is not CredentialState.HAS_ENTRY:  # a newer secret without an entry changes nothing
                newer = classify(message, state, registry, credentials_newer=True)
                assert newer == classify(message, state, registry), (entry["id"], state)


@pytest.mark.parametrize("entry", CORPUS, ids=[e["id"] for e in CORPUS])
def test_corpus_message_classifies_as_expected(entry: dict[str, Any]) -> None:
    registry = parse_image(image_of(entry)).registry
    expect = entry["expect"]
    if "any" in expect:
        # The text alone decides: the same cause whatever the pod's credentials are.
        for state in CredentialState:
            verdict = classify(entry["message"], state, registry)
            assert verdict.cause.value == expect["any"], (state, verdict)
    else:
        assert set(expect) == set(STATES), "give every credential situation"
        for state_name, cause in expect.items():
            verdict = classify(entry["message"], STATES[state_name], registry)
            assert verdict.cause.value == cause, (state_name, verdict)


@pytest.mark.parametrize("entry", [e for e in CORPUS if "any" not in e["expect"]], ids=lambda e: e["id"])
def test_refusals_without_a_login_are_flagged_ambiguous(entry: dict[str, Any]) -> None:
    """A refusal/denial to an anonymous pull may mean "no such image"; "send a login" may not."""
    registry = parse_image(image_of(entry)).registry
    demands_login = read_signal(entry["message"])[0] is PullSignal.NO_LOGIN_SENT
    for state in (CredentialState.NO_SECRETS, CredentialState.SECRETS_ABSENT):
        assert classify(entry["message"], state, registry).ambiguous is not demands_login
    assert not classify(entry["message"], CredentialState.HAS_ENTRY, registry).ambiguous


@pytest.mark.parametrize(
    ("reason", "cause"),
    [("InvalidImageName", PullCause.INVALID_NAME), ("ErrImageNeverPull", PullCause.NEVER_PULL)],
)
def test_waiting_reason_alone_decides_for_invalid_name_and_never_pull(reason: str, cause: PullCause) -> None:
    assert classify("", CredentialState.NO_SECRETS, "docker.io", waiting_reason=reason).cause is cause


@pytest.mark.parametrize(
    ("message", "signal"),
    [
        (
            "Error response from daemon: Get https://r/v2/: no basic auth credentials",
            PullSignal.NO_LOGIN_SENT,
        ),
        ("unexpected status: 401 Unauthorized", PullSignal.REFUSED_LOGIN),
        ("pull access denied for x, repository does not exist", PullSignal.DENIED_OR_NOT_FOUND),
        ("manifest unknown: manifest unknown", PullSignal.FINAL),
    ],
)
def test_signals(message: str, signal: PullSignal) -> None:
    assert read_signal(message)[0] is signal


@pytest.mark.parametrize(
    ("image", "registry", "repository", "tag"),
    [
        ("nginx", "docker.io", "library/nginx", "latest"),
        ("nginx:1.16", "docker.io", "library/nginx", "1.16"),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7"),
        ("10.0.0.130:5000/nginx:latest", "10.0.0.130:5000", "nginx", "latest"),
        ("localhost/app", "localhost", "app", "latest"),
        ("ghcr.io/org/app@sha256:abc", "ghcr.io", "org/app", ""),
        ("registry-1.docker.io/library/busybox:1", "docker.io", "library/busybox", "1"),
        ("my.reg:443/a/b/c:v2", "my.reg:443", "a/b/c", "v2"),
    ],
)
def test_parse_image(image: str, registry: str, repository: str, tag: str) -> None:
    ref = parse_image(image)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)


@pytest.mark.parametrize(
    ("entry", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("http://10.0.0.130:5000", "10.0.0.130:5000"),
        ("Registry.Example.com/v2/", "registry.example.com"),
        ("10.0.0.130:5000", "10.0.0.130:5000"),
    ],
)
def test_normalize_host(entry: str, host: str) -> None:
    assert normalize_host(entry) == host


@pytest.mark.parametrize(
    ("entry", "registry", "matches"),
    [
        ("10.0.0.130:5000", "10.0.0.130:5000", True),
        ("10.0.0.130", "10.0.0.130:5000", False),  # kubelet: ports must be equal
        ("10.0.0.130:5000", "10.0.0.130", False),
        ("*.example.com", "reg.example.com", True),
        ("*.example.com", "a.b.example.com", False),  # a glob matches one label
        ("docker.io", "docker.io", True),
        ("quay.io", "docker.io", False),
    ],
)
def test_host_matches(entry: str, registry: str, matches: bool) -> None:
    assert host_matches(entry, registry) is matches


def _secret(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    key = ".dockerconfigjson" if kind == "kubernetes.io/dockerconfigjson" else ".dockercfg"
    data = base64.b64encode(json.dumps(payload).encode()).decode()
    return {"type": kind, "data": {key: data}}


def test_hosts_from_secret_reads_hosts_only() -> None:
    auth = {"username": "test", "password": "123456", "auth": base64.b64encode(b"test:123456").decode()}
    new = _secret(
        "kubernetes.io/dockerconfigjson",
        {"auths": {"10.0.0.130:5000": auth, "https://index.docker.io/v1/": auth}},
    )
    assert hosts_from_secret(new) == frozenset({"10.0.0.130:5000", "docker.io"})
    legacy = _secret("kubernetes.io/dockercfg", {"quay.io": auth})
    assert hosts_from_secret(legacy) == frozenset({"quay.io"})
    assert hosts_from_secret({"type": "Opaque", "data": {"x": "eA=="}}) == frozenset()
    assert (
        hosts_from_secret({"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "!!"}})
        == frozenset()
    )


def test_credential_index_checks_each_situation() -> None:
    index = RegistryCredentialIndex.build(
        [("team", "myregistrykey", ["10.0.0.130:5000"]), ("team", "hub", ["https://index.docker.io/v1/"])],
        namespaces=["empty"],
    )
    reg = "10.0.0.130:5000"
    assert index.check("team", [], reg).state is CredentialState.NO_SECRETS
    assert index.check("team", ["missing"], reg).state is CredentialState.SECRETS_ABSENT
    no_entry = index.check("team", ["hub"], reg)
    assert (no_entry.state, no_entry.secret) == (CredentialState.NO_ENTRY, "hub")
    has = index.check("team", ["hub", "myregistrykey"], reg)
    assert (has.state, has.secret) == (CredentialState.HAS_ENTRY, "myregistrykey")
    assert index.check("empty", ["myregistrykey"], reg).state is CredentialState.SECRETS_ABSENT
    assert index.check("elsewhere", ["myregistrykey"], reg).state is CredentialState.UNKNOWN
    # Incremental updates from the Secret watch.
    assert index.without_secret("team", "myregistrykey").check("team", ["myregistrykey"], reg).state is (
        CredentialState.SECRETS_ABSENT
    )
    added = index.with_secret("other", "k", ["http://10.0.0.130:5000"])
    assert added.check("other", ["k"], reg).state is CredentialState.HAS_ENTRY
    assert index.check("other", ["k"], reg).state is CredentialState.UNKNOWN  # the original is unchanged


def test_index_from_a_namespaces_secret_list() -> None:
    auth = {"auth": base64.b64encode(b"u:p").decode()}
    secrets = [
        dict(
            _secret("kubernetes.io/dockerconfigjson", {"auths": {"10.0.0.130:5000": auth}}),
            metadata={"name": "myregistrykey"},
        ),
        {"type": "Opaque", "metadata": {"name": "db"}, "data": {}},
    ]
    index = RegistryCredentialIndex.from_secrets("default", secrets)
    assert index.hosts("default", "myregistrykey") == frozenset({"10.0.0.130:5000"})
    assert index.hosts("default", "db") is None and index.knows("default")
