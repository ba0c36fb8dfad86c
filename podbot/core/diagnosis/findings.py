"""Findings: what is wrong with a pod, why, and how to fix it — as data, never as prose.

``podbot.core.diagnosis.rules`` produces ``Finding`` objects; renderers (Slack blocks, digests, ``describe``)
turn them into text with ``describe_finding`` (message catalog section ``diagnosis:``) and into
buttons from ``Fix.commands``. A finding's ``fingerprint`` is stable for the same problem on the
same pod and container across diagnosis cycles and bot restarts (alerts de-duplicate on it);
``group_key`` gathers the same failure on many pods (500 pods failing the same way = one alert).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cached_property

from podbot.core import i18n
from podbot.core.diagnosis.pull_causes import PullCause
from podbot.core.pods.status import duration_text

CREDENTIAL_CAUSES = frozenset(
    {
        PullCause.CREDENTIALS_MISSING,
        PullCause.CREDENTIALS_REJECTED,
        PullCause.SECRET_WITHOUT_REGISTRY,
        PullCause.CREDENTIALS_UPDATED,
    }
)


class FindingKind(Enum):
    IMAGE_PULL = "image_pull"
    CRASH_LOOP = "crash_loop"
    OOM_KILLED = "oom_killed"
    INIT_FAILURE = "init_failure"
    CONTAINER_FAILED = "container_failed"  # exited non-zero and will not be restarted
    CONFIG_ERROR = "config_error"  # CreateContainerConfigError & co (missing secret/configmap key ...)
    UNSCHEDULABLE = "unschedulable"
    PENDING_TOO_LONG = "pending_too_long"
    STUCK_TERMINATING = "stuck_terminating"
    EVICTED = "evicted"
    FREQUENT_RESTARTS = "frequent_restarts"


class Severity(Enum):
    CRITICAL = "critical"  # the workload does not run
    WARNING = "warning"  # it runs badly or something needs cleaning up

    @property
    def rank(self) -> int:
        return 0 if self is Severity.CRITICAL else 1


class SchedulingCause(Enum):
    """The dominant reason in the scheduler's "0/N nodes are available: ..." message."""

    INSUFFICIENT_RESOURCES = "insufficient_resources"
    UNTOLERATED_TAINT = "untolerated_taint"
    NODE_SELECTOR_MISMATCH = "node_selector_mismatch"
    VOLUME = "volume"
    NO_FREE_PORTS = "no_free_ports"
    NO_NODES = "no_nodes"
    SCHEDULING_GATED = "scheduling_gated"
    OTHER = "other"


class FixKind(Enum):
    CREATE_REGISTRY_SECRET = "create_registry_secret"  # noqa: S105 - the pod names a secret that does not exist
    CREATE_SECRET_AND_ATTACH = "create_secret_and_attach"  # noqa: S105 - the pod names none: create + attach + recreate
    REPLACE_REGISTRY_LOGIN = (
        "replace_registry_login"  # wrong login, or no entry for the registry: update in place
    )
    ATTACH_PULL_SECRET = "attach_pull_secret"  # noqa: S105 - a fitting secret exists, nothing refers to it
    RECREATE_FOR_PULL_SECRET = "recreate_for_pull_secret"  # noqa: S105 - the account names it, the pod predates that
    WAIT_FOR_PULL_RETRY = "wait_for_pull_retry"  # a new login the kubelet has not tried yet
    CHECK_IMAGE_NAME = "check_image_name"
    USE_MATCHING_PLATFORM = "use_matching_platform"
    CHECK_REGISTRY_DNS = "check_registry_dns"
    CHECK_REGISTRY_NETWORK = "check_registry_network"
    CHECK_REGISTRY_RUNNING = "check_registry_running"
    AVOID_RATE_LIMIT = "avoid_rate_limit"
    CONFIGURE_REGISTRY_TLS = "configure_registry_tls"
    FIX_IMAGE_NAME = "fix_image_name"
    PROVIDE_IMAGE_ON_NODE = "provide_image_on_node"
    NODE_REGISTRY_CREDENTIALS = "node_registry_credentials"  # static pods cannot use secrets
    INSPECT_PULL = "inspect_pull"
    READ_CRASH_LOGS = "read_crash_logs"
    RAISE_MEMORY_LIMIT = "raise_memory_limit"
    FIX_INIT_CONTAINER = "fix_init_container"
    FIX_CONTAINER_CONFIG = "fix_container_config"
    ADD_CAPACITY = "add_capacity"
    FIX_NODE_SELECTOR = "fix_node_selector"
    ADD_TOLERATION = "add_toleration"
    FIX_VOLUME_CLAIM = "fix_volume_claim"
    FREE_HOST_PORT = "free_host_port"
    ADD_NODES = "add_nodes"
    REMOVE_SCHEDULING_GATE = "remove_scheduling_gate"
    CHECK_POD_EVENTS = "check_pod_events"
    REMOVE_FINALIZERS = "remove_finalizers"
    CHECK_NODE = "check_node"
    FORCE_DELETE = "force_delete"
    DELETE_EVICTED = "delete_evicted"
    RELIEVE_NODE_PRESSURE = "relieve_node_pressure"
    EDIT_STATIC_MANIFEST = "edit_static_manifest"


