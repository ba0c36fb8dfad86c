"""The slack-bolt app: thin listeners that acknowledge at once and hand the work to the pool.

    ack -> parse -> (modal | pool: policy -> action -> render -> respond)

Slack gives 3 s to acknowledge and 3 s to use a trigger_id, so parsing (pure, microseconds) and
opening modals happen before the ack returns; anything that calls Kubernetes runs on the
``WorkPool``. Answers go through ``respond`` (response_url) or chat.postMessage.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from podbot import metrics
from podbot.app.pipeline import Asker, Podbot, Reply, needs_modal
from podbot.core.errors import PodbotError, UsageError
from podbot.core.i18n import t
from podbot.core.manifests import load_manifests
from podbot.core.model import CreateFromManifest, CreateRegistrySecret, DryRun, Request, Where
from podbot.render import views
from podbot.render.blocks import FIX_SECRET_ACTION, Rendered, render_error
from podbot.slack.work import WorkPool

log = logging.getLogger(__name__)

PROGRESS_AFTER_SECONDS = 1.5  # show "working…" only when the answer is not there by then
SLASH_COMMAND = "/pod"

# Extra listeners (approvals, subscriptions) register themselves through these hooks.
Registrar = Callable[[App, "SlackBot"], None]


@dataclass
class SlackBot:
    """Everything the listeners need, built once by the runtime."""

    bot: Podbot
    pool: WorkPool
    client: WebClient
    bot_token: str
    registrars: list[Registrar] = field(default_factory=list)

    # --- delivery ----------------------------------------------------------------------------
    def deliver(self, reply: Reply, asker: Asker, respond: Respond | None, *, replace: bool = False) -> None:
        """Send a reply: through ``respond`` when we have one, else chat.postMessage/postEphemeral."""
        rendered = reply.rendered
        if rendered.upload is not None:
            self._upload(rendered, asker, public=reply.public)
        kwargs: dict[str, Any] = {"text": rendered.text, "blocks": rendered.blocks}
        try:
            if respond is not None:
                respond(
                    response_type="in_channel" if reply.public else "ephemeral",
                    replace_original=replace,
                    **kwargs,
                )
            elif reply.public:
                self.client.chat_postMessage(channel=asker.channel_id, **kwargs)
            else:
                self.client.chat_postEphemeral(channel=asker.channel_id, user=asker.user_id, **kwargs)
        except SlackApiError as exc:
            self._slack_failed("deliver", exc)
        except Exception:  # response_url failures must not kill the worker
            log.exception("could not deliver a reply to %s in %s", asker.user_id, asker.channel_id)

    def _upload(self, rendered: Rendered, asker: Asker, *, public: bool) -> None:
        """Big output as a file: in the channel for public answers, else in a DM with the asker."""
        upload = rendered.upload
        assert upload is not None
        try:
            channel = asker.channel_id
            if not public:
                channel = self.client.conversations_open(users=asker.user_id)["channel"]["id"]
            self.client.files_upload_v2(
                channel=channel,
                content=upload.content,
                filename=upload.filename,
                title=upload.title,
                initial_comment=rendered.text[:1000],
            )
        except SlackApiError as exc:
            self._slack_failed("files.upload", exc)

    @staticmethod
    def _slack_failed(what: str, exc: SlackApiError) -> None:
        error = str(exc.response.get("error", "unknown"))
        metrics.SLACK_ERRORS.labels(method=what, error=error).inc()
        log.warning("Slack refused %s: %s", what, error)

    def run_in_background(self, asker: Asker, respond: Respond | None, work: Callable[[], Reply]) -> None:
        """Do ``work`` on the pool; post "working…" if it is slow, then the answer."""
        progress_shown = threading.Event()
        done = threading.Event()
        locale = self.bot.locale(asker)

        def show_progress() -> None:
            if respond is not None and not done.is_set():
                progress_shown.set()
                try:
                    respond(response_type="ephemeral", text=t("app.working", locale))
                except Exception:  # progress is best effort
                    log.debug("could not post the progress message", exc_info=True)

        def job() -> None:
            timer = threading.Timer(PROGRESS_AFTER_SECONDS, show_progress)
            timer.daemon = True
            timer.start()
            try:
                reply = work()
            except PodbotError as exc:
                reply = Reply(render_error(str(exc), locale))
            except Exception:  # noqa: BLE001 - the last line of defence
                reply = self.bot.apologise(asker, "background job")
            finally:
                done.set()
                timer.cancel()
            if progress_shown.is_set() and respond is not None and reply.public:
                try:  # the ephemeral "working…" cannot become a channel message: remove it
                    respond(delete_original=True)
                except Exception:  # best effort
                    log.debug("could not remove the progress message", exc_info=True)
                self.deliver(reply, asker, respond)
            else:
                self.deliver(reply, asker, respond, replace=progress_shown.is_set())

        try:
            self.pool.submit(job)
        except RuntimeError:
            self.deliver(Reply(render_error(t("app.shutting_down", locale), locale)), asker, respond)

    # --- file inputs -------------------------------------------------------------------------
    def download(self, url: str, limit: int = 256 * 1024 + 1) -> str:
        """A file from a file_input, fetched with the bot token (url_private needs it)."""
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.bot_token}"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - Slack's own file URL
            data: bytes = response.read(limit)
        return data.decode("utf-8", errors="replace")


def asker_from(body: dict[str, Any]) -> Asker:
    """The Slack identity of a command or interaction payload."""
    user = body.get("user") or {}
    channel = body.get("channel") or {}
    team = body.get("team") or {}
    return Asker(
        team_id=str(body.get("team_id") or team.get("id") or ""),
        channel_id=str(body.get("channel_id") or channel.get("id") or ""),
        user_id=str(body.get("user_id") or user.get("id") or ""),
        channel_name=str(body.get("channel_name") or channel.get("name") or ""),
        user_name=str(body.get("user_name") or user.get("username") or user.get("name") or ""),
    )


def build_app(
    slack: SlackBot, *, signing_secret: str, token_verification: bool = True, listener_threads: int = 8
) -> App:
    app = App(
        client=slack.client,
        signing_secret=signing_secret,
        token_verification_enabled=token_verification,
        listener_executor=ThreadPoolExecutor(max_workers=listener_threads, thread_name_prefix="podbot-bolt"),
        raise_error_for_unhandled_request=False,
    )
    register_commands(app, slack)
    register_modals(app, slack)
    for registrar in slack.registrars:
        registrar(app, slack)
    return app


def register_commands(app: App, slack: SlackBot) -> None:
    bot = slack.bot

    @app.command(SLASH_COMMAND)
    def on_pod(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        asker = asker_from(body)
        text = str(body.get("text") or "")
        locale = bot.locale(asker)
        try:
            request = bot.parse(text, asker)
        except UsageError as exc:
            metrics.COMMANDS.labels(verb="unknown", outcome="usage").inc()
            error = render_error(str(exc), locale)
            ack(response_type="ephemeral", text=error.text, blocks=error.blocks)
            return
        if needs_modal(request):
            ack()
            open_modal_for(slack, request, asker, str(body.get("trigger_id", "")), respond)
            return
        # Hand the work over before acking, so "nothing in flight" really means "answered".
        slack.run_in_background(asker, respond, lambda: bot.answer(request, asker, text))
        ack()


def open_modal_for(
    slack: SlackBot, request: Request, asker: Asker, trigger_id: str, respond: Respond | None
) -> None:
    """Open the manifest or password modal (must happen within the trigger_id's 3 s)."""
    locale = slack.bot.locale(asker)
    where = getattr(request, "where", None)
    origin = views.Origin(
        asker.channel_id,
        asker.user_id,
        context=getattr(where, "context", None),
        namespace=getattr(where, "namespace", None),
        dry_run=getattr(request, "dry_run", DryRun.NONE) is not DryRun.NONE,
    )
    if isinstance(request, CreateRegistrySecret):
        view = views.secret_modal(
            origin,
            locale,
            name=request.name,
            server=request.server,
            username=request.username,
            email=request.email or "",
        )
    else:
        view = views.create_modal(origin, locale)
    try:
        slack.client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        slack._slack_failed("views.open", exc)
        if respond is not None:
            respond(
                response_type="ephemeral",
                text=t("app.modal_failed", locale, error=str(exc.response.get("error", ""))),
            )


def register_modals(app: App, slack: SlackBot) -> None:
    bot = slack.bot

    @app.action(FIX_SECRET_ACTION)
    def on_fix_secret(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        asker = asker_from(body)
        value = json.loads(((body.get("actions") or [{}])[0]).get("value") or "{}")
        origin = views.Origin(
            asker.channel_id, asker.user_id, context=value.get("context"), namespace=value.get("namespace")
        )
        view = views.secret_modal(
            origin, bot.locale(asker), name=str(value.get("name", "")), server=str(value.get("server", ""))
        )
        try:
            slack.client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
        except SlackApiError as exc:
            slack._slack_failed("views.open", exc)

    @app.view(views.SECRET_CALLBACK)
    def on_secret_submitted(ack: Ack, body: dict[str, Any]) -> None:
        origin, fields = views.read_secret(body.get("view") or {})
        asker = _origin_asker(body, origin)
        locale = bot.locale(asker)
        missing = {
            k: t("views.field_required", locale)
            for k in ("name", "server", "username", "password")
            if not fields[k]
        }
        if missing:
            ack(response_action="errors", errors=missing)
            return
        request = views.secret_request(origin, fields)
        slack.run_in_background(asker, None, lambda: bot.run_secret_form(request, asker))
        ack()

    @app.view(views.CREATE_CALLBACK)
    def on_create_submitted(ack: Ack, body: dict[str, Any]) -> None:
        submission = views.read_create(body.get("view") or {})
        asker = _origin_asker(body, submission.origin)
        locale = bot.locale(asker)
        text = submission.text
        if text and submission.file_urls:
            ack(response_action="errors", errors={views.MANIFEST_BLOCK: t("views.manifest_both", locale)})
            return
        if submission.file_urls:
            try:
                text = slack.download(submission.file_urls[0])
            except OSError as exc:
                ack(
                    response_action="errors",
                    errors={views.FILE_BLOCK: t("views.file_unreadable", locale, error=type(exc).__name__)},
                )
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
        origin = submission.origin
        request = CreateFromManifest(
            manifest=text,
            where=Where(context=origin.context, namespace=origin.namespace),
            dry_run=DryRun.SERVER if origin.dry_run else DryRun.NONE,
        )
        slack.run_in_background(
            asker, None, lambda: bot.answer(bot.with_defaults(request, asker), asker, "create (dialog)")
        )
        ack()


def _origin_asker(body: dict[str, Any], origin: views.Origin) -> Asker:
    """A modal submission names its user, but the channel comes from where the modal was opened."""
    user = body.get("user") or {}
    team = body.get("team") or {}
    return Asker(
        team_id=str(team.get("id") or user.get("team_id") or ""),
        channel_id=origin.channel_id,
        user_id=str(user.get("id") or origin.user_id),
        user_name=str(user.get("username") or ""),
    )
