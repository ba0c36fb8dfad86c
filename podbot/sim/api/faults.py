"""Fault injection for reliability tests: API down, 5xx, slow answers, dropped or expired watches.

Usable from Python (``cluster.faults.fail(503, count=2)``) and over HTTP from other processes::

    POST   /_sim/faults   {"action": "fail", "status": 503, "count": 2, "path": "^/api/v1/pods"}
    GET    /_sim/faults   -> the active rules
    DELETE /_sim/faults   -> clear everything (and bring the API back up)
    POST   /_sim/advance?seconds=N   -> advance simulated time

Actions: ``fail`` (status, count, path, method), ``slow`` (seconds, count, path, method),
``reset`` (TCP reset instead of an answer; count, path), ``down`` (refuse connections; optional
``seconds`` after which it comes back; only Python or the timer can end it, since the admin
endpoint is down too), ``up``, ``drop_watches``, ``expire_watches`` (new watches get a 410 ERROR
event; count), ``compact`` (forget watch history: resuming watches and old continue tokens get 410),
``clear``. ``path`` is a regular expression matched against the request path (search, not match);
``count`` None means until cleared. The ``/_sim/`` endpoints themselves are never faulted.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podbot.sim.objects.store import ObjectStore

JSON = dict[str, Any]

_REASONS = {
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected fault"),
    502: ("", "bad gateway"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "Timeout: request did not complete within the allotted timeout"),
}


class FaultError(ValueError):
    """An invalid fault request (bad action, status or pattern)."""


@dataclass
class Rule:
    action: str  # fail | slow | reset | expire_watch
    status: int = 503
    seconds: float = 0.0
    path: re.Pattern[str] | None = None
    method: str | None = None
    remaining: int | None = None

    def matches(self, method: str, path: str, is_watch: bool) -> bool:
        if self.action == "expire_watch" and not is_watch:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path.search(path) is not None

    def describe(self) -> JSON:
        return {
            "action": self.action,
            "status": self.status,
            "seconds": self.seconds,
            "path": self.path.pattern if self.path else None,
            "method": self.method,
            "remaining": self.remaining,
        }


@dataclass(frozen=True)
class Verdict:
    """What the HTTP layer must do with one request."""

    delay: float = 0.0
    status: int | None = None  # answer with this error Status
    reason: str = ""
    message: str = ""
    reset: bool = False
    expire_watch: bool = False


class Faults:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._down = False
        self._down_timer: threading.Timer | None = None
        self._listen: Callable[[bool], None] | None = None

    def attach(self, listen: Callable[[bool], None]) -> None:
        """The server's switch: ``listen(False)`` closes the socket, ``listen(True)`` reopens it."""
        self._listen = listen

    # --- Python API ----------------------------------------------------------------------------
    def fail(
        self,
        status: int = 503,
        *,
        count: int | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer matching requests with ``status`` (429, 500, 502, 503, 504 ...)."""
        if not 400 <= status <= 599:
            raise FaultError(f"status must be 4xx or 5xx, not {status}")
        self._add(Rule("fail", status=status, path=_compile(path), method=_method(method), remaining=count))

    def slow(
        self, seconds: float, *, count: int | None = None, path: str | None = None, method: str | None = None
    ) -> None:
        """Delay matching requests by ``seconds`` of real time before answering."""
        if seconds < 0:
            raise FaultError("seconds must not be negative")
        self._add(Rule("slow", seconds=seconds, path=_compile(path), method=_method(method), remaining=count))

    def reset(self, *, count: int | None = None, path: str | None = None) -> None:
        """Reset the TCP connection instead of answering matching requests."""
        self._add(Rule("reset", path=_compile(path), remaining=count))

    def expire_watches(self, *, count: int | None = None) -> None:
        """New watch requests get an in-stream 410 Expired ERROR event, as after compaction."""
        self._add(Rule("expire_watch", remaining=count))

    def drop_watches(self) -> None:
        """End every open watch stream now (clients must re-watch)."""
        self._store.close_watches()

    def compact(self) -> None:
        """Forget watch history: resuming from an older resourceVersion now gets 410 Gone."""
        self._store.compact()

    def api_down(self, seconds: float | None = None) -> None:
        """Stop accepting connections (connection refused) and drop open ones; back after ``seconds``."""
        with self._lock:
            self._down = True
            if self._down_timer is not None:
                self._down_timer.cancel()
            if seconds is not None:
                self._down_timer = threading.Timer(seconds, self.api_up)
                self._down_timer.daemon = True
                self._down_timer.start()
        if self._listen is not None:
            self._listen(False)

    def api_up(self) -> None:
        with self._lock:
            was_down, self._down = self._down, False
            if self._down_timer is not None:
                self._down_timer.cancel()
                self._down_timer = None
        if was_down and self._listen is not None:
            self._listen(True)

    @property
    def down(self) -> bool:
        return self._down

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
        self.api_up()

    def rules(self) -> list[JSON]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def _add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    # --- HTTP side -----------------------------------------------------------------------------
    def check(self, method: str, path: str, is_watch: bool) -> Verdict:
        """Consume the rules that match this request and say what to do."""
        if path.startswith("/_sim/"):
            return Verdict()
        delay = 0.0
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(method, path, is_watch):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                if rule.action == "slow":
                    delay += rule.seconds
                    continue
                if rule.action == "reset":
                    return Verdict(delay=delay, reset=True)
                if rule.action == "expire_watch":
                    return Verdict(delay=delay, expire_watch=True)
                reason, message = _REASONS.get(rule.status, ("", f"injected fault (HTTP {rule.status})"))
                return Verdict(delay=delay, status=rule.status, reason=reason, message=message)
        return Verdict(delay=delay)

    def apply_request(self, body: JSON) -> JSON:
        """The admin endpoint's POST body -> a Python call. Raises FaultError on bad input."""
        action = body.get("action")
        count = _int_or_none(body.get("count"), "count")
        path = body.get("path")
        if path is not None and not isinstance(path, str):
            raise FaultError("path must be a string (a regular expression)")
        method = body.get("method")
        if action == "fail":
            self.fail(int(body.get("status", 503)), count=count, path=path, method=method)
        elif action == "slow":
            self.slow(float(body.get("seconds", 1.0)), count=count, path=path, method=method)
        elif action == "reset":
            self.reset(count=count, path=path)
        elif action == "down":
            seconds = body.get("seconds")
            # Go down just after this answer has been sent: going down closes every connection.
            timer = threading.Timer(
                0.1, self.api_down, args=(float(seconds) if seconds is not None else None,)
            )
            timer.daemon = True
            timer.start()
        elif action == "up":
            self.api_up()
        elif action == "drop_watches":
            self.drop_watches()
        elif action == "expire_watches":
            self.expire_watches(count=count)
        elif action == "compact":
            self.compact()
        elif action == "clear":
            self.clear()
        else:
            raise FaultError(
                f"unknown action {action!r}: use fail, slow, reset, down, up, drop_watches, "
                "expire_watches, compact or clear"
            )
        return {"rules": self.rules(), "down": self.down or action == "down"}


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as e:
        raise FaultError(f"invalid path pattern {pattern!r}: {e}") from e


def _method(method: str | None) -> str | None:
    return method.upper() if method else None


def _int_or_none(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FaultError(f"{name} must be a positive integer")
    return value


def sleep(seconds: float) -> None:
    """Injected latency is real time on purpose: it exercises client timeouts."""
    if seconds > 0:
        time.sleep(seconds)
