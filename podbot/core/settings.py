"""podbot's settings: frozen dataclasses, built once by ``podbot.server.config.load_settings``
and passed down explicitly. Secrets are held in ``model.Secret`` so they never print."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from podbot.core.i18n import normalize_locale
from podbot.core.model import Secret
from podbot.core.podsecurity import PodSecurityLevel
from podbot.core.times import DEFAULT_TIMEZONE

NO_SECRET = Secret("")  # immutable, so one shared default is safe


@dataclass(frozen=True)
class SlackSettings:
    bot_token: Secret = NO_SECRET
    """Bot token (xoxb-...), env SLACK_BOT_TOKEN."""
    signing_secret: Secret = NO_SECRET
    """Signing secret that authenticates Slack's HTTP requests, env SLACK_SIGNING_SECRET."""
    app_token: Secret = NO_SECRET
    """App-level token (xapp-...) for Socket Mode, env SLACK_APP_TOKEN."""
    api_url: str = "https://slack.com/api/"
    """Web API base URL, env SLACK_API_URL (the local emulator sets its own)."""


@dataclass(frozen=True)
class KubeSettings:
    kubeconfig: str | None = None
    """Path of the kubeconfig, env KUBECONFIG; None = ~/.kube/config."""
    in_cluster: bool = False
    """Use the pod's service account (env PODBOT_IN_CLUSTER=true, or detected in a pod)."""
    default_context: str | None = None
    """The context used when a command names none; None = the kubeconfig's current context."""
    timeout_seconds: float = 15.0
    """Timeout of one Kubernetes API request."""


@dataclass(frozen=True)
class ApproverRule:
    """Who may approve deletes in namespaces matching ``namespaces`` (shell-style globs)."""

    namespaces: tuple[str, ...] = ("*",)
    users: tuple[str, ...] = ()
    """Slack user IDs (U...)."""
    usergroups: tuple[str, ...] = ()
    """Slack user group IDs (S...), resolved with usergroups.users.list."""


@dataclass(frozen=True)
class ApprovalSettings:
    rules: tuple[ApproverRule, ...] = ()
    no_approval_namespaces: tuple[str, ...] = ()
    """Globs of namespaces where deletes run at once (e.g. dev-*)."""
    allow_self_approval: bool = False
    expiry_seconds: int = 3600
    """Pending requests expire after this long (default 1 h)."""

    def rule_for(self, namespace: str) -> ApproverRule | None:
        """The first rule whose namespace patterns match."""
        for rule in self.rules:
            if any(fnmatch.fnmatchcase(namespace, p) for p in rule.namespaces):
                return rule
        return None

    def needs_approval(self, namespace: str) -> bool:
        return not any(fnmatch.fnmatchcase(namespace, p) for p in self.no_approval_namespaces)


class OnViolation(StrEnum):
    """What happens to a create that breaks the channel's Pod Security level."""

    REFUSE = "refuse"
    APPROVE = "approve"  # it waits for an approver, like a delete


@dataclass(frozen=True)
class ChannelPolicy:
    """What one channel (by ID or #name; "*" = every other channel) may touch."""

    channel: str = "*"
    contexts: tuple[str, ...] = ("*",)
    namespaces: tuple[str, ...] = ("*",)
    verbs: tuple[str, ...] = ("*",)
    default_context: str | None = None
    default_namespace: str | None = None
    locale: str | None = None
    pod_security: PodSecurityLevel = PodSecurityLevel.BASELINE
    """The Pod Security Standard a created pod must meet (privileged | baseline | restricted)."""
    on_violation: OnViolation = OnViolation.REFUSE
    """A create that breaks it (or targets a protected namespace): refused, or held for an approver."""
    timezone: str | None = None
    """Display time zone of this channel (IANA name); None = the workspace's (``Settings.timezone``)."""


