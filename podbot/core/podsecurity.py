"""Pure: does a pod podbot is asked to create meet the channel's Pod Security Standard?

The checks follow Kubernetes' Pod Security Standards (https://kubernetes.io/docs/concepts/security/
pod-security-standards/), the rules the PodSecurity admission plugin enforces:

* **baseline** forbids known privilege escalations: host namespaces (hostNetwork, hostPID,
  hostIPC), privileged containers, capabilities beyond the default set, hostPath volumes, host
  ports, non-default /proc mounts, unsafe sysctls, Windows HostProcess, custom SELinux types.
* **restricted** adds current hardening: volumes of the listed types only, no privilege
  escalation, running as non-root (and not as UID 0), a RuntimeDefault or Localhost seccomp
  profile, every capability dropped (only NET_BIND_SERVICE may be added back).
* **privileged** checks nothing.

A create into one of the protected namespaces (``kube-system`` etc.) is a finding at every level:
those namespaces run the cluster itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from podbot.core.i18n import t

JSON = Mapping[str, Any]


class PodSecurityLevel(StrEnum):
    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"


@dataclass(frozen=True, order=True)
class Violation:
    """One rule a pod breaks: ``rule`` names it (catalog ``podsecurity.<rule>``), ``detail`` says where."""

    rule: str
    detail: str


BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    }
)  # fmt: skip
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)  # fmt: skip
BASELINE_SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
VOLUME_SOURCES_IGNORED = frozenset({"name"})


def _containers(spec: JSON) -> Iterator[JSON]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or ():
            if isinstance(container, Mapping):
                yield container


def _name(container: JSON) -> str:
    return str(container.get("name") or "?")


def check_pod(pod: JSON, level: PodSecurityLevel) -> list[Violation]:
    """Every rule of ``level`` that ``pod`` breaks (none for ``privileged``), in a stable order."""
    if level is PodSecurityLevel.PRIVILEGED:
        return []
    spec: JSON = pod.get("spec") or {}
    found = list(_baseline(spec))
    if level is PodSecurityLevel.RESTRICTED:
        found += _restricted(spec)
    return sorted(set(found))


def _baseline(spec: JSON) -> Iterator[Violation]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            yield Violation("host_namespaces", f"{field}=true")
    pod_context: JSON = spec.get("securityContext") or {}
    for sysctl in pod_context.get("sysctls") or ():
        name = str((sysctl or {}).get("name") or "")
        if name not in SAFE_SYSCTLS:
            yield Violation("sysctls", name)
    yield from _selinux(pod_context, "pod")
    if ((pod_context.get("windowsOptions") or {}).get("hostProcess")) is True:
        yield Violation("host_process", "pod")
    for volume in spec.get("volumes") or ():
        if isinstance(volume, Mapping) and "hostPath" in volume:
            path = str((volume.get("hostPath") or {}).get("path") or "")
            yield Violation("host_path", f"{volume.get('name', '?')}: {path}")
    for container in _containers(spec):
        context: JSON = container.get("securityContext") or {}
        if context.get("privileged") is True:
            yield Violation("privileged", _name(container))
        added = (context.get("capabilities") or {}).get("add") or ()
        for capability in added:
            if str(capability).upper().removeprefix("CAP_") not in BASELINE_CAPABILITIES:
                yield Violation("capabilities", f"{_name(container)}: {capability}")
        for port in container.get("ports") or ():
            host_port = (port or {}).get("hostPort")
            if host_port:
                yield Violation("host_ports", f"{_name(container)}: {host_port}")
        proc_mount = context.get("procMount")
        if proc_mount not in (None, "Default"):
            yield Violation("proc_mount", f"{_name(container)}: {proc_mount}")
        yield from _selinux(context, _name(container))
        if ((context.get("windowsOptions") or {}).get("hostProcess")) is True:
            yield Violation("host_process", _name(container))


def _selinux(context: JSON, where: str) -> Iterator[Violation]:
    options: JSON = context.get("seLinuxOptions") or {}
    if (
        str(options.get("type") or "") not in BASELINE_SELINUX_TYPES
        or options.get("user")
        or options.get("role")
    ):
        yield Violation("selinux", where)


def _restricted(spec: JSON) -> list[Violation]:
    found: list[Violation] = []
    for volume in spec.get("volumes") or ():
        sources = [k for k in (volume or {}) if k not in VOLUME_SOURCES_IGNORED]
        if any(source not in RESTRICTED_VOLUMES and source != "hostPath" for source in sources):
            found.append(Violation("volume_types", f"{volume.get('name', '?')}: {', '.join(sources)}"))
    pod_context: JSON = spec.get("securityContext") or {}
    pod_non_root = pod_context.get("runAsNonRoot") is True
    pod_seccomp = _seccomp_ok(pod_context)
    if pod_context.get("runAsUser") == 0:
        found.append(Violation("run_as_user", "pod"))
    for container in _containers(spec):
        context: JSON = container.get("securityContext") or {}
        name = _name(container)
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(Violation("privilege_escalation", name))
        non_root = context.get("runAsNonRoot")
        if not (non_root is True or (non_root is None and pod_non_root)):
            found.append(Violation("run_as_non_root", name))
        if context.get("runAsUser") == 0:
            found.append(Violation("run_as_user", name))
        if not (_seccomp_ok(context) or ("seccompProfile" not in context and pod_seccomp)):
            found.append(Violation("seccomp", name))
        capabilities: JSON = context.get("capabilities") or {}
        if "ALL" not in [str(c).upper() for c in capabilities.get("drop") or ()]:
            found.append(Violation("drop_all", name))
        for capability in capabilities.get("add") or ():
            if str(capability).upper().removeprefix("CAP_") != "NET_BIND_SERVICE":
                found.append(Violation("capabilities", f"{name}: {capability}"))
    return found


def _seccomp_ok(context: JSON) -> bool:
    return str((context.get("seccompProfile") or {}).get("type") or "") in ("RuntimeDefault", "Localhost")


def check_create(
    pods: Sequence[JSON],
    namespaces: Sequence[str],
    level: PodSecurityLevel,
    protected: Sequence[str],
) -> list[Violation]:
    """What stands against creating ``pods`` (and other objects) in ``namespaces``."""
    found = [Violation("protected_namespace", ns) for ns in sorted(set(namespaces)) if ns in protected]
    for pod in pods:
        found += check_pod(pod, level)
    return found


def violations_text(violations: Sequence[Violation], level: PodSecurityLevel, locale: str | None) -> str:
    """Why a create may not go ahead: each rule broken, where, and what the channel's level is."""
    lines = [t("podsecurity.refused", locale, level=level.value)]
    lines += [
        t("podsecurity.line", locale, rule=t(f"podsecurity.rule.{v.rule}", locale), detail=v.detail)
        for v in violations
    ]
    return "\n".join(lines)
