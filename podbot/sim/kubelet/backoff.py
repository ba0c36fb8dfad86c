"""The kubelet's exponential back-off (k8s.io/client-go/util/flowcontrol.Backoff).

Both the image pull back-off and the container restart (CrashLoopBackOff) back-off start at 10s,
double on each failure and stop growing at 300s; an entry not touched for twice the maximum
starts over.
"""

from __future__ import annotations

from dataclasses import dataclass

INITIAL = 10.0
MAXIMUM = 300.0


@dataclass
class _Entry:
    duration: float
    last_update: float


class Backoff:
    def __init__(self, initial: float = INITIAL, maximum: float = MAXIMUM) -> None:
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[str, _Entry] = {}

    def next(self, key: str, now: float) -> None:
        """Record a failure at ``now``: start or double the back-off."""
        entry = self._entries.get(key)
        if entry is None or now - entry.last_update > 2 * self.maximum:
            self._entries[key] = _Entry(self.initial, now)
        else:
            entry.duration = min(entry.duration * 2, self.maximum)
            entry.last_update = now

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.duration if entry else 0.0

    def in_backoff_since_update(self, key: str, now: float) -> bool:
        """Image pulls: still inside the window that started at the last failure."""
        entry = self._entries.get(key)
        if entry is None or now - entry.last_update > 2 * self.maximum:
            return False
        return now - entry.last_update < entry.duration

    def in_backoff_since(self, key: str, event_time: float, now: float) -> bool:
        """Container restarts: still inside the window that started when the container finished."""
        entry = self._entries.get(key)
        if entry is None or now - entry.last_update > 2 * self.maximum:
            return False
        return now - event_time < entry.duration

    def expiry(self, key: str, since: float) -> float:
        return since + self.get(key)

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String(): 10s, 1m20s, 5m0s, 1.234s, 523ms."""
    if seconds == 0:
        return "0s"
    nanos = round(seconds * 1e9)
    if nanos < 1_000_000:
        if nanos < 1000:
            return f"{nanos}ns"
        return _trim(f"{nanos / 1000:.3f}") + "µs"
    if nanos < 1_000_000_000:
        return _trim(f"{nanos / 1_000_000:.6f}") + "ms"
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = _trim(f"{rest / 1e9:.9f}") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    if minutes:
        return f"{minutes}m{secs}"
    return secs


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number