_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
READ_ONLY_VERBS = ("get", "describe", "logs", "static", "help")
UNLISTED = ChannelPolicy(channel="", verbs=READ_ONLY_VERBS)
"""A channel the configuration does not name (and no "*" entry): it may look, not touch."""
PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class IdentitySettings:
    """Per-user identity: call the API as the Slack user (impersonation), so cluster RBAC decides."""

    enabled: bool = False
    users: Mapping[str, str] = field(default_factory=dict)
    """Slack user ID -> Kubernetes user name (explicit mapping wins over email)."""
    use_email: bool = True
    """Otherwise map a Slack user to the email on their Slack profile (users.info)."""
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Slack user group ID -> Kubernetes groups."""


@dataclass(frozen=True)
class LeaderElectionSettings:
    """Several replicas elect one leader with a coordination.k8s.io/v1 Lease (client-go's algorithm).

    Only the leader runs the leader-only work (digest scheduler, watchers, alert fan-out); every
    replica answers slash commands and buttons. Durations have client-go's defaults and rules.
    """

    enabled: bool = False
    """Env PODBOT_LEADER_ELECTION; default: on when running in a cluster (in_cluster)."""
    lease_name: str = "podbot"
    namespace: str | None = None
    """Env POD_NAMESPACE; None = the namespace podbot runs in (the kubeconfig context's namespace)."""
    identity: str | None = None
    """Env POD_NAME (downward API); None = the host name. A random suffix is always added."""
    lease_duration_seconds: int = 15
    """How long followers wait, after they last saw the Lease change, before taking it over."""
    renew_deadline_seconds: float = 10.0
    """The leader stops leading AT ONCE when it has not renewed for this long."""
    retry_period_seconds: float = 2.0
    """How often the leader renews and followers try to acquire."""


@dataclass(frozen=True)
class DigestSettings:
    """Watch cache, scheduled digests and real-time alerts (YAML section ``digests:``)."""

    watch_namespaces: tuple[str, ...] = ()
    """Namespaces the watch cache lists and watches; () = all namespaces (one cluster-wide watch)."""
    alert_update_minutes: int = 15
    """An open alert gets a thread update (when its pod count changed) at most this often."""
    misfire_grace_seconds: int = 600
    """A digest whose time passed longer ago than this (bot down, overloaded) is skipped."""
    claim_stale_seconds: int = 300
    """A claimed digest not posted after this long is retried by another attempt."""
    retry_window_seconds: int = 3600
    """Stale claims older than this are recorded as missed instead of posted late."""
    settle_seconds: int = 120
    """A post Slack did not confirm (5xx, timeout) is settled this long after: the message
    metadata event marks it posted (Slack sends it within seconds), else it is posted again."""
    top_offenders: int = 10
    """Pods listed by name in a health digest (all of them are in the attached file)."""


@dataclass(frozen=True)
class Settings:
    slack: SlackSettings = SlackSettings()
    kube: KubeSettings = KubeSettings()
    approvals: ApprovalSettings = ApprovalSettings()
    channels: tuple[ChannelPolicy, ...] = ()
    identity: IdentitySettings = IdentitySettings()
    leader_election: LeaderElectionSettings = LeaderElectionSettings()
    digests: DigestSettings = DigestSettings()
    database_url: str = "sqlite:///podbot.sqlite3"
    """SQLAlchemy URL, env DATABASE_URL. SQLite for one replica; PostgreSQL for several."""
    host: str = "127.0.0.1"
    """HTTP listen address, env PODBOT_HOST (0.0.0.0 in a container)."""
    port: int = 3000
    """HTTP listen port, env PORT."""
    workers: int = 4
    """Threads doing Kubernetes work after a request is acknowledged. More threads only help when the API
    server is slow: Python threads share one interpreter lock (which is why, in HTTP mode, the acks
    come from a process of their own: ``ack_front``; bench/slack_acks.py, README)."""
    ack_front: bool = True
    """HTTP mode: acknowledge Slack from a small process of its own (server/front.py) that forwards
    each request to the bot, so the bot's work never delays an ack; env PODBOT_ACK_FRONT."""
    locale: str = "en"
    """Default language of messages: en or zh_CN (per channel: channels[].locale)."""
    timezone: str = DEFAULT_TIMEZONE
    """Display time zone of the workspace (IANA name, e.g. Asia/Shanghai), env PODBOT_TIMEZONE;
    per channel: channels[].timezone. Cron subscriptions use it unless they name their own."""
    log_level: str = "INFO"
    protected_namespaces: tuple[str, ...] = PROTECTED_NAMESPACES
    """Namespaces a create from Slack never lands in unapproved (the cluster's own)."""

    @property
    def http_threads(self) -> int:
        """waitress threads of the bot (and of its ack front): at least 8, one per worker if more."""
        return max(8, self.workers)

    def channel_policy(self, channel_id: str, channel_name: str = "") -> ChannelPolicy:
        """The policy of a channel: by ID, then #name, then the "*" entry, else read-only."""
        by_key = {p.channel.lstrip("#"): p for p in self.channels}
        return (
            by_key.get(channel_id)
            or (by_key.get(channel_name.lstrip("#")) if channel_name else None)
            or by_key.get("*")
            or UNLISTED
        )

    @property
    def names_channels(self) -> bool:
        """Whether any policy is keyed by #name (then a channel's name must be looked up)."""
        return any(p.channel != "*" and not _CHANNEL_ID.match(p.channel) for p in self.channels)

    def locale_for(self, channel_id: str, channel_name: str = "") -> str:
        return normalize_locale(self.channel_policy(channel_id, channel_name).locale or self.locale)

    def timezone_for(self, channel_id: str, channel_name: str = "") -> str:
        """The display time zone of a channel: its own, else the workspace's."""
        return self.channel_policy(channel_id, channel_name).timezone or self.timezone
