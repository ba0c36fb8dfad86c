"""Image pull diagnosis judged from fresh credentials (issue 13, items 1-3), case by case.

Each case is what ``describe`` reads from the API at that moment: the pod, its kubelet events and
the namespace's registry secrets (with when they were last written) and ServiceAccount.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from podbot.core.diagnosis.credentials import RegistryCredentialIndex, written_at
from podbot.core.diagnosis.findings import Finding, FixKind, Severity, describe_finding
from podbot.core.diagnosis.pull_causes import PullCause
from podbot.core.diagnosis.rules import diagnose
from podbot.core.pods.summary import note_from_event, remember, summarize
from tests.support.builders import NOW, ago, cstatus, event, pod, waiting

IMAGE = "10.0.0.130:5000/nginx:latest"
NO_LOGIN = (
    f'Failed to pull image "{IMAGE}": rpc error: code = Unknown desc = Error response from daemon: '
    "Get http://10.0.0.130:5000/v2/nginx/manifests/latest: no basic auth credentials"
)
REFUSED = (
    f'Failed to pull image "{IMAGE}": rpc error: code = Unknown desc = Error response from daemon: '
    "Get http://10.0.0.130:5000/v2/nginx/manifests/latest: unauthorized: authentication required"
)


def registry_secret(
    name: str, hosts: list[str], *, created: str, updated: str | None = None
) -> dict[str, Any]:
    config = {"auths": {h: {"username": "test", "password": "123456"} for h in hosts}}
    meta: dict[str, Any] = {"name": name, "namespace": "default", "creationTimestamp": created}
    if updated:
        meta["managedFields"] = [
            {"manager": "kubectl-create", "operation": "Update", "time": created},
            {"manager": "podbot", "operation": "Update", "time": updated},
        ]
    return {
        "kind": "Secret",
        "metadata": meta,
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }


def account(*pull_secrets: str) -> dict[str, Any]:
    sa: dict[str, Any] = {"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}}
    if pull_secrets:
        sa["imagePullSecrets"] = [{"name": s} for s in pull_secrets]
    return sa


def failing(
    *, secrets: list[str] | None, message: str = NO_LOGIN, owner: tuple[str, str] | None = None
) -> dict[str, Any]:
    back_off = f'Back-off pulling image "{IMAGE}": ErrImagePull: {message.split(": ", 1)[1]}'
    return pod(
        "nginx",
        containers=[{"name": "nginx", "image": IMAGE}],
        statuses=[cstatus("nginx", IMAGE, waiting("ImagePullBackOff", back_off))],
        phase="Pending",
        owner=owner,
        pull_secrets=secrets,
        created=ago(minutes=3),
    )


def diagnosed(
    raw: dict[str, Any],
    secrets: list[dict[str, Any]],
    accounts: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    message: str = NO_LOGIN,
    failures: int = 4,
    last_failed: str | None = None,
) -> Finding:
    """describe's view: the pod seen now, its Failed event, credentials read from the API now."""
    failed = event(
        raw,
        "Failed",
        message,
        container="nginx",
        count=failures,
        first=ago(minutes=2),
        last=last_failed or ago(seconds=60),
    )
    summary = summarize(raw, now=NOW)
    note = note_from_event(failed)
    assert note is not None
    summary = remember(summary, note)
    credentials = RegistryCredentialIndex.from_secrets("default", secrets, accounts)
    (finding,) = diagnose(summary, [note], credentials, NOW)
    return finding


def text(finding: Finding, locale: str = "en") -> str:
    return " ".join(describe_finding(finding, locale))


# --- item 1: a secret that is now correct is "found; the kubelet retries", never "delete it" ------


def test_secret_created_after_the_last_failure_is_found_and_the_kubelet_retries() -> None:
    # The seed's story: four failed pulls, the last one 60s ago; myregistrykey was created 5s ago.
    secret = registry_secret("myregistrykey", ["10.0.0.130:5000"], created=ago(seconds=5))
    f = diagnosed(failing(secrets=["myregistrykey"]), [secret])
    assert f.cause is PullCause.CREDENTIALS_UPDATED and f.severity is Severity.WARNING
    # back-off after the 4th failure: min(10s * 2**3, 5m) = 80s, 60s of which have passed
    assert f.evidence.retry_seconds == 20
    assert [fix.kind for fix in f.fixes] == [FixKind.WAIT_FOR_PULL_RETRY]
    english = text(f)
    assert "Found" in english and "retries in about 20s" in english and "myregistrykey" in english
    assert "delete" not in english.lower() and "holds no login" not in english
    chinese = text(f, "zh_CN")
    assert "大约 20 秒后" in chinese and "myregistrykey" in chinese


def test_back_off_runs_out_at_five_minutes_and_then_it_is_any_moment() -> None:
    secret = registry_secret("myregistrykey", ["10.0.0.130:5000"], created=ago(seconds=5))
    long_failing = diagnosed(
        failing(secrets=["myregistrykey"]), [secret], failures=12, last_failed=ago(seconds=100)
    )
    assert long_failing.evidence.retry_seconds == 200  # capped at 300s after the last failure
    overdue = diagnosed(failing(secrets=["myregistrykey"]), [secret], failures=2, last_failed=ago(seconds=30))
    assert overdue.evidence.retry_seconds == 0  # 20s back-off already over
    assert "any moment now" in text(overdue)


def test_replaced_login_counts_from_its_managed_fields_time() -> None:
    # created long ago, its login replaced 2s ago (a real API server stamps the update in managedFields)
    secret = registry_secret(
        "myregistrykey", ["10.0.0.130:5000"], created=ago(hours=1), updated=ago(seconds=2)
    )
    assert written_at(secret) == NOW.timestamp() - 2
    f = diagnosed(failing(secrets=["myregistrykey"], message=REFUSED), [secret], message=REFUSED)
    assert f.cause is PullCause.CREDENTIALS_UPDATED


