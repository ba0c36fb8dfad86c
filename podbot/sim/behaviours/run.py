"""What one container instance does over time: its log lines, when (and how) it exits, readiness.

A ``Run`` is computed once when a container starts and read lazily afterwards: log lines are a
function of elapsed time (static lines plus an optional periodic loop), so a node with thousands
of running containers costs nothing per tick. Line texts may contain ``{ts:FORMAT}`` (strftime of
the line's own time; ``%3f`` is milliseconds, ``%6f`` microseconds) and ``{i}`` (loop iteration).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Containers' logs rotate; like a 10 MiB containerLogMaxSize, only the newest lines survive.
MAX_LOG_LINES = 5000

_TOKEN = re.compile(r"\{ts:([^}]*)\}|\{i\}")


@dataclass(frozen=True)
class LogEntry:
    offset: float  # seconds after the container started
    text: str
    stderr: bool = False


@dataclass(frozen=True)
class Loop:
    """Lines repeated every ``period`` seconds from ``start`` on (for ever, or until exit)."""

    start: float
    period: float
    lines: tuple[LogEntry, ...]  # offsets relative to the iteration start


@dataclass(frozen=True)
class Run:
    entries: tuple[LogEntry, ...] = ()
    loop: Loop | None = None
    exit_after: float | None = None  # None: runs until stopped
    exit_code: int = 0
    reason: str = "Completed"  # terminated reason when it exits by itself
    ready_after: float = 0.0  # the application answers readiness probes after this long
    handles_sigterm: bool = True  # False: PID 1 ignores SIGTERM and is SIGKILLed at the grace deadline
    stop_after: float = 0.2  # how long a graceful stop takes when SIGTERM is handled
    stop_lines: tuple[str, ...] = ()
    stop_exit_code: int = 0
    start_error: str | None = None  # the runtime could not start the process at all
    message: str = ""  # terminated message (termination log), e.g. an OOM note
    extra: dict[str, str] = field(default_factory=dict)

    def lines(self, until: float) -> list[LogEntry]:
        """Log entries emitted up to ``until`` seconds after start, oldest first."""
        limit = until if self.exit_after is None else min(until, self.exit_after)
        result = [e for e in self.entries if e.offset <= limit]
        loop = self.loop
        if loop is not None and limit >= loop.start:
            iterations = math.floor((limit - loop.start) / loop.period) + 1
            first = max(0, iterations - MAX_LOG_LINES // max(1, len(loop.lines)) - 1)
            for index in range(first, iterations):
                base = loop.start + index * loop.period
                for line in loop.lines:
                    at = base + line.offset
                    if at <= limit:
                        result.append(LogEntry(at, line.text.replace("{i}", str(index + 1)), line.stderr))
            result.sort(key=lambda e: e.offset)
        return result[-MAX_LOG_LINES:]


def render(text: str, when: float) -> str:
    """Fill ``{ts:FORMAT}`` tokens with the time ``when`` (epoch seconds)."""
    if "{" not in text:
        return text
    moment = datetime.fromtimestamp(when, UTC)

    def fill(match: re.Match[str]) -> str:
        fmt = match.group(1)
        if fmt is None:
            return match.group(0)
        fmt = fmt.replace("%3f", f"{moment.microsecond // 1000:03d}").replace(
            "%6f", f"{moment.microsecond:06d}"
        )
        fmt = fmt.replace("%e", f"{moment.day:2d}").replace("%s", str(int(when)))
        return moment.strftime(fmt)

    return _TOKEN.sub(fill, text)


def rfc3339_nano(when: float) -> str:
    """The CRI log timestamp format kubectl --timestamps shows: 2024-05-01T10:00:00.123456789Z."""
    micros = round(when * 1_000_000)
    whole, fraction = divmod(micros, 1_000_000)
    # Float time has no real nanoseconds; add stable sub-microsecond digits so lines look like a runtime's.
    nanos = fraction * 1000 + (micros * 7919) % 1000
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
