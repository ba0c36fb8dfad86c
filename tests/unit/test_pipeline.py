"""The one request pipeline and its gate (podbot.app.pipeline, podbot.app.gate) with fakes at every
port: clusters (the fake Kube), people (for identities), approvals and the audit sink. The Kube
handlers are the real ones, so a granted request runs through the action layer on the fake."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any, get_args

import pytest

from podbot.app.audit import AuditTrail
from podbot.app.gate import Gate, Grant
from podbot.app.identity import SlackIdentities
from podbot.app.operations import KubeOperations
from podbot.app.pipeline import REQUESTS, RESULTS, Answer, Handler, Pipeline
from podbot.core.errors import ClusterUnavailable, NotFound, NotPermitted, PodbotError, UsageError
from podbot.core.model import (
    CreateRegistrySecret,
    DecideApproval,
    Decision,
    DeletePod,
    DigestKind,
    Entry,
    GetPods,
    ListApprovals,
    Origin,
    PostDigest,
    Request,
    RunPod,
    Secret,
    SetAlerts,
    ShowHelp,
    Subscribe,
    Where,
)
from podbot.core.records import (
    Approval,
    ApprovalState,
    AuditAction,
    AuditEvent,
    DeleteTarget,
    Intent,
    Requester,
    Schedule,
    Subscription,
)
from podbot.core.results import (
    AlertsChanged,
    ApprovalPosted,
    Changed,
    DialogNeeded,
    HelpText,
    ObjectRef,
    PodTable,
    Result,
    SubscriptionChanged,
)
from podbot.core.settings import ChannelPolicy, IdentitySettings, KubeSettings, OnViolation, Settings
from podbot.k8s.api import Identity
from tests.support.builders import NOW, active_namespace, pod
from tests.support.fakekube import FakeClusters, FakeKube

OPS = Origin("T1", "C0OPS00", "U0ALICE", channel_name="ops")
DEV = Origin("T1", "C0DEV00", "U0ALICE")  # its policy is keyed by #name: the gate looks the name up
ELSEWHERE = Origin("T1", "C0RANDOM", "U0ALICE", channel_name="random")  # no policy names it
SETTINGS = Settings(
    kube=KubeSettings(default_context="prod"),
    channels=(
        ChannelPolicy(channel="C0OPS00"),
        ChannelPolicy(
            channel="#dev",
            contexts=("staging",),
            namespaces=("dev-*",),
            verbs=("get", "run", "subscribe", "alerts"),
            default_context="staging",
            default_namespace="dev-1",
        ),
        ChannelPolicy(channel="#cn", locale="zh_CN"),
    ),
)


class People:
    """The workspace directory, as the identity mapping asks it."""

    def __init__(self, emails: dict[str, str], groups: dict[str, frozenset[str]] | None = None) -> None:
        self.emails, self.groups = emails, groups or {}

    def email_of(self, user_id: str) -> str:
        return self.emails.get(user_id, "")

    def groups_of(self, user_id: str, candidates: Any) -> frozenset[str]:
        return self.groups.get(user_id, frozenset()) & frozenset(candidates)

    def find_user_id(self, name: str) -> str | None:
        return None

    def channel_name(self, channel_id: str) -> str:
        return {"C0DEV00": "dev", "C0CN000": "cn"}.get(channel_id, "")


class MemoryAudit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> AuditEvent:
        self.events.append(event)
        return event


class MemoryIntents:
    """The intent port in memory; ``down`` fails every write like a lost database. ``writes_before``
    is how many cluster writes had been sent when each intent was written."""

    def __init__(self, kube: FakeKube, *, down: bool = False) -> None:
        self.kube = kube
        self.down = down
        self.intents: list[Intent] = []
        self.settled: dict[int, AuditEvent] = {}
        self.writes_before: list[int] = []

    def intend(self, intent: Intent) -> Intent:
        if self.down:
            raise PodbotError("podbot's database is unavailable; try again shortly")
        stored = dataclasses.replace(intent, id=len(self.intents) + 1)
        self.intents.append(stored)
        self.writes_before.append(len(self.kube.writes()))
        return stored

    def pin(self, intent_id: int, uid: str) -> None:
        self.intents[intent_id - 1] = dataclasses.replace(self.intents[intent_id - 1], uid=uid)

    def settle(self, intent_id: int, event: AuditEvent) -> AuditEvent | None:
        if intent_id in self.settled:
            return None
        self.settled[intent_id] = event
        return event

    def close(self, intent_id: int, outcome: str, now: datetime) -> bool:
        return self.settle(intent_id, AuditEvent(at=now, action=AuditAction.RUN, outcome=outcome)) is not None

    def unsettled(self, started_before: datetime, limit: int = 100) -> list[Intent]:
        return [i for i in self.intents if i.id not in self.settled]

    def intent_of(self, approval_id: int) -> Intent | None:
        return None


class Approvals:
    def __init__(self, *approvals: Approval) -> None:
        self.by_id = {a.id: a for a in approvals}

    def get(self, approval_id: int) -> Approval | None:
        return self.by_id.get(approval_id)


class Recorder:
    """A handler that answers ``result`` and remembers what it was given."""

    def __init__(self, result: Result) -> None:
        self.result = result
        self.calls: list[tuple[Any, Grant]] = []

    def __call__(self, request: Any, grant: Grant) -> Result:
        self.calls.append((request, grant))
        return self.result


class World:
    """A pipeline over two fake clusters, with the real Kube handlers (unless told otherwise) and
    the given handlers for the rest."""

    def __init__(
        self,
        settings: Settings = SETTINGS,
        *,
        people: People | None = None,
        approvals: Approvals | None = None,
        handlers: dict[type, Handler] | None = None,
        kube_handlers: bool = True,
        database_down: bool | None = None,
    ) -> None:
        """``database_down`` not None: changes are written down as intents first (up or down)."""
        self.prod, self.staging = FakeKube("prod"), FakeKube("staging", "dev-1")
        self.clusters = FakeClusters(self.prod, self.staging)
        self.audit = MemoryAudit()
        table: dict[type, Handler] = {
            **(KubeOperations(lambda: NOW).handlers() if kube_handlers else {}),
            **(handlers or {}),
        }
        people = people or People({})
        gate = Gate(
            settings, self.clusters, SlackIdentities(settings, people), approvals or Approvals(), people
        )
        self.held = Recorder(HelpText("held for an approver"))
        self.intents = MemoryIntents(self.prod, down=bool(database_down))
        intents = self.intents if database_down is not None else None
        trail = AuditTrail(self.audit, lambda: NOW, intents=intents, owner="replica-1")
        self.pipeline = Pipeline(settings, gate, table, trail, hold=self.held)

    def text(self, text: str, origin: Origin = OPS) -> Answer:
        return self.pipeline.handle_text(text, origin)

    def actions(self) -> list[tuple[AuditAction, str]]:
        return [(e.action, e.outcome) for e in self.audit.events]


def error_of(answer: Answer) -> PodbotError:
    assert answer.error is not None and answer.result is None, answer
    return answer.error


# --- defaults and the handler table --------------------------------------------------------------
def test_a_granted_read_runs_on_the_default_cluster_and_is_private_and_unaudited() -> None:
    world = World()
    world.prod.add(pod("web"))
    answer = world.text("get pods")
    assert isinstance(answer.result, PodTable) and answer.result.context == "prod"
    assert answer.result.rows[0][0] == "web" and not answer.public and answer.locale == "en"
    assert [c.path for c in world.prod.calls] == ["/api/v1/namespaces/default/pods"]
    assert world.staging.calls == [] and world.audit.events == []


def test_the_channel_defaults_fill_in_cluster_and_namespace() -> None:
    world = World()
    world.text("get pods", DEV)
    assert world.prod.calls == [] and world.staging.calls[0].path == "/api/v1/namespaces/dev-1/pods"
    request = world.pipeline.with_defaults(GetPods(all_namespaces=True), OPS)
    assert request == GetPods(where=Where("prod", None), all_namespaces=True)  # -A is not narrowed
    subscribe = world.pipeline.with_defaults(Subscribe(DigestKind.HEALTH, every_seconds=3600), DEV)
    assert (subscribe.context, subscribe.namespaces) == ("staging", ("dev-*",))


def test_requests_are_dispatched_by_type_and_a_type_without_a_handler_is_a_clear_error() -> None:
    listing = Recorder(HelpText("pending: none"))
    world = World(handlers={ListApprovals: listing}, kube_handlers=False)
    answer = world.pipeline.handle(ListApprovals(), OPS)
    assert answer.result == HelpText("pending: none") and [r for r, _ in listing.calls] == [ListApprovals()]
    missing = error_of(world.pipeline.handle(ShowHelp(), OPS))
    assert (
        isinstance(missing, UsageError) and missing.message == "`help` is not available in this deployment."
    )


def test_a_request_that_needs_a_dialog_is_authorized_but_not_run() -> None:
    world = World()
    request = CreateRegistrySecret(name="regcred", server="r.example.com", username="u")
    answer = world.pipeline.handle(request, OPS)
    assert isinstance(answer.result, DialogNeeded) and world.prod.calls == []
    refused = error_of(world.pipeline.handle(request, DEV))
    assert isinstance(refused, NotPermitted) and "`secret`" in refused.message


def test_usage_errors_are_answered_in_the_channels_language() -> None:
    world = World()
    in_cn = Origin("T1", "C0CN000", "U0ALICE")  # #cn, by the name Slack gives for its ID
    english = error_of(world.text("frobnicate"))
    chinese = error_of(world.text("frobnicate", in_cn))
    assert isinstance(english, UsageError) and isinstance(chinese, UsageError)
    assert english.message != chinese.message
    assert world.pipeline.locale(in_cn) == "zh_CN" and world.pipeline.locale(OPS) == "en"


# --- the gate: channel policy, cluster, namespace ------------------------------------------------
@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("logs web", "This channel may not use `logs`. Allowed here: get, run, subscribe, alerts."),
        ("get pods -n prod", "This channel may not touch namespace prod. Allowed here: dev-*."),
        ("get pods -A", "This channel may not look across all namespaces. Allowed here: dev-*."),
        ("get pods --context prod", "This channel may not touch cluster prod. Allowed here: staging."),
        ("subscribe health --every 1h -n kube-system", "This channel may not touch namespace kube-system."),
        ("alerts on -n prod", "This channel may not touch namespace prod."),
    ],
)
def test_the_channel_policy_refuses_before_any_call_and_the_refusal_is_audited(
    text: str, refusal: str
) -> None:
    handler = Recorder(HelpText(""))
    world = World(handlers={Subscribe: handler, SetAlerts: handler})
    refused = error_of(world.text(text, DEV))
    assert isinstance(refused, NotPermitted) and refused.message.startswith(refusal)
    assert world.prod.calls == world.staging.calls == handler.calls == []
    (event,) = world.audit.events
    assert (event.action, event.outcome, event.user_id, event.channel_id) == (
        AuditAction.REFUSED,
        "refused",
        "U0ALICE",
        "C0DEV00",
    )
    assert event.request_text == text and event.detail.endswith(refused.message)


def test_verbs_that_touch_no_cluster_are_checked_too_but_help_is_for_everyone() -> None:
    listing = Recorder(HelpText("pending: none"))
    world = World(handlers={ListApprovals: listing})
    refused = error_of(world.pipeline.handle(ListApprovals(), DEV))
    assert isinstance(refused, NotPermitted) and "`approvals`" in refused.message and listing.calls == []
    assert isinstance(world.text("help", DEV).result, HelpText)


def test_an_unknown_cluster_is_named_with_the_known_ones() -> None:
    world = World()
    missing = error_of(world.text("get pods --context nowhere"))
    assert isinstance(missing, NotFound) and missing.message == (
        "no cluster context named 'nowhere'; known contexts: prod, staging"
    )


def test_turning_alerts_off_needs_no_cluster_turning_them_on_is_granted_the_checked_scope() -> None:
    alerts = Recorder(AlertsChanged(False, "", ()))
    world = World(handlers={SetAlerts: alerts})
    assert isinstance(
        world.pipeline.handle(SetAlerts(enabled=False, context="nowhere"), OPS).result, AlertsChanged
    )
    world.pipeline.handle(SetAlerts(enabled=True), DEV)
    (_, off), (on_request, on) = alerts.calls
    assert off.kube is None
    assert on_request == SetAlerts(enabled=True, namespaces=("dev-*",), context="staging")
    assert on.kube is world.staging and on.namespaces == ("dev-*",)


def test_a_channel_no_policy_names_may_look_but_not_touch() -> None:
    world = World()
    assert isinstance(world.text("get pods", ELSEWHERE).result, PodTable)
    refused = error_of(world.text("run web --image=nginx:1.25", ELSEWHERE))
    assert isinstance(refused, NotPermitted) and "`run`" in refused.message and world.prod.writes() == []


# --- Pod Security of what a create makes ---------------------------------------------------------
HOST_NETWORK = """run web --image=nginx:1.25 --overrides='{"spec":{"hostNetwork":true}}'"""


def test_a_create_that_breaks_the_pod_security_level_is_refused_before_any_call() -> None:
    world = World()
    refused = error_of(world.text(HOST_NETWORK))
    assert isinstance(refused, NotPermitted) and refused.reason == "pod_security"
    assert "hostNetwork=true" in refused.message and world.prod.calls == []
    assert world.actions() == [(AuditAction.REFUSED, "pod_security")]
    protected = error_of(world.text("run web --image=nginx:1.25 -n kube-system"))
    assert "namespace reserved for the cluster itself" in protected.message
    preview = world.text(HOST_NETWORK.replace("run web", "run web --dry-run=server"))
    assert isinstance(preview.result, Changed) and preview.result.violations  # says what a create would meet
    assert all(c.dry_run for c in world.prod.writes()) and world.held.calls == []


def test_a_channel_may_hold_such_a_create_for_an_approver_instead() -> None:
    holding = dataclasses.replace(
        SETTINGS, channels=(ChannelPolicy(channel="C0OPS00", on_violation=OnViolation.APPROVE),)
    )
    world = World(holding)
    assert world.text(HOST_NETWORK).result == HelpText("held for an approver")
    ((request, grant),) = world.held.calls
    assert request.name == "web" and [v.rule for v in grant.violations] == ["host_namespaces"]
    assert world.prod.writes() == []
    assert isinstance(world.text("run ok --image=nginx:1.25").result, Changed)  # within the level: at once


# --- identity ------------------------------------------------------------------------------------
IDENTITY = dataclasses.replace(
    SETTINGS,
    identity=IdentitySettings(enabled=True, users={"U0BOB": "bob"}, groups={"S-SRE": ("sre", "oncall")}),
)


def test_with_identity_on_every_call_is_made_as_the_mapped_user() -> None:
    people = People({"U0ALICE": "alice@example.com"}, {"U0ALICE": frozenset({"S-SRE", "S-OTHER"})})
    world = World(IDENTITY, people=people)
    world.prod.add(pod("web"))
    assert isinstance(world.text("get pods").result, PodTable)
    assert world.text("run nginx --image=nginx:1.25").public
    alice = Identity("alice@example.com", ("sre", "oncall"))
    assert [c.as_user for c in world.prod.calls] == [alice, alice]
    (run,) = world.audit.events
    assert (run.action, run.kube_user, run.kube_groups) == (AuditAction.RUN, alice.user, alice.groups)
    world.text("get pods", dataclasses.replace(OPS, user_id="U0BOB"))
    assert world.prod.calls[-1].as_user == Identity("bob")  # the explicit mapping wins


def test_a_user_podbot_cannot_map_is_refused_never_served_as_the_bot() -> None:
    world = World(IDENTITY, people=People({}))
    refused = error_of(world.text("get pods"))
    assert isinstance(refused, NotPermitted) and "U0ALICE" in refused.message
    assert world.prod.calls == []
    assert world.actions() == [(AuditAction.REFUSED, "refused")]


def test_the_clusters_403_names_who_was_refused_what() -> None:
    people = People({"U0ALICE": "alice@example.com"})
    world = World(IDENTITY, people=people)
    world.prod.forbid("list", "pods", "shop", user="alice@example.com")
    refused = error_of(world.text("get pods -n shop"))
    assert refused.message == "You (alice@example.com) may not list pods in namespace shop."
    assert world.actions() == [(AuditAction.REFUSED, "forbidden")]
    plain = World()
    plain.prod.forbid("create", "pods")
    bot = error_of(plain.text("run web --image=nginx"))
    assert bot.message.startswith(
        "podbot's own Kubernetes account (system:serviceaccount:podbot:podbot) may not create"
    )


# --- audit and who sees the answer ---------------------------------------------------------------
def test_a_change_is_public_and_audited_with_what_changed() -> None:
    world = World()
    world.prod.add(active_namespace("shop"))
    answer = world.text("run web --image=nginx:1.25 -n shop")
    assert answer.public and isinstance(answer.result, Changed)
    (event,) = world.audit.events
    created = world.prod.stored("pods", "web", "shop")
    assert created is not None
    assert (event.action, event.outcome, event.context, event.namespace, event.kind, event.name) == (
        AuditAction.RUN,
        "created",
        "prod",
        "shop",
        "Pod",
        "web",
    )
    assert event.uid == created["metadata"]["uid"] and event.at == NOW


def test_a_dry_run_is_private_and_not_audited() -> None:
    world = World()
    answer = world.text("run web --image=nginx:1.25 --dry-run=server")
    assert isinstance(answer.result, Changed) and answer.result.dry_run and not answer.public
    assert world.audit.events == []


def test_a_change_is_written_down_before_its_api_call_and_settled_by_its_audit_record() -> None:
    world = World(database_down=False)
    answer = world.text("run web --image=nginx:1.25")
    assert isinstance(answer.result, Changed)
    ((intent,),) = (world.intents.intents,)
    assert (intent.action, intent.kind, intent.name, intent.namespace, intent.context) == (
        AuditAction.RUN,
        "Pod",
        "web",
        "default",
        "prod",
    )
    assert intent.owner == "replica-1" and intent.user_id == OPS.user_id and intent.started_at == NOW
    assert world.intents.writes_before == [0] and len(world.prod.writes()) == 1  # before the POST
    assert world.intents.settled[1].outcome == "created" and world.audit.events == []  # one record
    # Reads, previews and dialogs touch nothing: no intent.
    world.text("get pods")
    world.text("run web2 --image=nginx:1.25 --dry-run=server")
    assert isinstance(world.text("create").result, DialogNeeded)
    assert len(world.intents.intents) == 1


def test_without_the_intent_nothing_touches_the_cluster_and_the_user_is_told() -> None:
    world = World(database_down=True)
    error = error_of(world.text("run web --image=nginx:1.25"))
    assert error.message.startswith("podbot's database is unavailable, so nothing was changed")
    assert world.prod.writes() == [] and world.audit.events == []


def test_a_change_whose_answer_was_lost_keeps_its_intent_open_for_recovery() -> None:
    def lost_answer(request: Any, grant: Grant) -> Result:
        raise ClusterUnavailable("cluster 'prod' is unavailable: read timed out")

    world = World(database_down=False, handlers={RunPod: lost_answer})
    error_of(world.text("run web --image=nginx:1.25"))
    assert world.actions() == [(AuditAction.RUN, "unavailable")]
    assert [i.name for i in world.intents.unsettled(NOW)] == ["web"]  # the cluster will tell


def test_a_failed_change_is_audited_with_its_outcome_a_failed_read_is_not() -> None:
    world = World()
    world.prod.add(pod("web", owner=None))
    failed = error_of(world.text("run web --image=nginx:1.25"))
    assert 'pods "web" already exists' in failed.message
    (event,) = world.audit.events
    assert (event.action, event.outcome, event.name, event.kind) == (AuditAction.RUN, "error", "web", "Pod")
    assert event.detail == f"run: {failed.message}"
    error_of(world.text("describe pod ghost"))
    assert len(world.audit.events) == 1


def test_a_password_typed_in_the_command_is_not_used_and_never_audited() -> None:
    world = World()
    typed = world.text(
        "secret docker-registry regcred --docker-server=r.example.com --docker-username=u "
        "--docker-password=hunter2"
    )
    assert isinstance(typed.result, DialogNeeded) and not typed.public  # the private dialog asks again
    assert typed.result.request.password is None and world.prod.calls == []
    submitted = dataclasses.replace(typed.result.request, password=Secret("hunter2"))
    answer = world.pipeline.handle(submitted, dataclasses.replace(OPS, entry=Entry.DIALOG))
    assert isinstance(answer.result, Changed) and answer.public
    (event,) = world.audit.events
    assert event.action is AuditAction.SECRET_CREATE and "hunter2" not in repr(event)


REQUEST = Approval(
    id=7,
    state=ApprovalState.PENDING,
    created_at=NOW,
    expires_at=NOW + timedelta(hours=1),
    requester=Requester("T1", "C0OPS00", "U0ALICE"),
    target=DeleteTarget("prod", "Pod", "shop", "web", "uid-1"),
)


def test_a_delete_request_posted_for_approval_is_audited_as_requested() -> None:
    deletes = Recorder(ApprovalPosted(REQUEST, None))
    world = World(handlers={DeletePod: deletes})
    answer = world.text("delete pod web -n shop")
    assert isinstance(answer.result, ApprovalPosted) and not answer.public  # the flow posts it itself
    (event,) = world.audit.events
    assert (event.action, event.outcome, event.approval_id, event.uid) == (
        AuditAction.DELETE_REQUEST,
        "pending",
        7,
        "uid-1",
    )
    ((request, grant),) = deletes.calls
    assert request == DeletePod("web", Where("prod", "shop")) and grant.cluster is world.prod


def test_subscription_changes_are_public_and_audited() -> None:
    subscription = Subscription(
        id=3,
        team_id="T1",
        channel_id="C0OPS00",
        kind=DigestKind.HEALTH,
        schedule=Schedule(every_seconds=3600),
        namespaces=("shop",),
        context="prod",
        created_by="U0ALICE",
        created_at=NOW,
    )
    world = World(handlers={Subscribe: Recorder(SubscriptionChanged(subscription, NOW))})
    answer = world.text("subscribe health --every 1h -n shop")
    assert answer.public
    (event,) = world.audit.events
    assert (event.action, event.kind, event.name, event.namespace) == (
        AuditAction.SUBSCRIBE,
        "Subscription",
        "#3",
        "shop",
    )


# --- clicks on approval requests -----------------------------------------------------------------
CLICK = dataclasses.replace(OPS, user_id="U0BOB", entry=Entry.BUTTON)


def test_a_click_is_granted_the_requests_cluster_and_the_approvers_identity() -> None:
    decisions = Recorder(Changed("deleted", "prod", (ObjectRef("Pod", "shop", "web"),)))
    world = World(
        IDENTITY,
        people=People({"U0BOB": "bob@example.com"}),
        approvals=Approvals(REQUEST),
        handlers={DecideApproval: decisions},
    )
    world.pipeline.handle(DecideApproval(7, Decision.APPROVE), CLICK)
    ((_, grant),) = decisions.calls
    assert grant.approval == REQUEST and grant.kube is world.prod and grant.identity == Identity("bob")


def test_a_click_on_an_unknown_request_or_from_a_channel_that_may_not_delete_is_refused() -> None:
    decisions = Recorder(HelpText(""))
    world = World(approvals=Approvals(REQUEST), handlers={DecideApproval: decisions})
    unknown = error_of(world.pipeline.handle(DecideApproval(99, Decision.APPROVE), CLICK))
    assert isinstance(unknown, NotFound) and world.audit.events == []
    from_dev = dataclasses.replace(DEV, entry=Entry.BUTTON)
    refused = error_of(world.pipeline.handle(DecideApproval(7, Decision.DENY), from_dev))
    assert isinstance(refused, NotPermitted) and decisions.calls == []
    (event,) = world.audit.events
    assert (event.action, event.approval_id, event.detail) == (
        AuditAction.REFUSED_CLICK,
        7,
        "deny click refused",
    )


def test_an_approver_podbot_cannot_map_may_not_approve_but_may_deny() -> None:
    world = World(IDENTITY, approvals=Approvals(REQUEST), handlers={DecideApproval: Recorder(HelpText("ok"))})
    carol = dataclasses.replace(CLICK, user_id="U0CAROL")  # no mapping, no email
    unmapped = error_of(world.pipeline.handle(DecideApproval(7, Decision.APPROVE), carol))
    assert isinstance(unmapped, NotPermitted) and unmapped.reason == "unmapped"
    assert world.pipeline.handle(DecideApproval(7, Decision.DENY), carol).result == HelpText("ok")


def test_a_click_counts_only_on_the_requests_own_message() -> None:
    posted = dataclasses.replace(REQUEST, message_channel="C0OPS00", message_ts="1700000000.000100")
    decisions = Recorder(HelpText("decided"))
    world = World(approvals=Approvals(posted), handlers={DecideApproval: decisions})
    copied = dataclasses.replace(CLICK, message_ts="1700000099.000900")  # the button pasted elsewhere
    refused = error_of(world.pipeline.handle(DecideApproval(7, Decision.APPROVE), copied))
    assert isinstance(refused, NotPermitted) and refused.reason == "elsewhere" and decisions.calls == []
    own = dataclasses.replace(CLICK, message_ts="1700000000.000100")
    assert world.pipeline.handle(DecideApproval(7, Decision.APPROVE), own).result == HelpText("decided")


# --- digests and alerts with per-user identity: what the subscriber may see ------------------------
def test_a_subscription_needs_the_subscriber_to_be_allowed_to_list_pods_there() -> None:
    people = People({"U0ALICE": "alice@example.com"})
    subscribe = Recorder(HelpText("subscribed"))
    world = World(IDENTITY, people=people, handlers={Subscribe: subscribe, PostDigest: subscribe})
    world.prod.forbid("list", "pods", "secret-ns", user="alice@example.com")
    refused = error_of(world.text("subscribe health --every 1h -n shop -n secret-ns"))
    assert isinstance(refused, NotPermitted) and refused.reason == "forbidden"
    assert "secret-ns" in refused.message and "shop" not in refused.message
    reviews = [c for c in world.prod.calls if c.path.endswith("/selfsubjectaccessreviews")]
    assert [c.as_user for c in reviews] == [Identity("alice@example.com")] * 2
    # A scheduled digest over the same scope shows what the subscriber may still see.
    due = PostDigest(1, NOW, DigestKind.HEALTH, "prod", ("shop", "secret-ns"))
    assert world.pipeline.handle(due, dataclasses.replace(OPS, entry=Entry.SCHEDULE)).result == HelpText(
        "subscribed"
    )
    ((_, grant),) = subscribe.calls
    assert grant.namespaces == ("shop",) and grant.identity == Identity("alice@example.com")


# --- bugs ----------------------------------------------------------------------------------------
def test_a_bug_in_a_handler_becomes_an_apology_with_an_error_id(caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: Any, grant: Grant) -> Result:
        raise KeyError("boom")

    world = World(handlers={GetPods: broken})
    with caplog.at_level(logging.ERROR, logger="podbot.app.pipeline"):
        answer = world.text("get pods")
    assert answer.result is None and answer.error is None and len(answer.error_id) == 8
    assert answer.error_id in caplog.text and "KeyError" in caplog.text


def test_the_gate_has_a_rule_for_every_request_type() -> None:
    rules = World().pipeline._gate._rules
    assert set(rules) == set(get_args(Request))


def test_the_audit_has_a_row_for_every_request_type() -> None:
    assert set(REQUESTS) == set(get_args(Request))
    assert set(World().pipeline._handlers) <= set(REQUESTS)  # every type a handler is given for
    for request_type, audited in REQUESTS.items():
        fields = {f.name for f in dataclasses.fields(request_type)}
        # The row's kind is what the request's name names: one without the other is a wrong row.
        assert bool(audited.kind) == ("name" in fields), request_type
        # A request that changes the cluster is audited as a change, or as the click it is.
        assert request_type.mutates == (audited.change is not None or audited.click is not None), request_type
        assert audited.failed is None or audited.change is not None, request_type


def test_the_pipeline_has_a_row_for_every_result_type() -> None:
    assert set(RESULTS) == set(get_args(Result))
