"""Rate limits and fault injection for the emulated Web API.

Rate limits are token buckets per method (and per channel for ``chat.postMessage``, which
Slack limits to about 1 message per second per channel with bursts allowed). They are off by
default so tests run fast; ``RateLimits.slack_defaults()`` turns on Slack's documented shape.
A limited call gets HTTP 429, ``{"ok": false, "error": "ratelimited"}`` and ``Retry-After``.

``conversations.history`` and ``conversations.replies`` have their own limits, set by the app's
``HistoryTier``. Since 2025 Slack gives apps that are not Marketplace-approved 1 request a
minute per method and at most 15 messages a page; that strict tier is the default here, so a
design that builds correctness on reading history fails in tests as it would in production.
The minute is measured on the workspace clock (the one that stamps message ``ts`` and expires
triggers): a test with a manual clock advances it past the window instead of sleeping, and
``Retry-After`` is given in that clock's seconds.

Faults make the next N calls of a method fail in a chosen way: an ``ok: false`` error, a 429,
another HTTP status, or a dropped connection (the socket closes with no response). The
``after_*`` faults let the call take effect first (the message is stored) and then answer 5xx,
drop the connection, or answer only after a delay: what a client sees when Slack or the network
fails after the work was done, so a client that retries blindly posts twice. Besides
Web API method names, ``"response_url"``, ``"upload"`` and ``"apps.connections.open"`` can be
targeted.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """What an injected failure looks like on the wire."""

    kind: str  # "error" | "ratelimited" | "status" | "disconnect"
    error: str = "internal_error"
    status: int = 200
    retry_after: int = 1
    after_effect: bool = False  # the call is carried out first, then the fault is the answer
    delay: float = 0.0  # seconds to hold the answer back (after_effect "stall")


class Faults:
    """Queues of failures per method; each matching call consumes one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {}
        self.injected = 0

    def inject(self, method: str, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._queues.setdefault(method, deque()).extend([fault] * times)

    def fail(self, method: str, error: str = "internal_error", times: int = 1) -> None:
        """Answer ``{"ok": false, "error": error}`` with HTTP 200."""
        self.inject(method, Fault("error", error=error), times)

    def ratelimit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer HTTP 429 ``ratelimited`` with ``Retry-After: retry_after``."""
        self.inject(
            method, Fault("ratelimited", error="ratelimited", status=429, retry_after=retry_after), times
        )

    def http_status(
        self, method: str, status: int = 503, error: str = "service_unavailable", times: int = 1
    ) -> None:
        self.inject(method, Fault("status", error=error, status=status), times)

    def drop_connection(self, method: str, times: int = 1) -> None:
        """Close the connection without answering (the client sees a connection reset)."""
        self.inject(method, Fault("disconnect"), times)

    def store_then_fail(
        self, method: str, status: int = 500, error: str = "internal_error", times: int = 1
    ) -> None:
        """Carry the call out (e.g. store the message), then answer HTTP ``status``."""
        self.inject(method, Fault("status", error=error, status=status, after_effect=True), times)

    def store_then_drop(self, method: str, times: int = 1) -> None:
        """Carry the call out, then close the connection without answering."""
        self.inject(method, Fault("disconnect", after_effect=True), times)

    def stall(self, method: str, seconds: float, times: int = 1) -> None:
        """Carry the call out, then hold the (successful) answer back ``seconds`` (real time):
        a client with a shorter timeout gives up on a call that worked."""
        if seconds <= 0:
            raise ValueError("seconds must be > 0")
        self.inject(method, Fault("stall", after_effect=True, delay=seconds), times)

    def take(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(method)
            if not queue:
                return None
            self.injected += 1
            return queue.popleft()

    def pending(self, method: str) -> int:
        with self._lock:
            return len(self._queues.get(method, ()))

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class RateRule:
    per_second: float
    burst: int
    per_channel: bool


class RateLimits:
    """Token buckets keyed by (method, channel or ``*``), read against the workspace clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rules: dict[str, RateRule] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def set(self, method: str, *, per_second: float, burst: int = 1, per_channel: bool = False) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        with self._lock:
            self._rules[method] = RateRule(per_second, burst, per_channel)
            for key in [k for k in self._buckets if k[0] == method]:
                del self._buckets[key]

    def slack_defaults(self) -> None:
        """Slack's shape: chat.postMessage ~1/s per channel with a burst; Tier 3/4 elsewhere."""
        self.set("chat.postMessage", per_second=1.0, burst=5, per_channel=True)
        self.set("chat.postEphemeral", per_second=100 / 60, burst=20)
        self.set("chat.update", per_second=50 / 60, burst=10)
        self.set("views.open", per_second=100 / 60, burst=20)
        self.set("files.getUploadURLExternal", per_second=20 / 60, burst=5)

    def clear(self, method: str | None = None) -> None:
        with self._lock:
            if method is None:
                self._rules.clear()
                self._buckets.clear()
            else:
                self._rules.pop(method, None)
                for key in [k for k in self._buckets if k[0] == method]:
                    del self._buckets[key]

    def check(self, method: str, channel: str = "") -> int | None:
        """Take a token; ``None`` when allowed, else the ``Retry-After`` seconds to send."""
        with self._lock:
            rule = self._rules.get(method)
            if rule is None:
                return None
            key = (method, channel if rule.per_channel else "*")
            now = self._clock()
            bucket = self._buckets.setdefault(key, _Bucket(float(rule.burst), now))
            bucket.tokens = min(float(rule.burst), bucket.tokens + (now - bucket.updated) * rule.per_second)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / rule.per_second))


HISTORY_METHODS = ("conversations.history", "conversations.replies")


@dataclass(frozen=True)
class HistoryTier:
    """How Slack limits ``conversations.history``/``conversations.replies`` for one app."""

    name: str
    per_minute: int  # requests per method per workspace in any 60 s
    max_page: int  # the largest ``limit`` honoured; a larger one is cut to it, silently
    history_page: int  # the default ``limit`` of conversations.history
    replies_page: int  # ... and of conversations.replies


# Slack's changelog of 2025-05-29: apps that are not Marketplace-approved moved from Tier 3 to
# "1 request per minute", and "the maximum and default for the limit parameter" became 15.
NON_MARKETPLACE = HistoryTier("non_marketplace", per_minute=1, max_page=15, history_page=15, replies_page=15)
# Marketplace-approved (and older) apps: Tier 3, 50+ a minute; default pages 100 and 1000.
MARKETPLACE = HistoryTier("marketplace", per_minute=50, max_page=1000, history_page=100, replies_page=1000)


class HistoryLimits:
    """The per-minute window of each history method, on the workspace clock."""

    def __init__(self, clock: Callable[[], float], tier: HistoryTier = NON_MARKETPLACE) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tier = tier
        self._calls: dict[str, deque[float]] = {}

    @property
    def tier(self) -> HistoryTier:
        return self._tier

    @tier.setter
    def tier(self, tier: HistoryTier) -> None:
        with self._lock:
            self._tier = tier
            self._calls.clear()

    def check(self, method: str) -> int | None:
        """Count a call; ``None`` when allowed, else the ``Retry-After`` seconds to send."""
        if method not in HISTORY_METHODS:
            return None
        with self._lock:
            now = self._clock()
            calls = self._calls.setdefault(method, deque())
            while calls and calls[0] <= now - 60.0:
                calls.popleft()
            if len(calls) >= self._tier.per_minute:
                return max(1, math.ceil(calls[0] + 60.0 - now))
            calls.append(now)
            return None
