"""Pod Security Standards for creates from Slack: a table of pods, taken from the standard's rules."""

from __future__ import annotations

from typing import Any

import pytest

from podbot.core.podsecurity import PodSecurityLevel, Violation, check_create, check_pod

B, R, P = PodSecurityLevel.BASELINE, PodSecurityLevel.RESTRICTED, PodSecurityLevel.PRIVILEGED
HARDENED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}


def pod(container: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "app", "image": "nginx", **(container or {})}], **spec}}


@pytest.mark.parametrize(
    ("level", "subject", "expected"),
    [
        (B, pod(), []),
        (
            B,
            pod(hostNetwork=True, hostPID=True),
            [("host_namespaces", "hostNetwork=true"), ("host_namespaces", "hostPID=true")],
        ),
        (B, pod({"securityContext": {"privileged": True}}), [("privileged", "app")]),
        (
            B,
            pod({"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}),
            [("capabilities", "app: NET_ADMIN")],
        ),
        (B, pod({"securityContext": {"capabilities": {"add": ["CHOWN", "NET_BIND_SERVICE"]}}}), []),
        (B, pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), [("host_path", "root: /")]),
        (B, pod({"ports": [{"containerPort": 80, "hostPort": 8080}]}), [("host_ports", "app: 8080")]),
        (B, pod({"securityContext": {"procMount": "Unmasked"}}), [("proc_mount", "app: Unmasked")]),
        (
            B,
            pod(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}),
            [("sysctls", "kernel.msgmax")],
        ),
        (B, pod(securityContext={"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}), []),
        (B, pod({"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}), [("selinux", "app")]),
        (P, pod({"securityContext": {"privileged": True}}, hostPID=True), []),
        (R, pod({"securityContext": HARDENED}), []),
        (R, pod({"securityContext": {**HARDENED, "runAsUser": 0}}), [("run_as_user", "app")]),
        (
            R,
            pod(),
            [
                ("drop_all", "app"),
                ("privilege_escalation", "app"),
                ("run_as_non_root", "app"),
                ("seccomp", "app"),
            ],
        ),
        # restricted takes runAsNonRoot and seccomp from the pod when the container says nothing
        (
            R,
            pod(
                {"securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}},
                securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            ),
            [],
        ),
        (
            R,
            pod({"securityContext": {**HARDENED, "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}}}),
            [("capabilities", "app: CHOWN")],
        ),
        (
            R,
            pod({"securityContext": HARDENED}, volumes=[{"name": "n", "nfs": {"server": "x"}}]),
            [("volume_types", "n: nfs")],
        ),
    ],
)
def test_check_pod(level: PodSecurityLevel, subject: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert check_pod(subject, level) == [Violation(rule, detail) for rule, detail in expected]


def test_init_and_ephemeral_containers_are_checked_too() -> None:
    spec = {"initContainers": [{"name": "init", "securityContext": {"privileged": True}}], "containers": []}
    assert check_pod({"spec": spec}, B) == [Violation("privileged", "init")]


def test_protected_namespaces_are_a_finding_at_every_level() -> None:
    found = check_create([pod()], ["kube-system", "default"], P, ("kube-system", "kube-public"))
    assert found == [Violation("protected_namespace", "kube-system")]
