"""The Helm chart, rendered by the real helm (v4, from PyPI: .ci/install-helm): lint, every render
validated against the Kubernetes schemas, the generated podbot.yaml loaded by podbot itself,
bad values refused with a clear message, and the default render applied to podbot.sim."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from podbot.server.config import load_settings
from tests.support.deploy import DEPLOY, binary, documents, validate_all
from tests.support.sim import Kubectl

CHART = DEPLOY / "helm" / "podbot"
SLACK = ["--set", "slack.existingSecret=podbot-slack"]
POSTGRES = ["--set", "database.type=postgresql", "--set", "database.postgresql.existingSecret=podbot-db"]


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [binary("helm", "python .ci/install-helm"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def render(*values: str, release: str = "podbot", namespace: str = "podbot") -> list[dict[str, Any]]:
    return documents(_template(values, release, namespace))  # parsed anew: callers may change them


@functools.cache
def _template(values: tuple[str, ...], release: str, namespace: str) -> str:
    """``helm template`` of the chart (the same values render the same text, so once is enough)."""
    return helm("template", release, str(CHART), "--namespace", namespace, *values).stdout


def only(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def kinds(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = only(docs, "Deployment")["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    return c  # type: ignore[no-any-return]


def test_helm_lint_strict() -> None:
    for values in (SLACK, [*SLACK, *POSTGRES, "--set", "replicas=3", "--set", "mode=socket"]):
        result = helm("lint", "--strict", str(CHART), *values)
        assert "0 chart(s) failed" in result.stdout, result.stdout


SCENARIOS = {
    "default": SLACK,
    "tokens-from-values": ["--set", "slack.botToken=xoxb-1", "--set", "slack.signingSecret=s"],
    "socket": ["--set", "mode=socket", "--set", "slack.botToken=xoxb-1", "--set", "slack.appToken=xapp-1"],
    "postgres-ha": [*SLACK, *POSTGRES, "--set", "replicas=3"],
    "identity": [*SLACK, "--set", "identity.enabled=true"],
    "namespaced": [*SLACK, "--set", "rbac.namespaces={team-a,team-b}"],
    "ingress": [*SLACK, "--set", "ingress.enabled=true", "--set", "ingress.className=nginx"],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_render_validates_against_the_kubernetes_schemas(scenario: str) -> None:
    docs = render(*SCENARIOS[scenario])
    assert docs
    validate_all(docs)


def test_default_render_sqlite_http_one_replica() -> None:
    docs = render(*SLACK)
    assert kinds(docs) == [
        "ClusterRole/podbot",
        "ClusterRole/podbot-nodes",
        "ClusterRoleBinding/podbot",
        "ClusterRoleBinding/podbot-nodes",
        "ConfigMap/podbot-config",
        "Deployment/podbot",
        "PersistentVolumeClaim/podbot-data",
        "Role/podbot-leader-election",
        "RoleBinding/podbot-leader-election",
        "Service/podbot",
        "ServiceAccount/podbot",
    ]
    deployment = only(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    c = container(docs)
    assert c["args"] == ["serve", "--grace-seconds", "25"]
    env = {e["name"]: e for e in c["env"]}
    assert env["DATABASE_URL"]["value"] == "sqlite:////var/lib/podbot/podbot.sqlite3"
    assert c["envFrom"] == [{"secretRef": {"name": "podbot-slack"}}]
    assert c["securityContext"]["readOnlyRootFilesystem"] and c["securityContext"]["capabilities"] == {
        "drop": ["ALL"]
    }
    assert (
        c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        and c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    )
    lease_rules = only(docs, "Role", "podbot-leader-election")["rules"]
    assert {
        "resources": ["leases"],
        "apiGroups": ["coordination.k8s.io"],
        "resourceNames": ["podbot"],
        "verbs": ["get", "update"],
    } in lease_rules
    assert not any(
        "impersonate" in r["verbs"] for d in docs if d["kind"] == "ClusterRole" for r in d["rules"]
    )


def test_postgres_several_replicas() -> None:
    docs = render(*SLACK, *POSTGRES, "--set", "replicas=3")
    deployment = only(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    env = {e["name"]: e for e in container(docs)["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "podbot-db", "key": "DATABASE_URL"}
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert "data" not in {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert only(docs, "PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_socket_mode_has_no_service_and_passes_the_flag() -> None:
    docs = render(*SCENARIOS["socket"])
    assert not [d for d in docs if d["kind"] == "Service"]
    assert container(docs)["args"] == ["serve", "--grace-seconds", "25", "--socket-mode"]
    secret = only(docs, "Secret", "podbot-slack")
    assert set(secret["data"]) == {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"}


def test_identity_adds_the_impersonate_rules() -> None:
    docs = render(*SLACK, "--set", "identity.enabled=true")
    role = only(docs, "ClusterRole", "podbot-impersonator")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}]
    binding = only(docs, "ClusterRoleBinding", "podbot-impersonator")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "podbot", "namespace": "podbot"}]


def test_rbac_namespaces_bind_per_namespace() -> None:
    docs = render(*SCENARIOS["namespaced"])
    bindings = [d for d in docs if d["kind"] == "RoleBinding" and d["metadata"]["name"] == "podbot"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    assert all(
        b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "podbot"}
        for b in bindings
    )
    assert not [d for d in docs if d["kind"] == "ClusterRoleBinding" and d["metadata"]["name"] == "podbot"]
    only(docs, "ClusterRoleBinding", "podbot-nodes")  # nodes are cluster-scoped


def test_release_name_flows_into_the_lease_and_its_rbac() -> None:
    docs = render(*SLACK, release="chatops")
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert yaml.safe_load(cm["data"]["podbot.yaml"])["leader_election"]["lease_name"] == "chatops-podbot"
    role = only(docs, "Role", "chatops-podbot-leader-election")
    assert ["chatops-podbot"] in [r.get("resourceNames") for r in role["rules"]]


def test_the_generated_configuration_is_what_podbot_reads(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "slack": {"existingSecret": "podbot-slack"},
                "locale": "zh_CN",
                "approvals": {
                    "approvers": [
                        {"namespaces": ["prod", "prod-*"], "usergroups": ["S0SRE"]},
                        {"namespaces": ["*"], "users": ["U0ADMIN"]},
                    ],
                    "no_approval_namespaces": ["dev-*"],
                    "expiry_seconds": 600,
                },
                "channels": [
                    {
                        "channel": "#ops",
                        "namespaces": ["default", "team-*"],
                        "verbs": ["*"],
                        "default_namespace": "default",
                    },
                    {"channel": "*", "verbs": ["get", "describe"]},
                ],
                "identity": {
                    "enabled": True,
                    "users": {"U0ALICE": "alice@example.com"},
                    "groups": {"S0SRE": ["sre"]},
                },
                "leaderElection": {
                    "leaseDurationSeconds": 30,
                    "renewDeadlineSeconds": 20,
                    "retryPeriodSeconds": 4,
                },
            }
        )
    )
    docs = render("-f", str(values))
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    config = tmp_path / "podbot.yaml"
    config.write_text(cm["data"]["podbot.yaml"])
    settings = load_settings({}, str(config))
    assert settings.locale == "zh_CN"
    assert settings.approvals.rule_for("prod-eu").usergroups == ("S0SRE",)  # type: ignore[union-attr]
    assert settings.approvals.rule_for("staging").users == ("U0ADMIN",)  # type: ignore[union-attr]
    assert not settings.approvals.needs_approval("dev-x") and settings.approvals.expiry_seconds == 600
    assert settings.channel_policy("C1", "ops").default_namespace == "default"
    assert settings.channel_policy("C2", "random").verbs == ("get", "describe")
    assert settings.identity.enabled and settings.identity.users == {"U0ALICE": "alice@example.com"}
    election = settings.leader_election
    assert election.enabled and election.lease_name == "podbot"
    assert (
        election.lease_duration_seconds,
        election.renew_deadline_seconds,
        election.retry_period_seconds,
    ) == (30, 20, 4)
    # The checksum annotation changes with the configuration, so pods roll on a change.
    before = only(render(*SLACK), "Deployment")["spec"]["template"]["metadata"]["annotations"][
        "checksum/config"
    ]
    after = only(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert before != after


REFUSED = {
    "sqlite-with-replicas": (
        [*SLACK, "--set", "replicas=2"],
        "replicas: 2 needs database.type: postgresql",
    ),
    "postgres-without-secret": (
        [*SLACK, "--set", "database.type=postgresql"],
        "database.type: postgresql needs database.postgresql.existingSecret",
    ),
    "no-slack-credentials": ([], "podbot needs Slack credentials"),
    "http-without-signing-secret": (
        ["--set", "slack.botToken=xoxb-1"],
        "mode: http needs slack.signingSecret",
    ),
    "socket-without-app-token": (
        ["--set", "mode=socket", "--set", "slack.botToken=xoxb-1"],
        "mode: socket needs slack.appToken",
    ),
    "http-with-app-token": (
        [
            "--set",
            "slack.botToken=xoxb-1",
            "--set",
            "slack.signingSecret=s",
            "--set",
            "slack.appToken=xapp-1",
        ],
        "an app token switches podbot to Socket Mode",
    ),
    "ingress-in-socket-mode": (
        [*SLACK, "--set", "mode=socket", "--set", "ingress.enabled=true"],
        "ingress.enabled needs mode: http",
    ),
    # values.schema.json: helm names the field and the rule.
    "unknown-mode": ([*SLACK, "--set", "mode=webhook"], "at '/mode': value must be one of 'http', 'socket'"),
    "zero-replicas": ([*SLACK, "--set", "replicas=0"], "at '/replicas': minimum: got 0, want 1"),
    "unknown-database": (
        [*SLACK, "--set", "database.type=mysql"],
        "at '/database/type': value must be one of",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_values_fail_the_render_with_a_clear_message(case: str) -> None:
    values, message = REFUSED[case]
    result = helm("template", "podbot", str(CHART), "--namespace", "podbot", *values, check=False)
    assert result.returncode != 0 and result.stdout == ""
    assert message in result.stderr, result.stderr


# --- the rendered chart on podbot.sim -----------------------------------------------------------
SIM_SERVES = {
    *("ServiceAccount", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "Deployment"),
    *("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"),
}


@pytest.mark.kubectl
@pytest.mark.parametrize("scenario", ["default", "postgres-ha", "identity"])
def test_helm_template_applies_to_podbot_sim(scenario: str, kubectl: Kubectl, tmp_path: Path) -> None:
    """``helm template | kubectl apply``: what ``helm install`` sends (PodDisruptionBudget and
    Ingress are not served by podbot.sim, so they are schema-validated only)."""
    namespace, release = f"helm-{scenario}", f"r-{scenario}"
    docs = [
        d
        for d in render(*SCENARIOS[scenario], release=release, namespace=namespace)
        if d["kind"] in SIM_SERVES
    ]
    kubectl("create", "namespace", namespace)
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    applied = kubectl("apply", "-f", str(path))
    assert applied.count(" created") == len(docs), applied
    name = f"{release}-podbot"
    deployment = json.loads(kubectl("get", "deployment", name, "-n", namespace, "-o", "json"))
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == name
    sa = f"system:serviceaccount:{namespace}:{name}"
    expected = "yes" if scenario == "identity" else "no"
    assert (
        kubectl.run("auth", "can-i", "impersonate", "users", f"--as={sa}", check=False).stdout.strip()
        == expected
    )
    assert (
        kubectl.run(
            "auth", "can-i", "update", f"leases/{name}", f"--as={sa}", "-n", namespace, check=False
        ).stdout.strip()
        == "yes"
    )
    assert (
        kubectl.run("auth", "can-i", "delete", "pods", f"--as={sa}", "-A", check=False).stdout.strip()
        == "yes"
    )
