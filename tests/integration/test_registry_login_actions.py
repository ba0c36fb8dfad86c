"""The two new changes of the fix loop at the action layer, on podbot.sim: replace a registry login
in place (``secret docker-registry NAME --replace`` / its private dialog) and attach a secret to a
ServiceAccount (``secret attach NAME``). The cluster's state is checked after each, not only the result."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from podbot.commands import parse
from podbot.core.errors import Conflict, NotFound, UsageError
from podbot.core.model import (
    AttachPullSecret,
    CreateRegistrySecret,
    DryRun,
    ReplaceRegistryLogin,
    Secret,
    Where,
)
from podbot.core.results import Changed, Notice
from podbot.k8s import actions
from podbot.k8s.client import Clusters, KubeClient
from podbot.sim.cluster import SimCluster

SERVER = "10.0.0.130:5000"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    with SimCluster(speed=0) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def kube(sim: SimCluster) -> Iterator[KubeClient]:
    clusters = Clusters(str(sim.kubeconfig_path))
    yield clusters.get()
    clusters.close()


def auths(sim: SimCluster, name: str) -> dict[str, Any]:
    secret = sim.store.get("secrets", "default", name).load()
    return dict(json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"])


def login(name: str, password: str = "123456", **kw: Any) -> ReplaceRegistryLogin:
    return ReplaceRegistryLogin(name=name, server=SERVER, username="test", password=Secret(password), **kw)


def test_replace_keeps_other_registries_and_drops_other_spellings_of_the_same_host(
    sim: SimCluster, kube: KubeClient
) -> None:
    config = {
        "auths": {
            "https://10.0.0.130:5000/v1/": {"username": "old", "password": "wrong", "auth": "b2xkOndyb25n"},
            "registry.example.com": {"username": "ci", "password": "ci-token", "auth": "Y2k6Y2ktdG9rZW4="},
        }
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "multi", "namespace": "default", "labels": {"team": "a"}},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }
    kube.request("POST", "/api/v1/namespaces/default/secrets", body=secret)
    before = sim.store.get("secrets", "default", "multi").load()["metadata"]
    result = actions.replace_registry_login(login("multi"), kube)
    assert isinstance(result, Changed) and (result.verb, result.objects[0].kind) == ("updated", "Secret")
    entries = auths(sim, "multi")
    assert set(entries) == {SERVER, "registry.example.com"}
    assert entries[SERVER] == {
        "username": "test",
        "password": "123456",
        "auth": base64.b64encode(b"test:123456").decode(),
    }
    after = sim.store.get("secrets", "default", "multi").load()["metadata"]
    assert after["uid"] == before["uid"] and after["labels"] == {"team": "a"}
    assert after["resourceVersion"] != before["resourceVersion"]


def test_replace_dry_runs_change_nothing(sim: SimCluster, kube: KubeClient) -> None:
    actions.create_registry_secret(
        CreateRegistrySecret(name="dry", server=SERVER, username="test", password=Secret("wrong")), kube
    )
    for mode in (DryRun.SERVER, DryRun.CLIENT):
        result = actions.replace_registry_login(login("dry", dry_run=mode), kube)
        assert isinstance(result, Changed) and result.dry_run
        assert auths(sim, "dry")[SERVER]["password"] == "wrong"


def test_replace_refuses_what_it_must_not_touch(sim: SimCluster, kube: KubeClient) -> None:
    with pytest.raises(NotFound, match="does not exist in namespace default") as missing:
        actions.replace_registry_login(login("nosuch", password="s3cr3t-value"), kube)
    assert "s3cr3t-value" not in str(missing.value)
    opaque = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain"}, "stringData": {"a": "b"}}
    kube.request("POST", "/api/v1/namespaces/default/secrets", body=opaque)
    with pytest.raises(UsageError, match="of type Opaque"):
        actions.replace_registry_login(login("plain"), kube)
    with pytest.raises(UsageError, match="private dialog"):  # no password: it is asked, never typed
        actions.replace_registry_login(
            ReplaceRegistryLogin(name="plain", server=SERVER, username="test"), kube
        )


def test_replace_does_not_overwrite_a_change_made_meanwhile(sim: SimCluster, kube: KubeClient) -> None:
    actions.create_registry_secret(
        CreateRegistrySecret(name="raced", server=SERVER, username="test", password=Secret("wrong")), kube
    )

    class RacingKube:
        """Someone else edits the secret between podbot's read and its write."""

        def __init__(self, inner: KubeClient) -> None:
            self.inner = inner
            self.context = inner.context
            self.default_namespace = inner.default_namespace

        def get(self, *args: Any, **kw: Any) -> Any:
            obj = self.inner.get(*args, **kw)

            def relabel(current: dict[str, Any]) -> dict[str, Any]:
                current["metadata"].setdefault("labels", {})["edited"] = "yes"
                return current

            sim.store.mutate("secrets", "default", "raced", relabel)
            return obj

        def request(self, *args: Any, **kw: Any) -> Any:
            return self.inner.request(*args, **kw)

    with pytest.raises(Conflict, match="changed by someone else"):
        actions.replace_registry_login(login("raced"), RacingKube(kube))  # type: ignore[arg-type]
    assert auths(sim, "raced")[SERVER]["password"] == "wrong"


def test_attach_adds_the_secret_once(sim: SimCluster, kube: KubeClient) -> None:
    actions.create_registry_secret(
        CreateRegistrySecret(name="regcred", server=SERVER, username="test", password=Secret("123456")), kube
    )
    request = parse("secret attach regcred --service-account=default -n default")
    assert isinstance(request, AttachPullSecret)
    dry = actions.attach_pull_secret(
        AttachPullSecret("regcred", where=Where(namespace="default"), dry_run=DryRun.SERVER), kube
    )
    assert isinstance(dry, Changed) and dry.dry_run
    assert "imagePullSecrets" not in sim.store.get("serviceaccounts", "default", "default").load()
    result = actions.attach_pull_secret(request, kube)
    assert isinstance(result, Changed) and result.objects[0].kind == "ServiceAccount"
    account = sim.store.get("serviceaccounts", "default", "default").load()
    assert account["imagePullSecrets"] == [{"name": "regcred"}]
    again = actions.attach_pull_secret(request, kube)
    assert isinstance(again, Notice) and again.key == "actions.already_attached"
    assert sim.store.get("serviceaccounts", "default", "default").load()["imagePullSecrets"] == [
        {"name": "regcred"}
    ]


def test_attach_refuses_missing_objects(sim: SimCluster, kube: KubeClient) -> None:
    with pytest.raises(NotFound, match="Secret nosuch does not exist"):
        actions.attach_pull_secret(AttachPullSecret("nosuch"), kube)
    actions.create_registry_secret(
        CreateRegistrySecret(name="regcred2", server=SERVER, username="test", password=Secret("123456")), kube
    )
    with pytest.raises(NotFound, match="Service account builder does not exist"):
        actions.attach_pull_secret(AttachPullSecret("regcred2", service_account="builder"), kube)
