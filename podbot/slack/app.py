"""The slack-bolt app: thin listeners that turn what Slack sent into a typed request and an
``Origin``, acknowledge at once, and hand the request to the pipeline on the worker pool.

    slash command | dialog submission | button click -> request -> ack -> pipeline -> answer
    message_metadata_posted (one of our posts reached Slack) -> ack -> the post ledger

Slack gives 3 s to acknowledge and 3 s to use a trigger_id: parsing (pure, microseconds) happens
before the ack; a request that needs a modal is authorized by the pipeline like any other and the
modal opened right after the ack. Nothing here decides what may run: that is the gate's job.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from podbot import metrics
from podbot.app.pipeline import Answer, Pipeline
from podbot.core.errors import PodbotError, UsageError
from podbot.core.i18n import t
from podbot.core.manifests import load_manifests
from podbot.core.model import (
    CreateFromManifest,
    CreateRegistrySecret,
    DecideApproval,
    Decision,
    DryRun,
    Entry,
    Origin,
    ReplaceRegistryLogin,
    Request,
    Where,
    needs_dialog,
)
from podbot.core.results import DialogNeeded
from podbot.render import views
from podbot.render.approvals import APPROVE_ACTION, DENY_ACTION
from podbot.render.blocks import FIX_ATTACH_ACTION, FIX_LOGIN_ACTION, FIX_SECRET_ACTION, render_error
from podbot.slack.delivery import Replies

log = logging.getLogger(__name__)

SLASH_COMMAND = "/pod"
MAX_DOWNLOAD = (
    256 * 1024
)  # a manifest file bigger than this is refused (the API server's own limit is ~1.5 MiB)


def origin_of(body: dict[str, Any], entry: Entry) -> Origin:
    """Who sent a command or interaction payload, from where (Slack's identifiers).

    A slash command names its user and channel at the top level; an interaction payload only in
    ``user`` and ``channel``/``container``, and only those count (a top-level ``user_id`` in an
    interaction is not Slack's and must not choose who clicked)."""
    user = body.get("user") or {}
    channel = body.get("channel") or {}
    team = body.get("team") or {}
    container = body.get("container") or {}
    if entry is Entry.SLASH:
        user_id, channel_id = body.get("user_id"), body.get("channel_id")
    else:
        user_id, channel_id = user.get("id"), channel.get("id") or container.get("channel_id")
    return Origin(
        team_id=str(body.get("team_id") or team.get("id") or user.get("team_id") or ""),
        channel_id=str(channel_id or ""),
        user_id=str(user_id or ""),
        entry=entry,
        channel_name=str(body.get("channel_name") or channel.get("name") or ""),
        user_name=str(body.get("user_name") or user.get("username") or user.get("name") or ""),
        message_ts=str(container.get("message_ts") or ""),
    )


PostSeen = Callable[[str, str, str], None]  # (ledger key, channel, message ts)


class Listeners:
    """Everything the listeners need, built once by the runtime."""

    def __init__(
        self,
        pipeline: Pipeline,
        replies: Replies,
        client: WebClient,
        bot_token: str,
        *,
        post_seen: PostSeen | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.replies = replies
        self.client = client
        self._bot_token = bot_token
        self._post_seen = post_seen

    def register(self, app: App) -> None:
        app.command(SLASH_COMMAND)(self.on_command)
        app.view(views.SECRET_CALLBACK)(self.on_secret_submitted)
        app.view(views.CREATE_CALLBACK)(self.on_create_submitted)
        app.action(FIX_SECRET_ACTION)(self.on_fix_secret)
        app.view(views.LOGIN_CALLBACK)(self.on_login_submitted)
        app.action(FIX_LOGIN_ACTION)(self.on_fix_login)
        app.action(FIX_ATTACH_ACTION)(self.on_fix_attach)
        app.action(APPROVE_ACTION)(self._decision(Decision.APPROVE))
        app.action(DENY_ACTION)(self._decision(Decision.DENY))
        app.event("message_metadata_posted")(self.on_metadata_posted)

    def on_metadata_posted(self, ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Slack stored one of our metadata-tagged posts: record its ts under the key it carries, so
        a post whose answer was lost (5xx, timeout, a crash) is settled without posting again.

        Recorded *before* the ack: if the store cannot take it (the database is down), the event is
        answered 500 (``EventNotRecorded``) and Slack delivers it again (at once, after 1 and 5
        minutes), instead of the ts being lost and the post made twice after the grace."""
        metadata = event.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        key, channel, ts = payload.get("key"), event.get("channel_id"), event.get("message_ts")
        # Only our own app's posts (a "*" metadata subscription would bring other apps' too).
        kind = str(metadata.get("event_type", ""))
        ours = event.get("app_id") == body.get("api_app_id") and kind.startswith("podbot_")
        if ours and isinstance(key, str) and key and ts and self._post_seen is not None:
            try:
                self._post_seen(key, str(channel or ""), str(ts))
            except PodbotError as exc:
                raise EventNotRecorded(f"post {key} not recorded: {exc.message}") from exc
        ack()

    # --- slash command -----------------------------------------------------------------------------
    def on_command(self, ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        origin = origin_of(body, Entry.SLASH)
        text = str(body.get("text") or "")
        try:
            request = self.pipeline.parse(text, origin)
        except UsageError as exc:
            metrics.COMMANDS.labels(verb="unknown", outcome="usage").inc()
            locale = self.pipeline.locale(origin)
            error = render_error(str(exc), locale)
            if error.upload is None and not context.get(FRONT_ACKED):
                ack(response_type="ephemeral", text=error.text, blocks=error.blocks)
            else:  # too long for an ack, or Slack has had its ack from the front: the response_url
                ack()
                self.replies.deliver(Answer(locale, error=exc), origin, respond)
            return
        if needs_dialog(request):
            ack()
            self.open_dialog(request, origin, str(body.get("trigger_id", "")), respond)
            return
        # Hand the work over before acking, so "nothing in flight" really means "answered".
        self.replies.run_in_background(
            origin, respond, lambda: self.pipeline.handle(request, origin, text=text)
        )
        ack()

    # --- dialogs ------------------------------------------------------------------------------------
    def open_dialog(self, request: Request, origin: Origin, trigger_id: str, respond: Respond | None) -> None:
        """Authorize the request, then open its modal (within the trigger_id's 3 s)."""
        answer = self.pipeline.handle(request, origin)
        if not isinstance(answer.result, DialogNeeded):
            self.replies.deliver(answer, origin, respond)
            return
        wanted = answer.result.request
        if isinstance(wanted, CreateRegistrySecret) and wanted.password_typed and respond is not None:
            notice = t("views.password_not_used", answer.locale)
            respond(response_type="ephemeral", text=notice)
        where = wanted.where
        state = views.DialogState(
            origin.channel_id,
            origin.user_id,
            context=where.context,
            namespace=where.namespace,
            dry_run=wanted.dry_run is not DryRun.NONE,
        )
        if isinstance(wanted, ReplaceRegistryLogin):
            state = dataclasses.replace(state, secret=wanted.name, server=wanted.server)
            view = views.login_modal(state, answer.locale, username=wanted.username, email=wanted.email or "")
        elif isinstance(wanted, CreateRegistrySecret):
            view = views.secret_modal(
                state,
                answer.locale,
                name=wanted.name,
                server=wanted.server,
                username=wanted.username,
                email=wanted.email or "",
            )
        else:
            view = views.create_modal(state, answer.locale)
        try:
            self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            metrics.SLACK_ERRORS.labels(method="views.open", error=error).inc()
            log.warning("Slack refused views.open: %s", error)
            if respond is not None:
                respond(response_type="ephemeral", text=t("app.modal_failed", answer.locale, error=error))

    def on_fix_secret(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        origin = origin_of(body, Entry.BUTTON)
        value = json.loads(((body.get("actions") or [{}])[0]).get("value") or "{}")
        request = CreateRegistrySecret(
            name=str(value.get("name", "")),
            server=str(value.get("server", "")),
            username="",
            where=Where(context=value.get("context"), namespace=value.get("namespace")),
        )
        self.open_dialog(request, origin, str(body.get("trigger_id", "")), respond)

    def on_secret_submitted(self, ack: Ack, body: dict[str, Any]) -> None:
        state, fields = views.read_secret(body.get("view") or {})
        origin = _dialog_origin(body, state)
        locale = self.pipeline.locale(origin)
        missing = {
            k: t("views.field_required", locale)
            for k in ("name", "server", "username", "password")
            if not fields[k]
        }
        if missing:
            ack(response_action="errors", errors=missing)
            return
        request = views.secret_request(state, fields)
        # The audited text names the server and user, never the password.
        text = (
            f"secret docker-registry {request.name} --docker-server={request.server} "
            f"--docker-username={request.username}"
        )
        self.replies.run_in_background(origin, None, lambda: self.pipeline.handle(request, origin, text=text))
        ack()

    def on_fix_login(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """The "replace the login" button: the same gate, then the private dialog for that secret."""
        ack()
        origin = origin_of(body, Entry.BUTTON)
        value = json.loads(((body.get("actions") or [{}])[0]).get("value") or "{}")
        request = ReplaceRegistryLogin(
            name=str(value.get("name", "")),
            server=str(value.get("server", "")),
            where=Where(context=value.get("context"), namespace=value.get("namespace")),
        )
        self.open_dialog(request, origin, str(body.get("trigger_id", "")), respond)

    def on_login_submitted(self, ack: Ack, body: dict[str, Any]) -> None:
        state, fields = views.read_login(body.get("view") or {})
        origin = _dialog_origin(body, state)
        locale = self.pipeline.locale(origin)
        missing = {k: t("views.field_required", locale) for k in ("username", "password") if not fields[k]}
        if missing:
            ack(response_action="errors", errors=missing)
            return
        request = views.login_request(state, fields)
        # The audited text names the secret, the server and the user, never the password.
        text = (
            f"secret docker-registry {request.name} --docker-server={request.server} --replace "
            f"--docker-username={request.username}"
        )
        self.replies.run_in_background(origin, None, lambda: self.pipeline.handle(request, origin, text=text))
        ack()

    def on_fix_attach(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """The "attach" button (Slack asked for confirmation first): a change like the command."""
        ack()
        origin = origin_of(body, Entry.BUTTON)
        request = views.attach_request(str(((body.get("actions") or [{}])[0]).get("value") or ""))
        text = f"secret attach {request.name} --service-account={request.service_account}"
        if request.where.namespace:
            text += f" -n {request.where.namespace}"
        self.replies.run_in_background(
            origin, respond, lambda: self.pipeline.handle(request, origin, text=text)
        )

    def on_create_submitted(self, ack: Ack, body: dict[str, Any]) -> None:
        submission = views.read_create(body.get("view") or {})
        origin = _dialog_origin(body, submission.state)
        locale = self.pipeline.locale(origin)
        text = submission.text
        if text and submission.file_urls:
            ack(response_action="errors", errors={views.MANIFEST_BLOCK: t("views.manifest_both", locale)})
            return
        if submission.file_urls:
            try:
                text = self._download(submission.file_urls[0])
            except OSError as exc:
                error = t("views.file_unreadable", locale, error=type(exc).__name__)
                ack(response_action="errors", errors={views.FILE_BLOCK: error})
                return
        if not text.strip():
            ack(response_action="errors", errors={views.MANIFEST_BLOCK: t("views.manifest_missing", locale)})
            return
        try:
            load_manifests(text, locale=locale)  # bad YAML, kinds, duplicates: say so in the modal
        except UsageError as exc:
            block = views.FILE_BLOCK if submission.file_urls else views.MANIFEST_BLOCK
            ack(response_action="errors", errors={block: str(exc)[:1900]})
            return
        state = submission.state
        request = CreateFromManifest(
            manifest=text,
            where=Where(context=state.context, namespace=state.namespace),
            dry_run=DryRun.SERVER if state.dry_run else DryRun.NONE,
        )
        self.replies.run_in_background(
            origin, None, lambda: self.pipeline.handle(request, origin, text="create (dialog)")
        )
        ack()

    def _download(self, url: str) -> str:
        """A file from a file_input, fetched with the bot token (url_private needs it)."""
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._bot_token}"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - Slack's own file URL
            data: bytes = response.read(MAX_DOWNLOAD + 1)
        return data.decode("utf-8", errors="replace")

    # --- approval buttons ---------------------------------------------------------------------------
    def _decision(self, decision: Decision) -> Callable[..., None]:
        def on_click(ack: Ack, body: dict[str, Any]) -> None:
            ack()
            clicker = origin_of(body, Entry.BUTTON)
            action = (body.get("actions") or [{}])[0]
            try:
                approval_id = int(str(action.get("value") or ""))
            except ValueError:
                log.warning("approval button with a bad value from %s", clicker.user_id)
                return
            request = DecideApproval(approval_id, decision)
            # The answer to a click is private to the clicker; the request message shows the outcome.
            self.replies.run_in_background(clicker, None, lambda: self._private(request, clicker))

        return on_click

    def _private(self, request: Request, origin: Origin) -> Answer:
        answer = self.pipeline.handle(request, origin)
        return Answer(answer.locale, answer.result, answer.error, answer.error_id, public=False)


def _dialog_origin(body: dict[str, Any], state: views.DialogState) -> Origin:
    """A modal submission names its user; the channel is the one the modal was opened from."""
    user = body.get("user") or {}
    team = body.get("team") or {}
    return Origin(
        team_id=str(team.get("id") or user.get("team_id") or ""),
        channel_id=state.channel_id,
        user_id=str(user.get("id") or state.user_id),
        entry=Entry.DIALOG,
        user_name=str(user.get("username") or ""),
    )


def build_app(
    listeners: Listeners,
    client: WebClient,
    *,
    signing_secret: str,
    token_verification: bool = True,
    listener_threads: int = 8,
) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=token_verification,
        listener_executor=ThreadPoolExecutor(max_workers=listener_threads, thread_name_prefix="podbot-bolt"),
        raise_error_for_unhandled_request=False,
        # The one event podbot subscribes to, message_metadata_posted, is about its own posts:
        # bolt's default would drop it as a "self event" (it subscribes to no message events).
        ignoring_self_events_enabled=False,
        # Answer as soon as the listener returns (it acks first and hands slow work to the pool)
        # instead of bolt polling every 10 ms for the ack from its own executor.
        process_before_response=True,
    )
    app.middleware(_front_acked)
    listeners.register(app)
    app.error(_on_listener_error)
    return app


FRONT_ACKED = "podbot_front_acked"
"""Context key: the ack front (server/front.py) has answered Slack already, so anything meant for
the ack must go by the response_url. web.PodbotWsgi drops the header unless the front is there."""


def _front_acked(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
    req.context[FRONT_ACKED] = (req.headers.get("x-podbot-acked") or [""])[0] == "1"
    return next()


class EventNotRecorded(Exception):
    """An event podbot must not acknowledge yet: Slack will deliver it again."""


def _on_listener_error(error: Exception) -> None:
    """bolt answers 500 for a listener that raised; say why in one line when it was on purpose."""
    if isinstance(error, EventNotRecorded):
        log.warning("%s; Slack will deliver the event again", error)
    else:
        log.error("unexpected error in a Slack listener", exc_info=error)