CREATE_SECRET_FIXES = frozenset({FixKind.CREATE_REGISTRY_SECRET, FixKind.CREATE_SECRET_AND_ATTACH})


@dataclass(frozen=True)
class Fix:
    """One concrete remedy. ``commands`` are podbot slash commands that apply or start it, in order.

    For the secret fixes the last command is ``/pod secret docker-registry NAME --docker-server=S
    -n NS`` (with ``--replace`` to replace a login) without username and password: the renderer's
    button opens the private dialog that asks for them, so no credential passes through a channel.
    ``ATTACH_PULL_SECRET``'s button runs ``/pod secret attach NAME --service-account=SA -n NS``.
    """

    kind: FixKind
    namespace: str = ""
    pod: str = ""
    container: str = ""
    secret_name: str = ""
    server: str = ""
    service_account: str = ""
    owner_kind: str = ""
    owner_name: str = ""
    image: str = ""
    node: str = ""
    memory_limit: str = ""
    manifest_dir: str = ""
    manifest_name: str = ""
    finalizers: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()

    @property
    def opens_secret_modal(self) -> bool:
        """The fix's button opens the dialog that creates a registry secret."""
        return self.kind in CREATE_SECRET_FIXES


@dataclass(frozen=True)
class StaticPod:
    """Where a mirror pod really comes from: the kubelet of ``node`` reads ``manifest_dir``."""

    node: str
    source: str  # file | http
    manifest_dir: str  # staticPodPath for file sources; "" for http (kubelet --manifest-url)
    manifest_name: str  # metadata.name inside the manifest (the mirror's name minus "-<node>")


