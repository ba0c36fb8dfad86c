"""The worker pool that does slow work after a Slack request has been acknowledged.

bolt acknowledges on its own small executor; podbot hands the Kubernetes work to this sized pool
at once, so slow API calls never delay an ack. It counts work in flight so that shutdown can
drain it and the demo can wait until the bot has answered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class WorkPool:
    def __init__(self, workers: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="podbot-work")
        self._in_flight = 0
        self._idle = threading.Condition()
        self._closed = False

    def submit(self, fn: Callable[[], None]) -> Future[None]:
        """Run ``fn`` on the pool; exceptions are logged (fn should handle its own)."""
        with self._idle:
            if self._closed:
                raise RuntimeError("podbot is shutting down")
            self._in_flight += 1
        return self._executor.submit(self._run, fn)

    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # the last line of defence: a bug must not kill the worker silently
            log.exception("unhandled error in background work")
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    @property
    def in_flight(self) -> int:
        with self._idle:
            return self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Block until no work is in flight (True) or ``timeout`` passes (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Stop taking work and finish what is in flight; True if everything finished in time."""
        with self._idle:
            self._closed = True
        finished = self.wait_idle(timeout)
        self._executor.shutdown(wait=finished, cancel_futures=not finished)
        return finished
