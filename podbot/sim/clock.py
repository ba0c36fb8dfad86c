"""Simulated time for podbot.sim: wall time, optionally sped up, plus manual jumps and timers.

``now()`` is ``start + elapsed_real * speed + jumped``. ``advance(s)`` jumps forward and runs every
timer that falls due on the way *at its own due time* (``now()`` reads the due time while a timer
runs), so a test can skip a five-minute image-pull back-off without sleeping and still see
plausible timestamps. With ``speed=0`` time moves only when a test calls ``advance``.

Timers run on one thread at a time: either the background ``run_forever`` loop or the caller of
``advance``. Timer callbacks must be quick and must not call ``advance``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class SimClock:
    """A monotonic simulated clock with a timer heap. All times are epoch seconds (UTC)."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        self.speed = speed
        self._start = (start or datetime.now(UTC)).timestamp()
        self._real_start = time.monotonic()
        self._jumped = 0.0
        self._pinned: float | None = None  # set while a timer runs: now() == its due time
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()  # guards the heap and the offsets
        self._running = threading.Lock()  # one thread runs timers at a time
        self._wakeup = threading.Condition(self._lock)
        self._stopped = False

    # --- reading time ------------------------------------------------------------------------
    def time(self) -> float:
        """Simulated epoch seconds."""
        with self._lock:
            if self._pinned is not None:
                return self._pinned
            return self._free_time()

    def _free_time(self) -> float:
        return self._start + (time.monotonic() - self._real_start) * self.speed + self._jumped

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def set_speed(self, speed: float) -> None:
        """From now on, run at ``speed`` (0: only ``advance`` moves time); no jump either way."""
        with self._lock:
            self._start = self._free_time()
            self._real_start = time.monotonic()
            self._jumped = 0.0
            self.speed = speed
            self._wakeup.notify_all()

    def timestamp(self) -> str:
        """RFC 3339 with second precision, as Kubernetes writes metadata timestamps."""
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    # --- timers ------------------------------------------------------------------------------
    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        return self.call_at(self.time() + max(0.0, delay), callback)

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(when, next(self._seq), callback)
        with self._lock:
            heapq.heappush(self._timers, timer)
            self._wakeup.notify_all()
        return timer

    def _pop_due(self, limit: float) -> _Timer | None:
        with self._lock:
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            if self._timers and self._timers[0].due <= limit:
                return heapq.heappop(self._timers)
            return None

    def _run(self, timer: _Timer) -> None:
        with self._lock:
            # Freeze time while the callback runs, so everything it stamps shares one instant.
            # In advance() the clock was just moved to the timer's due time, so that is this instant.
            self._pinned = self._free_time()
        try:
            timer.callback()
        finally:
            with self._lock:
                self._pinned = None

    def run_due(self) -> int:
        """Run every timer due by now (including ones they schedule for now). Returns the count."""
        ran = 0
        with self._running:
            while (timer := self._pop_due(self._free_time_locked())) is not None:
                self._run(timer)
                ran += 1
        return ran

    def _free_time_locked(self) -> float:
        with self._lock:
            return self._free_time()

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` forward, running each timer that falls due at its due time."""
        with self._running:
            target = self._free_time_locked() + seconds
            while (timer := self._pop_due(target)) is not None:
                with self._lock:
                    free = self._free_time()
                    if timer.due > free:
                        self._jumped += timer.due - free
                self._run(timer)
            with self._lock:
                free = self._free_time()
                if target > free:
                    self._jumped += target - free

    def next_due(self) -> float | None:
        """When the next live timer falls due (cancelled ones on top of the heap are dropped first)."""
        with self._lock:
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            return self._timers[0].due if self._timers else None

    # --- background loop ---------------------------------------------------------------------
    def run_forever(self) -> None:
        """Run timers as they fall due in (scaled) real time until ``stop()``."""
        while True:
            with self._lock:
                if self._stopped:
                    return
                due = self._timers[0].due if self._timers else None
                now = self._free_time()
                if due is None or due > now:
                    wait = 0.5 if due is None or self.speed == 0 else min(0.5, (due - now) / self.speed)
                    self._wakeup.wait(timeout=max(wait, 0.001))
                    continue
            self.run_due()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._wakeup.notify_all()


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
