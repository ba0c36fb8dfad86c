"""The domain vocabulary: typed requests that the parser produces and the action layer executes.

Everything here is a frozen dataclass or an enum and imports nothing but the standard library.
A request names *what* to do; where (cluster context, namespace) is carried on the request and
left ``None`` when the user did not say, so that the Slack layer can fill in channel defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import ClassVar


class Secret:
    """A secret string (registry password, token) that never shows itself in repr/str/logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it goes onto the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class DryRun(Enum):
    NONE = "none"
    SERVER = "server"
    CLIENT = "client"


class RestartPolicy(Enum):
    ALWAYS = "Always"
    ON_FAILURE = "OnFailure"
    NEVER = "Never"


class OverrideType(Enum):
    """How ``kubectl run --overrides`` is applied to the generated Pod (``--override-type``)."""

    JSON = "json"  # an RFC 6902 JSON patch (a list of operations)
    MERGE = "merge"  # an RFC 7386 JSON merge patch (kubectl's default)
    STRATEGIC = "strategic"  # a strategic merge patch: lists such as containers merge by name


class OutputFormat(Enum):
    TABLE = "table"
    WIDE = "wide"
    YAML = "yaml"
    JSON = "json"
    NAME = "name"


class DigestKind(Enum):
    HEALTH = "health"
    IMAGE_PULLS = "image-pulls"


@dataclass(frozen=True)
class Where:
    """Which cluster (kubeconfig context) and namespace a request targets; None = the default."""

    context: str | None = None
    namespace: str | None = None


class Entry(Enum):
    """The road a request came by. Every road leads through the same pipeline and gate."""

    SLASH = "slash"  # a /pod command
    DIALOG = "dialog"  # a modal submission (or a modal being opened)
    BUTTON = "button"  # a button click
    SCHEDULE = "schedule"  # a scheduled digest, an alert cycle, the approval sweeper


@dataclass(frozen=True)
class Origin:
    """Who asked and from where, in Slack's identifiers. For scheduled work: the subscriber."""

    team_id: str
    channel_id: str
    user_id: str
    entry: Entry = Entry.SLASH
    channel_name: str = ""  # as Slack sent it (display and name-keyed policies)
    user_name: str = ""
    message_ts: str = ""  # the message whose button was clicked


# --- requests -------------------------------------------------------------------------------
# Each request says which verb it is (for policy, metrics and audit) and whether it changes
# the cluster (changes are audited and shown in the channel; reads answer ephemerally).


@dataclass(frozen=True)
class RunPod:
    verb: ClassVar[str] = "run"
    mutates: ClassVar[bool] = True
    name: str
    image: str
    where: Where = Where()
    port: int | None = None
    env: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] | None = None  # None: kubectl's default run=NAME
    annotations: tuple[tuple[str, str], ...] = ()
    restart: RestartPolicy = RestartPolicy.ALWAYS
    image_pull_policy: str | None = None
    command: bool = False  # True: args replace the image's entrypoint (kubectl run --command)
    args: tuple[str, ...] = ()
    dry_run: DryRun = DryRun.NONE
    overrides: str | None = None  # JSON applied to the generated object, as kubectl does
    override_type: OverrideType = OverrideType.MERGE
    privileged: bool = False  # the container's securityContext.privileged
    output: OutputFormat | None = None  # -o yaml|json|name: print the object (the manifest, for dry runs)
    show_managed_fields: bool = False
    notes: tuple[str, ...] = ()  # message keys for flags accepted but without effect


@dataclass(frozen=True)
class CreateFromManifest:
    """``create`` with inline YAML/JSON; ``manifest`` None means "ask for it" (modal)."""

    verb: ClassVar[str] = "create"
    mutates: ClassVar[bool] = True
    manifest: str | None = field(repr=False)  # a registry Secret manifest carries credentials
    where: Where = Where()
    dry_run: DryRun = DryRun.NONE


@dataclass(frozen=True)
class GetPods:
    verb: ClassVar[str] = "get"
    mutates: ClassVar[bool] = False
    names: tuple[str, ...] = ()
    where: Where = Where()
    all_namespaces: bool = False
    label_selector: str | None = None
    field_selector: str | None = None
    output: OutputFormat = OutputFormat.TABLE
    show_managed_fields: bool = False  # -o yaml|json: kubectl hides metadata.managedFields unless asked


@dataclass(frozen=True)
class DescribePod:
    verb: ClassVar[str] = "describe"
    mutates: ClassVar[bool] = False
    name: str
    where: Where = Where()


@dataclass(frozen=True)
class PodLogs:
    verb: ClassVar[str] = "logs"
    mutates: ClassVar[bool] = False
    name: str
    where: Where = Where()
    container: str | None = None
    previous: bool = False
    tail: int | None = None
    since_seconds: int | None = None


@dataclass(frozen=True)
class DeletePod:
    verb: ClassVar[str] = "delete"
    mutates: ClassVar[bool] = True
    name: str
    where: Where = Where()
    grace_period: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class DeleteSecret:
    verb: ClassVar[str] = "delete"
    mutates: ClassVar[bool] = True
    name: str
    where: Where = Where()
    reason: str = ""


