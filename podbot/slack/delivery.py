"""Getting messages into Slack: the ``Messenger`` port over the Web API, and answers to requests.

``SlackMessenger`` is what the flows and jobs post through; a refusal or an unreachable Slack
becomes ``DeliveryFailed`` (Slack's error code, counted in the metrics), never a slack_sdk error.
``Replies`` turns a pipeline ``Answer`` into a message for the person who asked: through
``respond`` (the response_url) when there is one, else chat.postMessage / chat.postEphemeral, with a
file upload for output too big for a message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from podbot import metrics
from podbot.app.pipeline import Answer
from podbot.core.errors import DeliveryFailed, PodbotError
from podbot.core.i18n import t
from podbot.core.model import Origin
from podbot.render.blocks import Rendered, Upload, render_error, render_internal_error
from podbot.render.messages import SILENT, render
from podbot.slack.work import WorkPool

log = logging.getLogger(__name__)

PROGRESS_AFTER_SECONDS = 1.5  # show "working…" only when the answer is not there by then


def _failed(method: str, exc: Exception) -> DeliveryFailed:
    code = str(exc.response.get("error", "unknown")) if isinstance(exc, SlackApiError) else "unreachable"
    metrics.SLACK_ERRORS.labels(method=method, error=code).inc()
    log.warning("Slack refused %s: %s", method, code)
    return DeliveryFailed(f"Slack refused {method}: {code}", code)


def render_answer(answer: Answer, now: datetime) -> Rendered | None:
    """The message an answer shows its asker; None when there is nothing to say."""
    if answer.error_id:
        return render_internal_error(answer.error_id, answer.locale)
    if answer.error is not None:
        return render_error(answer.error.localized(answer.locale), answer.locale)
    if answer.result is None or isinstance(answer.result, SILENT):
        return None
    return render(answer.result, answer.locale, now=now, timezone=answer.timezone)


class SlackMessenger:
    """``app.ports.Messenger`` over slack_sdk's WebClient."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post(
        self,
        channel: str,
        message: Rendered,
        *,
        thread_ts: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        try:
            response = self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                metadata=dict(metadata) if metadata else None,
            )
        except (SlackApiError, OSError) as exc:
            raise _failed("chat.postMessage", exc) from exc
        return str(response["ts"])

    def update(self, channel: str, ts: str, message: Rendered) -> None:
        try:
            self._client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
        except (SlackApiError, OSError) as exc:
            raise _failed("chat.update", exc) from exc

    def tell(self, channel: str, user: str, message: Rendered) -> None:
        try:
            self._client.chat_postEphemeral(
                channel=channel, user=user, text=message.text, blocks=message.blocks
            )
        except (SlackApiError, OSError) as exc:
            raise _failed("chat.postEphemeral", exc) from exc

    def upload(
        self, channel: str, upload: Upload, *, thread_ts: str | None = None, comment: str = ""
    ) -> None:
        try:
            self._client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                content=upload.content,
                filename=upload.filename,
                title=upload.title,
                initial_comment=comment or None,
            )
        except (SlackApiError, OSError) as exc:
            raise _failed("files.upload", exc) from exc

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except (SlackApiError, OSError) as exc:
            _failed("chat.getPermalink", exc)
            return None
        return str(response.get("permalink") or "") or None

    def recent(self, channel: str, limit: int) -> list[Mapping[str, Any]]:
        try:
            response = self._client.conversations_history(
                channel=channel, limit=limit, include_all_metadata=True
            )
        except (SlackApiError, OSError) as exc:
            raise _failed("conversations.history", exc) from exc
        return list(response.get("messages") or ())

    def open_dm(self, user: str) -> str:
        """The ID of the direct-message channel with ``user``."""
        try:
            return str(self._client.conversations_open(users=user)["channel"]["id"])
        except (SlackApiError, OSError) as exc:
            raise _failed("conversations.open", exc) from exc


class Replies:
    """Answers to the person who asked, and the worker pool that computes them after the ack."""

    def __init__(
        self,
        messenger: SlackMessenger,
        pool: WorkPool,
        locale: Callable[[Origin], str],
        now: Callable[[], datetime],
    ) -> None:
        self._messenger = messenger
        self._pool = pool
        self._locale = locale
        self._now = now

    def deliver(
        self, answer: Answer, origin: Origin, respond: Respond | None, *, replace: bool = False
    ) -> None:
        """Send an answer: through ``respond`` when we have one, else chat.postMessage/postEphemeral."""
        rendered = render_answer(answer, self._now())
        if rendered is None:
            return  # the work posted its own messages (e.g. an approval card was updated)
        try:
            if rendered.upload is not None:
                self._upload(rendered, origin, public=answer.public)
            if respond is not None:
                respond(
                    response_type="in_channel" if answer.public else "ephemeral",
                    replace_original=replace,
                    text=rendered.text,
                    blocks=rendered.blocks,
                )
            elif answer.public:
                self._messenger.post(origin.channel_id, rendered)
            else:
                self._messenger.tell(origin.channel_id, origin.user_id, rendered)
        except DeliveryFailed:
            pass  # counted and logged where it failed
        except Exception:  # response_url failures must not kill the worker
            log.exception("could not deliver a reply to %s in %s", origin.user_id, origin.channel_id)

    def _upload(self, rendered: Rendered, origin: Origin, *, public: bool) -> None:
        """Big output as a file: in the channel for public answers, else in a DM with the asker."""
        assert rendered.upload is not None
        try:
            channel = origin.channel_id if public else self._messenger.open_dm(origin.user_id)
            self._messenger.upload(channel, rendered.upload, comment=rendered.text[:1000])
        except DeliveryFailed:
            pass  # the message itself still goes out, saying a file was meant to follow

    def run_in_background(self, origin: Origin, respond: Respond | None, work: Callable[[], Answer]) -> None:
        """Do ``work`` on the pool; post "working…" if it is slow, then the answer."""
        progress_shown = threading.Event()
        done = threading.Event()
        locale = self._locale(origin)

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
                answer = work()
            finally:
                done.set()
                timer.cancel()
            if progress_shown.is_set() and respond is not None and answer.public:
                try:  # the ephemeral "working…" cannot become a channel message: remove it
                    respond(delete_original=True)
                except Exception:  # best effort
                    log.debug("could not remove the progress message", exc_info=True)
                self.deliver(answer, origin, respond)
            else:
                self.deliver(answer, origin, respond, replace=progress_shown.is_set())

        try:
            self._pool.submit(job)
        except RuntimeError:
            self.deliver(Answer(locale, error=PodbotError(t("app.shutting_down", locale))), origin, respond)