def test_a_login_refused_after_it_was_written_is_rejected_and_replaced_in_place() -> None:
    secret = registry_secret("myregistrykey", ["10.0.0.130:5000"], created=ago(minutes=2))
    f = diagnosed(failing(secrets=["myregistrykey"], message=REFUSED), [secret], message=REFUSED)
    assert f.cause is PullCause.CREDENTIALS_REJECTED
    (fix,) = f.fixes
    assert (fix.kind, fix.secret_name) == (FixKind.REPLACE_REGISTRY_LOGIN, "myregistrykey")
    assert fix.commands == (
        "/pod secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 -n default --replace",
    )
    assert "delete" not in text(f).lower() and "in place" in text(f)


# --- item 2: the right action for the state found -----------------------------------------------


@pytest.mark.parametrize(
    ("secrets", "accounts", "kind", "says"),
    [
        # nothing anywhere: create (and attach)
        ([], [account()], FixKind.CREATE_SECRET_AND_ATTACH, "has no image pull secret"),
        # a fitting secret exists, nothing refers to it: attach it to the ServiceAccount
        (
            [registry_secret("regcred-10-0-0-130-5000", ["10.0.0.130:5000"], created=ago(hours=1))],
            [account()],
            FixKind.ATTACH_PULL_SECRET,
            "neither the pod nor its service account default refers to it",
        ),
        # the account names it already: this pod predates that
        (
            [registry_secret("regcred-10-0-0-130-5000", ["10.0.0.130:5000"], created=ago(hours=1))],
            [account("regcred-10-0-0-130-5000")],
            FixKind.RECREATE_FOR_PULL_SECRET,
            "keeps the pull secrets it was created with",
        ),
        # a secret for another registry does not count
        (
            [registry_secret("hub", ["docker.io"], created=ago(hours=1))],
            [account()],
            FixKind.CREATE_SECRET_AND_ATTACH,
            "",
        ),
    ],
    ids=["create", "attach", "recreate", "other-registry"],
)
def test_pod_without_pull_secrets_gets_the_fix_for_what_exists(
    secrets: list[dict[str, Any]], accounts: list[dict[str, Any]], kind: FixKind, says: str
) -> None:
    f = diagnosed(failing(secrets=None, owner=("ReplicaSet", "web-7d4b9c")), secrets, accounts)
    assert f.cause is PullCause.CREDENTIALS_MISSING
    assert [fix.kind for fix in f.fixes] == [kind]
    assert says in text(f)
    if kind is FixKind.ATTACH_PULL_SECRET:
        assert f.fixes[0].commands == (
            "/pod secret attach regcred-10-0-0-130-5000 --service-account=default -n default",
        )
        assert "ReplicaSet/web-7d4b9c" in text(f)  # then let the owner replace the pod
    if kind is FixKind.CREATE_SECRET_AND_ATTACH:
        assert f.fixes[0].secret_name == "regcred-10-0-0-130-5000"


# --- item 3: a missing named secret comes first, whatever the registry says ------------------------


def test_docker_hub_denial_names_the_missing_secret() -> None:
    hub = "docker.io/acme/private-app:1.0"
    denial = (
        f'Failed to pull image "{hub}": Error response from daemon: pull access denied for acme/private-app, '
        "repository does not exist or may require 'docker login': "
        "denied: requested access to the resource is denied"
    )
    raw = pod(
        "app",
        containers=[{"name": "nginx", "image": hub}],
        statuses=[cstatus("nginx", hub, waiting("ErrImagePull", denial.split(": ", 1)[1]))],
        phase="Pending",
        pull_secrets=["myregistrykey"],
    )
    f = diagnosed(raw, [], message=denial)
    assert f.cause is PullCause.CREDENTIALS_MISSING and f.ambiguous
    assert f.fixes[0].kind is FixKind.CREATE_REGISTRY_SECRET and f.fixes[0].secret_name == "myregistrykey"
    english = text(f)
    assert english.index("myregistrykey does not exist") < english.index("spelled right")


def test_missing_secret_is_said_first_even_when_the_registry_is_unreachable() -> None:
    dns = (
        f'Failed to pull image "{IMAGE}": rpc error: code = Unknown desc = Error response from daemon: '
        'Get "http://10.0.0.130:5000/v2/": dial tcp: lookup 10.0.0.130 on 10.96.0.10:53: no such host'
    )
    f = diagnosed(failing(secrets=["myregistrykey"], message=dns), [], message=dns)
    assert f.cause is PullCause.UNREACHABLE_DNS and f.missing_secret == "myregistrykey"
    assert [fix.kind for fix in f.fixes] == [FixKind.CREATE_REGISTRY_SECRET, FixKind.CHECK_REGISTRY_DNS]
    cause, _ = describe_finding(f, "en")
    assert cause.startswith("The pod's image pull secret myregistrykey does not exist in namespace default.")
    assert describe_finding(f, "zh_CN")[0].startswith("Pod 引用的镜像拉取密钥 myregistrykey")


def test_of_two_named_secrets_the_missing_one_wins_over_one_without_an_entry() -> None:
    other = registry_secret("hub-login", ["docker.io"], created=ago(hours=1))
    f = diagnosed(failing(secrets=["hub-login", "myregistrykey"]), [other])
    assert f.cause is PullCause.CREDENTIALS_MISSING
    assert (f.fixes[0].kind, f.fixes[0].secret_name) == (FixKind.CREATE_REGISTRY_SECRET, "myregistrykey")