@dataclass(frozen=True)
class Evidence:
    """The facts a finding rests on, shown under it."""

    message: str = ""  # event / waiting / status / scheduler message
    reason: str = ""  # waiting / terminated / status reason
    exit_code: int | None = None
    last_reason: str = ""  # reason of the last termination
    restarts: int = 0
    restarts_in_window: int = 0
    window_seconds: int = 0
    duration_seconds: int = 0  # pending for / overdue by
    event_count: int = 0
    log_tail: tuple[str, ...] = ()  # the last lines the crashed container wrote (redacted)
    memory_limit: str = ""
    finalizers: tuple[str, ...] = ()
    retry_seconds: int | None = None  # image pulls: when the kubelet's back-off lets it try again


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    severity: Severity
    namespace: str
    pod: str
    uid: str
    node: str = ""
    container: str = ""
    is_init: bool = False
    image: str = ""
    registry: str = ""
    cause: PullCause | None = None
    scheduling: SchedulingCause | None = None
    ambiguous: bool = False  # image pulls: the registry's answer also fits "no such image"
    missing_secret: str = ""  # image pulls: a pull secret the pod names that does not exist
    since: datetime | None = None  # when the problem was first seen (best knowledge)
    evidence: Evidence = Evidence()
    fixes: tuple[Fix, ...] = ()
    static: StaticPod | None = None
    owner_kind: str = ""
    owner_name: str = ""

    @property
    def identity(self) -> str:
        """The pod's lasting identity: its uid, or for a mirror pod its name (the kubelet
        recreates mirror pods with new uids, but it is the same static pod)."""
        if self.static is not None:
            return f"static:{self.namespace}/{self.pod}"
        return self.uid

    @cached_property
    def fingerprint(self) -> str:
        """Same problem, same pod, same container -> same value, every cycle and after restarts.

        The pull cause is deliberately left out: it can sharpen over time (UNKNOWN after a bot
        restart until the next pull attempt, then the real cause) without being a new problem.
        """
        raw = f"{self.kind.value}|{self.identity}|{'init' if self.is_init else 'app'}|{self.container}"
        return hashlib.sha256(raw.encode()).hexdigest()[:20]

    @cached_property
    def order(self) -> tuple[int, float, str, str, str]:
        """Worst first: critical before warning, then the oldest problem, then by name."""
        since = self.since.timestamp() if self.since is not None else float("inf")
        return (self.severity.rank, since, self.namespace, self.pod, self.container)

    @cached_property
    def cause_value(self) -> str:
        if self.cause is not None:
            return self.cause.value
        return self.scheduling.value if self.scheduling is not None else ""

    @cached_property
    def group_key(self) -> tuple[str, str, str, str]:
        """(namespace, kind, cause, image): findings sharing it are one problem on many pods.

        The credential causes of an image pull are one problem while someone works through them
        (missing -> a new login not tried yet -> refused -> replaced): one alert, open until the
        pull works, not a "resolved" and a new alert at every step."""
        cause = self.cause_value
        if self.kind is FindingKind.IMAGE_PULL and self.cause in CREDENTIAL_CAUSES:
            cause = "credentials"
        return (self.namespace, self.kind.value, cause, self.image)


# --- text -----------------------------------------------------------------------------------------

_EXIT_HINTS = frozenset({0, 1, 2, 126, 127, 128, 134, 137, 139, 143})


def _container_label(finding: Finding, locale: str | None) -> str:
    key = "diagnosis.container.init" if finding.is_init else "diagnosis.container.app"
    return i18n.t(key, locale, name=finding.container)


_MISSING_VARIANTS = {
    FixKind.CREATE_REGISTRY_SECRET: "secret_absent",
    FixKind.ATTACH_PULL_SECRET: "unattached",
    FixKind.RECREATE_FOR_PULL_SECRET: "attached",
}


def _cause_key(finding: Finding) -> str:
    kind = finding.kind
    if kind is FindingKind.IMAGE_PULL:
        cause = finding.cause or PullCause.UNKNOWN
        first = finding.fixes[0].kind if finding.fixes else None
        if cause is PullCause.CREDENTIALS_MISSING and first in _MISSING_VARIANTS:
            return f"diagnosis.cause.image_pull.credentials_missing_{_MISSING_VARIANTS[first]}"
        return f"diagnosis.cause.image_pull.{cause.value}"
    if kind is FindingKind.UNSCHEDULABLE:
        return f"diagnosis.cause.unschedulable.{(finding.scheduling or SchedulingCause.OTHER).value}"
    return f"diagnosis.cause.{kind.value}"


def _params(finding: Finding, locale: str | None) -> dict[str, object]:
    ev = finding.evidence
    secret = finding.missing_secret or next((f.secret_name for f in finding.fixes if f.secret_name), "")
    account = next((f.service_account for f in finding.fixes if f.service_account), "default")
    return {
        "namespace": finding.namespace,
        "pod": finding.pod,
        "container": _container_label(finding, locale),
        "image": finding.image,
        "registry": finding.registry,
        "node": finding.node or "?",
        "secret": secret,
        "exit_code": "?" if ev.exit_code is None else ev.exit_code,
        "reason": ev.last_reason or ev.reason or "?",
        "restarts": ev.restarts,
        "count": ev.restarts_in_window,
        "window": duration_text(ev.window_seconds, locale),
        "duration": duration_text(ev.duration_seconds, locale),
        # The scheduler's "preemption: ..." tail is noise in a sentence (the evidence keeps it all).
        "message": ev.message.split(" preemption:")[0]
        if finding.kind is FindingKind.UNSCHEDULABLE
        else ev.message,
        "memory_limit": ev.memory_limit or "-",
        "finalizers": ", ".join(ev.finalizers),
        "service_account": account,
        "retry": _retry_text(ev.retry_seconds, locale),
    }


