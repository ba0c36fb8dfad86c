"""The image-pull fix loop on podbot.sim, step by step, with the message a user sees at each step
(issue 13, items 1-3): the seed's registry 10.0.0.130:5000 (user test / 123456), a wrong password,
a secret nothing refers to. Every step goes through the real action layer, the real `kubernetes`
client and HTTP; "what the user sees" is the rendered Slack message, as text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from podbot.commands import parse
from podbot.core.model import (
    AttachPullSecret,
    CreateRegistrySecret,
    DescribePod,
    Secret,
)
from podbot.core.results import Changed, Notice, PodDescription
from podbot.k8s import actions
from podbot.k8s.client import Clusters, KubeClient
from podbot.render import views
from podbot.render.blocks import FIX_ATTACH_ACTION, FIX_LOGIN_ACTION, FIX_SECRET_ACTION, Rendered
from podbot.render.messages import render
from podbot.sim.cluster import SimCluster
from tests.support.blockkit import assert_valid_message
from tests.support.seed import SEED_POD

SERVER = "10.0.0.130:5000"


@pytest.fixture()
def sim() -> Iterator[SimCluster]:
    with SimCluster(speed=0) as cluster:  # time moves only when a step says so
        yield cluster


@pytest.fixture()
def kube(sim: SimCluster) -> Iterator[KubeClient]:
    clusters = Clusters(str(sim.kubeconfig_path))
    yield clusters.get()
    clusters.close()


def seen(rendered: Rendered) -> str:
    """What the user reads: every text of the message, in order."""
    assert_valid_message(rendered)
    parts: list[str] = []
    for block in rendered.blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements") or ():
            text = element.get("text")
            parts.append(text["text"] if isinstance(text, dict) else str(text))
    return "\n".join(parts)


def buttons(rendered: Rendered) -> list[dict[str, Any]]:
    return [e for b in rendered.blocks if b["type"] == "actions" for e in b["elements"]]


def describe(sim: SimCluster, kube: KubeClient, name: str = "nginx") -> tuple[PodDescription, Rendered]:
    request = parse(f"describe pod {name}")
    assert isinstance(request, DescribePod)
    now = sim.clock.now()
    description = actions.describe_pod(request, kube, now)
    return description, render(description, "en", now=now)


def phase(sim: SimCluster, name: str = "nginx") -> str:
    return str(sim.store.get("pods", "default", name).load()["status"].get("phase"))


def create_seed_pod(kube: KubeClient, manifest: str = SEED_POD) -> None:
    created = actions.create_from_manifest(parse("create\n" + manifest), kube)  # type: ignore[arg-type]
    assert [o.name for o in created.objects] == ["nginx"]


def test_seed_registry_secret_created_after_failures_is_found_and_the_pod_runs(
    sim: SimCluster, kube: KubeClient
) -> None:
    # Step 1: the seed's pod; the registry wants a login and myregistrykey does not exist yet.
    create_seed_pod(kube)
    sim.advance(60)  # a minute of failed pulls and back-off, as in the issue
    _, first = describe(sim, kube)
    text = seen(first)
    assert "no basic auth credentials" in text
    assert "the pod's image pull secret myregistrykey does not exist in namespace default" in text
    (button,) = buttons(first)
    assert (
        button["action_id"] == FIX_SECRET_ACTION and button["text"]["text"] == "Create secret myregistrykey"
    )
    value = json.loads(button["value"])
    assert (value["name"], value["server"], value["namespace"]) == ("myregistrykey", SERVER, "default")

    # Step 2: the button's dialog creates the secret with the right login.
    secret = CreateRegistrySecret(
        name="myregistrykey", server=SERVER, username="test", password=Secret("123456")
    )
    created = render(actions.create_registry_secret(secret, kube), "en")
    assert "secret *myregistrykey* created in namespace default" in seen(created)
    assert "123456" not in str(created.blocks)

    # Step 3: describe at once. The last failure predates the secret: found, the kubelet retries.
    description, second = describe(sim, kube)
    (finding,) = description.findings
    text = seen(second)
    assert "Found: the kubelet has not tried it yet and retries in about" in text, text
    assert "delete" not in text.lower() and "holds no login" not in text
    assert not buttons(second)  # nothing to click: the fix is in place
    retry = finding.evidence.retry_seconds
    assert retry is not None and 0 <= retry <= 300

    # Step 4: once the back-off runs out the kubelet pulls with the new login; same pod, running.
    uid = sim.store.get("pods", "default", "nginx").load()["metadata"]["uid"]
    sim.advance(retry + 15)
    assert phase(sim) == "Running"
    assert sim.store.get("pods", "default", "nginx").load()["metadata"]["uid"] == uid
    _, last = describe(sim, kube)
    assert "podbot found nothing wrong with this pod" in seen(last)


def test_wrong_password_is_replaced_in_place_through_the_private_dialog(
    sim: SimCluster, kube: KubeClient
) -> None:
    # Step 1: the secret exists, with a wrong password; the registry refuses it.
    wrong = CreateRegistrySecret(
        name="myregistrykey", server=SERVER, username="test", password=Secret("wrong")
    )
    actions.create_registry_secret(wrong, kube)
    create_seed_pod(kube)
    sim.advance(60)
    _, first = describe(sim, kube)
    text = seen(first)
    assert "refused the login in secret myregistrykey" in text
    assert "delete" not in text.lower()  # never "delete it, then re-create it"
    (button,) = buttons(first)
    assert button["action_id"] == FIX_LOGIN_ACTION
    assert button["text"]["text"] == "Replace the login in myregistrykey"
    value = json.loads(button["value"])

    # Step 2: the button opens the private dialog for that secret and registry ...
    origin = views.DialogState("C1", "U1", context=value["context"], namespace=value["namespace"])
    origin = views.DialogState(**{**origin.__dict__, "secret": value["name"], "server": value["server"]})
    modal = views.login_modal(origin, "en")
    assert "10.0.0.130:5000" in str(modal) and "myregistrykey" in str(modal)
    assert "123456" not in modal["private_metadata"]
    # ... and its submission replaces the login: an update of the existing secret, not a new one.
    submitted = {
        "private_metadata": modal["private_metadata"],
        "state": {
            "values": {
                "username": {"username": {"value": "test"}},
                "password": {"password": {"value": "123456"}},
                "email": {"email": {"value": ""}},
            }
        },
    }
    request = views.login_request(*views.read_login(submitted))
    uid = sim.store.get("secrets", "default", "myregistrykey").load()["metadata"]["uid"]
    result = actions.replace_registry_login(request, kube)
    assert isinstance(result, Changed) and result.verb == "updated"
    replaced = seen(render(result, "en"))
    assert "secret *myregistrykey* updated in namespace default" in replaced
    assert "123456" not in replaced and "wrong" not in replaced
    stored = sim.store.get("secrets", "default", "myregistrykey").load()
    assert stored["metadata"]["uid"] == uid  # the same secret, updated
    # A real API server (and podbot.sim) stamps every write in metadata.managedFields: that time is
    # how podbot knows the login is newer than the last failed pull.
    assert (
        max(entry["time"] for entry in stored["metadata"]["managedFields"])
        >= stored["metadata"]["creationTimestamp"]
    )

    # Step 3: describe at once: the refusal predates the new login.
    _, second = describe(sim, kube)
    text = seen(second)
    assert "Found: the kubelet has not tried it yet" in text, text
    assert not buttons(second)

    # Step 4: the next pull uses it.
    sim.advance(320)
    assert phase(sim) == "Running"


def test_secret_not_attached_is_attached_to_the_service_account_then_the_pod_recreated(
    sim: SimCluster, kube: KubeClient
) -> None:
    # Step 1: a registry secret exists, but the pod names no pull secret and the account none either.
    secret = CreateRegistrySecret(
        name="regcred-10-0-0-130-5000", server=SERVER, username="test", password=Secret("123456")
    )
    actions.create_registry_secret(secret, kube)
    create_seed_pod(kube, SEED_POD.replace("  imagePullSecrets:\n    - name: myregistrykey\n", ""))
    sim.advance(60)
    _, first = describe(sim, kube)
    text = seen(first)
    assert (
        "Secret regcred-10-0-0-130-5000 has one, but neither the pod nor its service account default" in text
    )
    assert "Create a registry secret" not in text  # it exists: creating it again would fail
    (button,) = buttons(first)
    assert button["action_id"] == FIX_ATTACH_ACTION
    assert button["text"]["text"] == "Attach regcred-10-0-0-130-5000 to default"
    assert "confirm" in button  # a change, so the button asks first

    # Step 2: the button attaches it to the namespace's ServiceAccount.
    request = views.attach_request(button["value"])
    assert request == AttachPullSecret(
        name="regcred-10-0-0-130-5000",
        service_account="default",
        where=request.where,
    )
    result = actions.attach_pull_secret(request, kube)
    assert isinstance(result, Changed)
    assert "serviceaccount *default* updated in namespace default" in seen(render(result, "en"))
    account = sim.store.get("serviceaccounts", "default", "default").load()
    assert {"name": "regcred-10-0-0-130-5000"} in account["imagePullSecrets"]
    again = actions.attach_pull_secret(request, kube)
    assert isinstance(again, Notice) and "already" in seen(render(again, "en"))

    # Step 3: describe: the account has it now, but this pod keeps the pull secrets it was made with.
    _, second = describe(sim, kube)
    text = seen(second)
    assert "the pod was created before that and keeps the pull secrets it was created with" in text
    assert "/pod delete pod nginx -n default" in text

    # Step 4: recreated, the pod gets the secret from its account and runs.
    sim.store.delete("pods", "default", "nginx")
    create_seed_pod(kube, SEED_POD.replace("  imagePullSecrets:\n    - name: myregistrykey\n", ""))
    sim.advance(30)
    pod = sim.store.get("pods", "default", "nginx").load()
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred-10-0-0-130-5000"}]
    assert phase(sim) == "Running"
