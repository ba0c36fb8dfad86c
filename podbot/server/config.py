"""Configuration, read in one place: environment variables and an optional YAML file.

Nothing else in podbot reads ``os.environ``: ``load_settings`` builds a frozen ``Settings``
(``podbot.core.settings``) that is passed down explicitly. Every problem found is reported at once
in one ``ConfigError`` that names each missing or invalid setting.

Environment variables win over the YAML file for the settings they cover.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml

from podbot.core.errors import ConfigError
from podbot.core.i18n import normalize_locale
from podbot.core.model import Secret
from podbot.core.podsecurity import PodSecurityLevel
from podbot.core.settings import (
    PROTECTED_NAMESPACES,
    ApprovalSettings,
    ApproverRule,
    ChannelPolicy,
    DigestSettings,
    IdentitySettings,
    KubeSettings,
    LeaderElectionSettings,
    OnViolation,
    Settings,
    SlackSettings,
)
from podbot.core.times import DEFAULT_TIMEZONE, is_timezone


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, name: str, problem: str) -> None:
        self.items.append(f"{name}: {problem}")


def _strings(value: Any, name: str, problems: _Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.add(name, "must be a string or a list of strings")
    return ()


def _bool(value: Any, name: str, problems: _Problems, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    problems.add(name, f"must be true or false, not {value!r}")
    return default


def _int(value: Any, name: str, problems: _Problems, default: int, minimum: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        problems.add(name, f"must be a whole number, not {value!r}")
        return default
    if number < minimum:
        problems.add(name, f"must be at least {minimum}")
        return default
    return number


def _float(value: Any, name: str, problems: _Problems, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.add(name, f"must be a number of seconds, not {value!r}")
        return default
    if not number > 0:
        problems.add(name, "must be greater than 0")
        return default
    return number


E = TypeVar("E", bound=StrEnum)


def _choice(value: Any, name: str, problems: _Problems, default: E) -> E:
    if value is None or value == "":
        return default
    kind = type(default)
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        problems.add(name, f"must be one of {', '.join(m.value for m in kind)}, not {value!r}")
        return default


def _timezone(value: Any, name: str, problems: _Problems) -> str | None:
    """An IANA time zone name (Asia/Shanghai, UTC), or None when not set."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not is_timezone(value):
        problems.add(name, f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai or UTC)")
        return None
    return value


def _leader_election(
    env: Mapping[str, str], doc: Mapping[str, Any], in_cluster: bool, problems: _Problems
) -> LeaderElectionSettings:
    name = "leader_election"
    base = LeaderElectionSettings()
    settings = LeaderElectionSettings(
        enabled=_bool(
            env.get("PODBOT_LEADER_ELECTION", doc.get("enabled")), f"{name}.enabled", problems, in_cluster
        ),
        lease_name=str(doc.get("lease_name") or base.lease_name),
        namespace=env.get("POD_NAMESPACE") or doc.get("namespace") or None,
        identity=env.get("POD_NAME") or doc.get("identity") or None,
        lease_duration_seconds=_int(
            doc.get("lease_duration_seconds"), f"{name}.lease_duration_seconds", problems, 15, 1
        ),
        renew_deadline_seconds=_float(
            doc.get("renew_deadline_seconds"), f"{name}.renew_deadline_seconds", problems, 10.0
        ),
        retry_period_seconds=_float(
            doc.get("retry_period_seconds"), f"{name}.retry_period_seconds", problems, 2.0
        ),
    )
    # client-go's rules: a leader must give up before a follower may take over, and must get to
    # retry at least once (with jitter) before its deadline.
    if settings.lease_duration_seconds <= settings.renew_deadline_seconds:
        problems.add(f"{name}.lease_duration_seconds", "must be greater than renew_deadline_seconds")
    if settings.renew_deadline_seconds <= 1.2 * settings.retry_period_seconds:
        problems.add(f"{name}.renew_deadline_seconds", "must be greater than 1.2 x retry_period_seconds")
    return settings