@dataclass(frozen=True)
class CreateRegistrySecret:
    """``secret docker-registry``; ``password`` None means "ask for it" (modal, never the channel)."""

    verb: ClassVar[str] = "secret"
    mutates: ClassVar[bool] = True
    name: str
    server: str
    username: str
    password: Secret | None = None
    email: str | None = None
    where: Where = Where()
    dry_run: DryRun = DryRun.NONE
    password_typed: bool = False  # a password came on the command line: not used, the dialog asks


@dataclass(frozen=True)
class ReplaceRegistryLogin:
    """Replace (or add) the login for one registry in an existing registry secret, in place: an
    update, so the pods that name the secret use it at their next pull. ``password`` None means
    "ask for it" (the private dialog, which also asks for the username when it is empty)."""

    verb: ClassVar[str] = "secret"
    mutates: ClassVar[bool] = True
    name: str
    server: str
    username: str = ""
    password: Secret | None = None
    email: str | None = None
    where: Where = Where()
    dry_run: DryRun = DryRun.NONE


@dataclass(frozen=True)
class AttachPullSecret:
    """Add a registry secret to a ServiceAccount's imagePullSecrets: pods created with that account
    from then on present it (existing pods keep the pull secrets they were created with)."""

    verb: ClassVar[str] = "secret"
    mutates: ClassVar[bool] = True
    name: str
    service_account: str = "default"
    where: Where = Where()
    dry_run: DryRun = DryRun.NONE


@dataclass(frozen=True)
class ListStaticPods:
    verb: ClassVar[str] = "static"
    mutates: ClassVar[bool] = False
    where: Where = Where()
    all_namespaces: bool = True
    node: str | None = None


@dataclass(frozen=True)
class ShowHelp:
    verb: ClassVar[str] = "help"
    mutates: ClassVar[bool] = False
    topic: str | None = None


@dataclass(frozen=True)
class ListApprovals:
    verb: ClassVar[str] = "approvals"
    mutates: ClassVar[bool] = False


@dataclass(frozen=True)
class ShowAudit:
    verb: ClassVar[str] = "audit"
    mutates: ClassVar[bool] = False
    user: str | None = None
    since_seconds: int | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class Subscribe:
    """``subscribe health|image-pulls``: exactly one of every_seconds / cron is set."""

    verb: ClassVar[str] = "subscribe"
    mutates: ClassVar[bool] = False
    kind: DigestKind
    every_seconds: int | None = None
    cron: str | None = None
    namespaces: tuple[str, ...] = ()
    context: str | None = None
    timezone: str | None = None  # of the cron expression; None = the channel's display time zone


@dataclass(frozen=True)
class ListSubscriptions:
    verb: ClassVar[str] = "subscriptions"
    mutates: ClassVar[bool] = False


@dataclass(frozen=True)
class Unsubscribe:
    verb: ClassVar[str] = "unsubscribe"
    mutates: ClassVar[bool] = False
    subscription_id: int


@dataclass(frozen=True)
class SetAlerts:
    verb: ClassVar[str] = "alerts"
    mutates: ClassVar[bool] = False
    enabled: bool
    namespaces: tuple[str, ...] = ()
    context: str | None = None


class Decision(Enum):
    APPROVE = "approve"
    DENY = "deny"


@dataclass(frozen=True)
class DecideApproval:
    """An Approve or Deny click on approval request ``approval_id``."""

    verb: ClassVar[str] = "delete"
    mutates: ClassVar[bool] = True
    approval_id: int
    decision: Decision


@dataclass(frozen=True)
class ResumeApproval:
    """The sweeper finishing an approved delete that a crash interrupted."""

    verb: ClassVar[str] = "delete"
    mutates: ClassVar[bool] = True
    approval_id: int


@dataclass(frozen=True)
class PostDigest:
    """Subscription ``subscription_id``'s digest due at ``scheduled`` (its identity for exactly-once)."""

    verb: ClassVar[str] = "subscribe"
    mutates: ClassVar[bool] = False
    subscription_id: int
    scheduled: datetime
    kind: DigestKind
    context: str | None
    namespaces: tuple[str, ...]


@dataclass(frozen=True)
class ReconcileAlerts:
    """One alert cycle of one channel: post, update and resolve its alerts over this scope."""

    verb: ClassVar[str] = "alerts"
    mutates: ClassVar[bool] = False
    context: str | None
    namespaces: tuple[str, ...]
    sweep: bool = False


Request = (
    RunPod
    | CreateFromManifest
    | GetPods
    | DescribePod
    | PodLogs
    | DeletePod
    | DeleteSecret
    | CreateRegistrySecret
    | ReplaceRegistryLogin
    | AttachPullSecret
    | ListStaticPods
    | ShowHelp
    | ListApprovals
    | ShowAudit
    | Subscribe
    | ListSubscriptions
    | Unsubscribe
    | SetAlerts
    | DecideApproval
    | ResumeApproval
    | PostDigest
    | ReconcileAlerts
)


def needs_dialog(request: Request) -> bool:
    """Requests Slack must answer with a modal: a manifest to paste, or a password to type."""
    if isinstance(request, CreateFromManifest):
        return request.manifest is None
    if isinstance(request, CreateRegistrySecret | ReplaceRegistryLogin):
        return request.password is None
    return False
