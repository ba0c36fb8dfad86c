"""The fake Kube port (tests/support/fakekube.py) answers as the API server does: every scenario
runs against the fake and, over real HTTP, against podbot.sim, and both must give the same answer
or the same error with the same message. This keeps the action-layer unit tests honest."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from podbot.core.errors import PodbotError
from podbot.k8s import actions
from podbot.k8s.api import Identity, Kube
from tests.support.builders import unscheduled_pod
from tests.support.fakekube import FakeKube

PODS = "/api/v1/namespaces/default/pods"
NOBODY = Identity("nobody@example.com")  # the simulator's RBAC grants this user nothing
ADMIN = Identity("kubernetes-admin", ("system:masters",))
UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def fake(kube: Kube) -> FakeKube:
    """A fake of the simulator's cluster, with its RBAC as far as these scenarios need it."""
    made = FakeKube(kube.context, kube.default_namespace)
    for resource in ("pods", "pods/log"):
        made.forbid("*", resource, user=NOBODY.user)
    return made


def outcome(call: Callable[[], Any]) -> tuple[str, str]:
    """What a call gave: its error and message, or its answer (uids blanked: each side makes its own)."""
    try:
        answer = call()
    except PodbotError as exc:
        return type(exc).__name__, UID.sub("<uid>", exc.message)
    return "ok", UID.sub("<uid>", json.dumps(answer, sort_keys=True))


def create(kube: Kube, name: str, namespace: str = "default", labels: dict[str, str] | None = None) -> str:
    """Create a pod; its name (what the server stamps on it differs between the two)."""
    created = kube.request(
        "POST", f"/api/v1/namespaces/{namespace}/pods", body=unscheduled_pod(name, **(labels or {}))
    )
    return str(created["metadata"]["name"])


def create_as(kube: Kube, name: str, user: Identity) -> Any:
    return kube.request("POST", PODS, body=unscheduled_pod(name), as_user=user)


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["metadata"]["name"] for item in items]


SCENARIOS: dict[str, Callable[[Kube, str], Any]] = {
    "get a missing pod": lambda k, n: k.get(f"{PODS}/{n}"),
    "create twice": lambda k, n: (create(k, n), create(k, n)),
    "create in a missing namespace": lambda k, n: create(k, n, "nowhere"),
    "create an unknown field, strictly": lambda k, n: k.request(
        "POST",
        PODS,
        raw_body=json.dumps({**unscheduled_pod(n), "bogus": 1}),
        query=[("fieldValidation", "Strict")],
    ),
    "create an unknown metadata field, strictly": lambda k, n: k.request(
        "POST",
        PODS,
        raw_body=json.dumps({**unscheduled_pod(n), "metadata": {"name": n, "bogus": 1}}),
        query=[("fieldValidation", "Strict")],
    ),
    "create in another namespace than the path's": lambda k, n: k.request(
        "POST", PODS, body=unscheduled_pod(n, "kube-system")
    ),
    "create without a name": lambda k, n: k.request(
        "POST", PODS, body={**unscheduled_pod(n), "metadata": {}}
    ),
    "create the wrong kind": lambda k, n: k.request(
        "POST", PODS, body={**unscheduled_pod(n), "kind": "Secret"}
    ),
    "a dry run stores nothing": lambda k, n: (
        k.request("POST", PODS, body=unscheduled_pod(n), query=[("dryRun", "All")])["metadata"]["name"],
        k.get(f"{PODS}/{n}"),
    ),
    "delete with a stale uid": lambda k, n: (
        create(k, n),
        k.request(
            "DELETE",
            f"{PODS}/{n}",
            body={"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "not-the-uid"}},
        ),
    ),
    "delete a missing secret": lambda k, n: k.request("DELETE", f"/api/v1/namespaces/default/secrets/{n}"),
    "an unsupported field selector": lambda k, n: k.get(PODS, query=[("fieldSelector", "spec.bogus=1")]),
    "list by label, page by page": lambda k, n: (
        [create(k, f"{n}-{i}", labels={"set": n}) for i in range(3)],
        [names(page) for page, _ in k.list_pages(PODS, query=[("labelSelector", f"set={n}")], page_size=2)],
        names(k.get(PODS, query=[("fieldSelector", f"metadata.name={n}-1")])["items"]),
    ),
    "logs of an unknown container": lambda k, n: (
        create(k, n),
        k.text(f"{PODS}/{n}/log", query=[("container", "x")]),
    ),
    "logs of a pod no node runs yet": lambda k, n: (create(k, n), k.text(f"{PODS}/{n}/log")),
    "a user RBAC refuses, listing": lambda k, n: k.get(PODS, as_user=NOBODY),
    "a user RBAC refuses, across namespaces": lambda k, n: k.get("/api/v1/pods", as_user=NOBODY),
    "a user RBAC refuses, reading one": lambda k, n: (create(k, n), k.get(f"{PODS}/{n}", as_user=NOBODY)),
    "a user RBAC refuses, logs": lambda k, n: (create(k, n), k.text(f"{PODS}/{n}/log", as_user=NOBODY)),
    "a user RBAC refuses, creating": lambda k, n: create_as(k, n, NOBODY),
    "access reviews, as podbot and as a user RBAC refuses": lambda k, n: [
        actions.may(k, who, "list", "pods", namespace)
        for who in (ADMIN, NOBODY)
        for namespace in ("default", None)
    ],
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_fake_answers_like_the_api_server(scenario: str, fake: FakeKube, kube: Kube) -> None:
    name = "c-" + re.sub(r"[^a-z]+", "-", scenario).strip("-")[:40].strip("-")
    run = SCENARIOS[scenario]
    expected = outcome(lambda: run(kube, name))
    assert outcome(lambda: run(fake, name)) == expected