def load_settings(env: Mapping[str, str], config_file: str | None = None) -> Settings:
    """Settings from ``env`` (usually os.environ) and the YAML file (``config_file`` or PODBOT_CONFIG)."""
    problems = _Problems()
    path = config_file or env.get("PODBOT_CONFIG")
    doc: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the configuration file {path}: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"the configuration file {path} must be a YAML mapping")
        doc = loaded or {}

    slack_doc = doc.get("slack") or {}
    slack = SlackSettings(
        bot_token=Secret(env.get("SLACK_BOT_TOKEN") or str(slack_doc.get("bot_token") or "")),
        signing_secret=Secret(env.get("SLACK_SIGNING_SECRET") or str(slack_doc.get("signing_secret") or "")),
        app_token=Secret(env.get("SLACK_APP_TOKEN") or str(slack_doc.get("app_token") or "")),
        api_url=env.get("SLACK_API_URL") or str(slack_doc.get("api_url") or SlackSettings.api_url),
    )
    if slack.bot_token and not slack.bot_token.reveal().startswith("xoxb-"):
        problems.add("SLACK_BOT_TOKEN", "a bot token starts with xoxb-")
    if slack.app_token and not slack.app_token.reveal().startswith("xapp-"):
        problems.add("SLACK_APP_TOKEN", "an app-level token starts with xapp-")

    kube_doc = doc.get("kubernetes") or {}
    in_cluster_default = bool(env.get("KUBERNETES_SERVICE_HOST")) and not env.get("KUBECONFIG")
    kube = KubeSettings(
        kubeconfig=env.get("KUBECONFIG") or kube_doc.get("kubeconfig"),
        in_cluster=_bool(
            env.get("PODBOT_IN_CLUSTER", kube_doc.get("in_cluster")),
            "PODBOT_IN_CLUSTER",
            problems,
            in_cluster_default,
        ),
        default_context=env.get("PODBOT_CONTEXT") or kube_doc.get("default_context"),
        timeout_seconds=float(
            _int(kube_doc.get("timeout_seconds"), "kubernetes.timeout_seconds", problems, 15, 1)
        ),
    )

    approvals_doc = doc.get("approvals") or {}
    rules = []
    for i, raw in enumerate(approvals_doc.get("approvers") or ()):
        if not isinstance(raw, dict):
            problems.add(f"approvals.approvers[{i}]", "must be a mapping")
            continue
        rule = ApproverRule(
            namespaces=_strings(raw.get("namespaces", "*"), f"approvals.approvers[{i}].namespaces", problems),
            users=_strings(raw.get("users"), f"approvals.approvers[{i}].users", problems),
            usergroups=_strings(raw.get("usergroups"), f"approvals.approvers[{i}].usergroups", problems),
        )
        if not rule.users and not rule.usergroups:
            problems.add(f"approvals.approvers[{i}]", "names no users and no usergroups")
        rules.append(rule)
    approvals = ApprovalSettings(
        rules=tuple(rules),
        no_approval_namespaces=_strings(
            approvals_doc.get("no_approval_namespaces"), "approvals.no_approval_namespaces", problems
        ),
        allow_self_approval=_bool(
            approvals_doc.get("allow_self_approval"), "approvals.allow_self_approval", problems, False
        ),
        expiry_seconds=_int(
            approvals_doc.get("expiry_seconds"), "approvals.expiry_seconds", problems, 3600, 60
        ),
    )

    channels = []
    for i, raw in enumerate(doc.get("channels") or ()):
        if not isinstance(raw, dict) or not raw.get("channel"):
            problems.add(f"channels[{i}]", "must be a mapping with a channel (ID, #name or *)")
            continue
        locale = raw.get("locale")
        if locale is not None and normalize_locale(str(locale)) == "en" and not str(locale).startswith("en"):
            problems.add(f"channels[{i}].locale", f"unsupported language {locale!r} (en or zh_CN)")
        timezone = _timezone(raw.get("timezone"), f"channels[{i}].timezone", problems)
        channels.append(
            ChannelPolicy(
                channel=str(raw["channel"]),
                contexts=_strings(raw.get("contexts", "*"), f"channels[{i}].contexts", problems),
                namespaces=_strings(raw.get("namespaces", "*"), f"channels[{i}].namespaces", problems),
                verbs=_strings(raw.get("verbs", "*"), f"channels[{i}].verbs", problems),
                default_context=raw.get("default_context"),
                default_namespace=raw.get("default_namespace"),
                locale=normalize_locale(str(locale)) if locale else None,
                pod_security=_choice(
                    raw.get("pod_security"),
                    f"channels[{i}].pod_security",
                    problems,
                    PodSecurityLevel.BASELINE,
                ),
                on_violation=_choice(
                    raw.get("on_violation"), f"channels[{i}].on_violation", problems, OnViolation.REFUSE
                ),
                timezone=timezone,
            )
        )

    identity_doc = doc.get("identity") or {}
    identity = IdentitySettings(
        enabled=_bool(
            env.get("PODBOT_IMPERSONATE", identity_doc.get("enabled")), "identity.enabled", problems, False
        ),
        users={str(k): str(v) for k, v in (identity_doc.get("users") or {}).items()},
        use_email=_bool(identity_doc.get("use_email"), "identity.use_email", problems, True),
        groups={
            str(k): _strings(v, f"identity.groups.{k}", problems)
            for k, v in (identity_doc.get("groups") or {}).items()
        },
    )

    leader_doc = doc.get("leader_election") or {}
    if not isinstance(leader_doc, dict):
        problems.add("leader_election", "must be a mapping")
        leader_doc = {}
    leader_election = _leader_election(env, leader_doc, kube.in_cluster, problems)
    digests_doc = doc.get("digests") or {}
    digests = DigestSettings(
        watch_namespaces=_strings(digests_doc.get("watch_namespaces"), "digests.watch_namespaces", problems),
        alert_update_minutes=_int(
            digests_doc.get("alert_update_minutes"), "digests.alert_update_minutes", problems, 15, 1
        ),
        misfire_grace_seconds=_int(
            digests_doc.get("misfire_grace_seconds"), "digests.misfire_grace_seconds", problems, 600, 1
        ),
        claim_stale_seconds=_int(
            digests_doc.get("claim_stale_seconds"), "digests.claim_stale_seconds", problems, 300, 10
        ),
        retry_window_seconds=_int(
            digests_doc.get("retry_window_seconds"), "digests.retry_window_seconds", problems, 3600, 60
        ),
        settle_seconds=_int(digests_doc.get("settle_seconds"), "digests.settle_seconds", problems, 120, 10),
        top_offenders=_int(digests_doc.get("top_offenders"), "digests.top_offenders", problems, 10, 1),
    )

    locale = str(env.get("PODBOT_LOCALE") or doc.get("locale") or "en")
    settings = Settings(
        slack=slack,
        kube=kube,
        approvals=approvals,
        channels=tuple(channels),
        identity=identity,
        leader_election=leader_election,
        digests=digests,
        database_url=env.get("DATABASE_URL") or str(doc.get("database_url") or Settings.database_url),
        host=env.get("PODBOT_HOST") or str(doc.get("host") or Settings.host),
        port=_int(env.get("PORT") or doc.get("port"), "PORT", problems, Settings.port, 0),
        workers=_int(
            env.get("PODBOT_WORKERS") or doc.get("workers"), "PODBOT_WORKERS", problems, Settings.workers, 1
        ),
        ack_front=_bool(env.get("PODBOT_ACK_FRONT", doc.get("ack_front")), "ack_front", problems, True),
        locale=normalize_locale(locale),
        protected_namespaces=(
            _strings(doc["protected_namespaces"], "protected_namespaces", problems)
            if "protected_namespaces" in doc
            else PROTECTED_NAMESPACES
        ),
        timezone=_timezone(env.get("PODBOT_TIMEZONE") or doc.get("timezone"), "timezone", problems)
        or DEFAULT_TIMEZONE,
        log_level=str(env.get("PODBOT_LOG_LEVEL") or doc.get("log_level") or "INFO").upper(),
    )
    if problems.items:
        raise ConfigError("invalid configuration:\n- " + "\n- ".join(problems.items))
    return settings


