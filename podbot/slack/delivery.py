"""Getting messages into Slack: the ``Messenger`` port over the Web API, and answers to requests.

``SlackMessenger`` is what the flows and jobs post through; a refusal or an unreachable Slack
becomes ``DeliveryFailed`` (Slack's error code, counted in the metrics), never a slack_sdk error.
``post`` (chat.postMessage: digests, alerts, approval cards) is not idempotent, so it goes through a
client that retries only 429s, and a 5xx, a timeout or a dropped connection raises
``DeliveryUncertain``: Slack may have stored the message, and the caller settles that from its post
ledger (the message metadata event) instead of posting again.
``Replies`` turns a pipeline ``Answer`` into a message for the person who asked: through the
response_url when there is one, else chat.postMessage / chat.postEphemeral, with a file upload for
output too big for a message.

An answer is never dropped silently. The response_url is retried on 429 (after ``Retry-After``), on
5xx and on a dropped connection, with backoff (slack_sdk's retry handlers); if it still fails, the
answer goes out through the Web API instead (chat.postEphemeral to the asker, or chat.postMessage for
an answer the channel must see), and the failure is logged with the request's id.
"""

from __future__ import annotations

import http.client
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from ssl import SSLContext
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryIntervalCalculator, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

from podbot import metrics
from podbot.app.pipeline import Answer
from podbot.core.errors import DeliveryFailed, DeliveryUncertain, PodbotError
from podbot.core.i18n import t
from podbot.core.model import Origin
from podbot.render.blocks import Rendered, Upload, render_error, render_internal_error
from podbot.render.messages import SILENT, render
from podbot.slack.work import WorkPool

log = logging.getLogger(__name__)

PROGRESS_AFTER_SECONDS = 1.5  # show "working…" only when the answer is not there by then
RESPONSE_URL_RETRIES = 3  # per kind of failure; with backoff 0.5 s, 1 s, 2 s (+ jitter)
# The waits between response_url retries after a 5xx or a dropped connection (a 429 waits its
# Retry-After instead): slack_sdk's default backoff, read when each client is made.
RESPONSE_URL_BACKOFF: RetryIntervalCalculator = BackoffRetryIntervalCalculator(backoff_factor=0.5)


