"""Sending requests to the bot as Slack does: signed HTTP POSTs to the app's request URL.

Slack signs ``v0:{timestamp}:{raw body}`` with HMAC-SHA256 and the app's signing secret and
sends ``X-Slack-Signature: v0=<hex>`` and ``X-Slack-Request-Timestamp``. ``Tamper`` produces
the requests a verifying app must reject: a wrong signature, a timestamp more than 5 minutes
old, or no signature headers at all.

Only loopback request URLs are accepted: the emulator never sends traffic off the machine.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import http.client
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


class Tamper(enum.Enum):
    """How to spoil a request on purpose (to test that the bot rejects it)."""

    NONE = "none"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    UNSIGNED = "unsigned"


@dataclass(frozen=True)
class BotReply:
    """What came back from the bot for one delivery."""

    status: int  # HTTP status (0 when there was no response)
    body: str
    content_type: str
    elapsed: float  # seconds
    error: str | None  # Slack's name for the failure: "operation_timeout", "dispatch_failed"

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's request signature: ``v0=`` + HMAC-SHA256(secret, ``v0:{ts}:{body}``)."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(secret: str, body: str, *, now: float, tamper: Tamper = Tamper.NONE) -> dict[str, str]:
    if tamper is Tamper.UNSIGNED:
        return {}
    timestamp = str(int(now - 6 * 60 if tamper is Tamper.STALE_TIMESTAMP else now))
    signature = sign(secret, timestamp, body)
    if tamper is Tamper.BAD_SIGNATURE:
        signature = sign(secret + "-wrong", timestamp, body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise ValueError(f"request URL must be on loopback (127.0.0.1/localhost), got host {host!r}")


class HttpDelivery:
    """POSTs signed, form-encoded requests to the bot's request URL and waits for the ack."""

    def __init__(
        self, url: str, signing_secret: str, *, timeout: float = 3.0, clock: Callable[[], float] = time.time
    ) -> None:
        check_loopback(url)
        self.url = url
        self._secret = signing_secret
        self.timeout = timeout
        self._clock = clock  # wall time: the bot checks signatures against its own clock

    def __repr__(self) -> str:
        return f"HttpDelivery(url={self.url!r})"

    def post(
        self,
        body: str,
        *,
        tamper: Tamper = Tamper.NONE,
        content_type: str = "application/x-www-form-urlencoded",
        extra_headers: Mapping[str, str] | None = None,
    ) -> BotReply:
        """POST ``body`` (form-encoded; Events API envelopes are ``application/json``)."""
        parts = urlsplit(self.url)
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "Accept": "application/json,*/*",
            **(extra_headers or {}),
            **signed_headers(self._secret, body, now=self._clock(), tamper=tamper),
        }
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        started = time.monotonic()
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.timeout
        )
        try:
            connection.request("POST", target, body=body.encode(), headers=headers)
            response = connection.getresponse()
            data = response.read().decode("utf-8", errors="replace")
            elapsed = time.monotonic() - started
            error = None if 200 <= response.status < 300 else "dispatch_failed"
            return BotReply(response.status, data, response.getheader("Content-Type") or "", elapsed, error)
        except TimeoutError:
            return BotReply(0, "", "", time.monotonic() - started, "operation_timeout")
        except (ConnectionError, OSError, http.client.HTTPException):
            return BotReply(0, "", "", time.monotonic() - started, "dispatch_failed")
        finally:
            connection.close()