def require_slack(settings: Settings, *, socket_mode: bool) -> None:
    """Serving needs credentials: name every one that is missing."""
    missing = []
    if not settings.slack.bot_token:
        missing.append("SLACK_BOT_TOKEN (the bot token, xoxb-...)")
    if socket_mode and not settings.slack.app_token:
        missing.append("SLACK_APP_TOKEN (an app-level token with connections:write, xapp-...)")
    if not socket_mode and not settings.slack.signing_secret:
        missing.append(
            "SLACK_SIGNING_SECRET (Basic Information > App Credentials) for HTTP mode, or instead "
            "SLACK_APP_TOKEN (an app-level token with connections:write, xapp-...) for Socket Mode, "
            "which needs no public URL"
        )
    if missing:
        raise ConfigError("missing settings:\n- " + "\n- ".join(missing))


def load_clock(env: Mapping[str, str], config_file: str | None = None) -> Callable[[], datetime]:
    """The bot's clock: real UTC time, unless the file has ``clock: {epoch: <unix seconds>, speed: N}``.

    A test and chaos knob only (bench/chaos.py): every replica given the same epoch computes
    ``epoch + (real - epoch) * speed``, so replicas and a ``podbot sim --speed N`` started at that
    epoch agree on a sped-up simulated time. Leases, timeouts and signatures stay on real time."""
    path = config_file or env.get("PODBOT_CONFIG")
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) if path else None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the configuration file {path}: {exc}") from exc
    raw = doc.get("clock") if isinstance(doc, dict) else None
    if raw is None:
        return lambda: datetime.now(UTC)
    try:
        epoch, speed = float(raw["epoch"]), float(raw.get("speed", 1.0))
    except (TypeError, KeyError, ValueError) as exc:
        raise ConfigError("clock: must be a mapping with a number epoch (and speed)") from exc
    if speed <= 0:
        raise ConfigError("clock.speed: must be greater than 0")
    return lambda: datetime.fromtimestamp(epoch + (time.time() - epoch) * speed, UTC)
