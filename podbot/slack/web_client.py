"""The Slack Web API client podbot uses: slack_sdk's WebClient, unchanged, with retries.

slack_sdk only retries connection errors by default; podbot also honours 429 ``Retry-After`` and
retries a few 5xx, counting every retry in the metrics. That is right for idempotent calls
(chat.update, reads, views.*). A non-idempotent post (chat.postMessage of a digest, an alert, an
approval card) goes through ``make_post_client``: Slack may have stored a message it then answered
5xx for (or whose answer never arrived), so only a 429 (Slack did not take the call) is retried.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from podbot import metrics


class _CountingRateLimit(RateLimitErrorRetryHandler):
    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        metrics.SLACK_RETRIES.labels(reason="ratelimited").inc()
        super().prepare_for_next_attempt(**kwargs)


class _CountingConnection(ConnectionErrorRetryHandler):
    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        metrics.SLACK_RETRIES.labels(reason="connection").inc()
        super().prepare_for_next_attempt(**kwargs)


class _CountingServerError(ServerErrorRetryHandler):
    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        metrics.SLACK_RETRIES.labels(reason="server_error").inc()
        super().prepare_for_next_attempt(**kwargs)


def make_web_client(token: str, base_url: str, *, timeout: int = 30) -> WebClient:
    """A WebClient for ``base_url`` (real Slack or the local emulator) that retries sensibly."""
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    client.retry_handlers = [
        _CountingConnection(max_retry_count=2),
        _CountingRateLimit(max_retry_count=3),
        _CountingServerError(max_retry_count=2),
    ]
    return client


def make_post_client(token: str, base_url: str, *, timeout: int = 30) -> WebClient:
    """A WebClient for non-idempotent posts: it retries only 429s (Slack took nothing); a 5xx, a
    timeout or a dropped connection is left to the caller as an uncertain outcome."""
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    client.retry_handlers = [_CountingRateLimit(max_retry_count=3)]
    return client