def _retry_text(seconds: int | None, locale: str | None) -> str:
    if seconds is None:
        return i18n.t("diagnosis.retry.unknown", locale)
    if seconds <= 0:
        return i18n.t("diagnosis.retry.now", locale)
    return i18n.t("diagnosis.retry.in", locale, duration=duration_text(seconds, locale))


def _fix_params(fix: Fix, finding: Finding, locale: str | None) -> dict[str, object]:
    return {
        "namespace": fix.namespace or finding.namespace,
        "pod": fix.pod or finding.pod,
        "container": fix.container or finding.container,
        "secret": fix.secret_name,
        "server": fix.server,
        "service_account": fix.service_account or "default",
        "owner": f"{fix.owner_kind}/{fix.owner_name}" if fix.owner_kind else "",
        "image": fix.image or finding.image,
        "node": fix.node or finding.node or "?",
        "memory_limit": fix.memory_limit or "-",
        "manifest_dir": fix.manifest_dir,
        "manifest_name": fix.manifest_name,
        "finalizers": ", ".join(fix.finalizers),
        "command": fix.commands[-1] if fix.commands else "",
        "retry": _retry_text(finding.evidence.retry_seconds, locale),
    }


def _fix_key(fix: Fix) -> str:
    if fix.kind in (
        FixKind.CREATE_SECRET_AND_ATTACH,
        FixKind.ATTACH_PULL_SECRET,
        FixKind.RECREATE_FOR_PULL_SECRET,
    ):
        return f"diagnosis.fix.{fix.kind.value}_" + ("owned" if fix.owner_kind else "bare")
    if fix.kind is FixKind.EDIT_STATIC_MANIFEST and not fix.manifest_dir:
        return "diagnosis.fix.edit_static_manifest_http"
    return f"diagnosis.fix.{fix.kind.value}"


def describe_fix(fix: Fix, finding: Finding, locale: str | None = None) -> str:
    """One fix as a sentence (commands in backticks)."""
    return i18n.t(_fix_key(fix), locale, **_fix_params(fix, finding, locale))


def describe_finding(finding: Finding, locale: str | None = None) -> tuple[str, str]:
    """(cause sentence, fix sentence) in ``locale``, for the renderer.

    Made once per finding and locale: findings are immutable, and the watch cache hands out the
    same Finding objects digest after digest while a pod's diagnosis holds."""
    loc = i18n.normalize_locale(locale)
    made: dict[str, tuple[str, str]] = finding.__dict__.setdefault("_described", {})
    found = made.get(loc)
    if found is None:
        found = made[loc] = _describe(finding, loc)
    return found


def _describe(finding: Finding, locale: str) -> tuple[str, str]:
    params = _params(finding, locale)
    cause = i18n.t(_cause_key(finding), locale, **params)
    # A pull secret the pod names is missing: said first, whatever else failed.
    lead = [i18n.t("diagnosis.cause.missing_secret", locale, **params)] if finding.missing_secret else []
    extras: list[str] = []
    if finding.ambiguous:
        extras.append(i18n.t("diagnosis.cause.ambiguous", locale, **params))
    code = finding.evidence.exit_code
    exits = (FindingKind.CRASH_LOOP, FindingKind.INIT_FAILURE, FindingKind.CONTAINER_FAILED)
    if finding.kind in exits and code is not None and code in _EXIT_HINTS:
        extras.append(i18n.t(f"diagnosis.exit.code_{code}", locale))
    if finding.static is not None:
        static_key = (
            "diagnosis.cause.static_file" if finding.static.manifest_dir else "diagnosis.cause.static_http"
        )
        extras.append(
            i18n.t(
                static_key,
                locale,
                node=finding.static.node,
                manifest_dir=finding.static.manifest_dir,
                manifest_name=finding.static.manifest_name,
            )
        )
    joiner = "" if i18n.normalize_locale(locale) == "zh_CN" else " "  # Chinese sentences need no space
    fix_text = joiner.join(describe_fix(fix, finding, locale) for fix in finding.fixes)
    return joiner.join([*lead, cause, *extras]), fix_text