class _AnyServerError(ServerErrorRetryHandler):
    """slack_sdk's handler retries 500 and 503 only; a response_url can answer 502 or 504 too."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


def response_url_client(
    url: str, *, proxy: str | None = None, ssl: SSLContext | None = None, timeout: int = 10
) -> WebhookClient:
    """A client for one response_url that retries what is safe to retry.

    A response_url post is safe to repeat: at worst the asker sees the answer twice, which beats
    not seeing it at all."""
    return WebhookClient(
        url=url,
        proxy=proxy,
        ssl=ssl,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=RESPONSE_URL_BACKOFF),
            RateLimitErrorRetryHandler(max_retry_count=RESPONSE_URL_RETRIES),
            _AnyServerError(max_retry_count=RESPONSE_URL_RETRIES, interval_calculator=RESPONSE_URL_BACKOFF),
        ],
    )


def _failed(method: str, exc: Exception) -> DeliveryFailed:
    code = str(exc.response.get("error", "unknown")) if isinstance(exc, SlackApiError) else "unreachable"
    metrics.SLACK_ERRORS.labels(method=method, error=code).inc()
    log.warning("Slack refused %s: %s", method, code)
    return DeliveryFailed(f"Slack refused {method}: {code}", code)


def _uncertain(method: str, exc: Exception) -> DeliveryFailed:
    """``DeliveryUncertain`` when Slack may have taken the call (5xx, timeout, dropped connection,
    an unreadable answer); the definite ``DeliveryFailed`` of ``_failed`` otherwise."""
    status = exc.response.status_code if isinstance(exc, SlackApiError) else None
    if isinstance(exc, SlackApiError) and (status is None or status < 500):
        return _failed(method, exc)  # ok: false, or a 429 after its retries: nothing was stored
    code = f"http_{status}" if status else type(exc).__name__
    metrics.SLACK_ERRORS.labels(method=method, error="uncertain").inc()
    log.warning("%s outcome unknown (%s): Slack may have stored the message", method, code)
    return DeliveryUncertain(f"Slack did not confirm {method}: {code}", code)


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
    """``app.ports.Messenger`` over slack_sdk's WebClient; ``posts`` is the client for
    chat.postMessage (``make_post_client``: no blind retries), ``client`` for everything else."""

    def __init__(self, client: WebClient, posts: WebClient | None = None) -> None:
        self._client = client
        self._posts = posts or client

    def post(
        self,
        channel: str,
        message: Rendered,
        *,
        thread_ts: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        try:
            response = self._posts.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                metadata=dict(metadata) if metadata else None,
            )
        except (SlackApiError, OSError, ValueError, http.client.HTTPException) as exc:
            # ValueError: a 5xx page that is not JSON; HTTPException: the connection closed mid-answer.
            raise _uncertain("chat.postMessage", exc) from exc
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

    def open_dm(self, user: str) -> str:
        """The ID of the direct-message channel with ``user``."""
        try:
            return str(self._client.conversations_open(users=user)["channel"]["id"])
        except (SlackApiError, OSError) as exc:
            raise _failed("conversations.open", exc) from exc


def new_request_id() -> str:
    """A short id that ties the log lines of one request together."""
    return uuid.uuid4().hex[:8].upper()


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
        self,
        answer: Answer,
        origin: Origin,
        respond: Respond | None,
        *,
        replace: bool = False,
        request_id: str = "",
    ) -> None:
        """Send an answer: through the response_url when we have one (retried, then the Web API
        instead), else chat.postMessage/postEphemeral."""
        rendered = render_answer(answer, self._now())
        if rendered is None:
            return  # the work posted its own messages (e.g. an approval card was updated)
        request_id = request_id or new_request_id()
        try:
            if rendered.upload is not None:
                self._upload(rendered, origin, public=answer.public)
            if respond is not None and respond.response_url:
                problem = self._respond(
                    respond,
                    {
                        "response_type": "in_channel" if answer.public else "ephemeral",
                        "replace_original": replace,
                        "text": rendered.text,
                        "blocks": rendered.blocks,
                    },
                )
                if problem is None:
                    return
                log.warning(
                    "request %s: the response_url did not take the answer for %s in %s (%s); "
                    "sending it with %s instead",
                    request_id,
                    origin.user_id,
                    origin.channel_id,
                    problem,
                    "chat.postMessage" if answer.public else "chat.postEphemeral",
                )
                metrics.SLACK_ERRORS.labels(method="response_url", error=problem).inc()
            if answer.public:
                self._messenger.post(origin.channel_id, rendered)
            else:
                self._messenger.tell(origin.channel_id, origin.user_id, rendered)
        except DeliveryFailed as exc:
            log.error(
                "request %s: the answer for %s in %s was not delivered: %s",
                request_id,
                origin.user_id,
                origin.channel_id,
                exc.code,
            )
        except Exception:  # a bug here must not kill the worker
            log.exception(
                "request %s: could not deliver a reply to %s in %s",
                request_id,
                origin.user_id,
                origin.channel_id,
            )

    @staticmethod
    def _respond(respond: Respond, message: dict[str, Any]) -> str | None:
        """Post to the response_url with retries; None when it took the message, else why not."""
        assert respond.response_url is not None
        client = response_url_client(respond.response_url, proxy=respond.proxy, ssl=respond.ssl)
        try:
            response = client.send_dict(message)
        except OSError as exc:  # connection refused/reset twice, timeout: never the URL (a secret)
            return type(exc).__name__
        if response.status_code == 200:
            return None
        return f"HTTP {response.status_code}"

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
        request_id = new_request_id()

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
                self.deliver(answer, origin, respond, request_id=request_id)
            else:
                self.deliver(answer, origin, respond, replace=progress_shown.is_set(), request_id=request_id)

        try:
            self._pool.submit(job)
        except RuntimeError:
            self.deliver(Answer(locale, error=PodbotError(t("app.shutting_down", locale))), origin, respond)
