"""Waiting for something that happens on another thread or in another process (real time)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition", *, every: float = 0.02
) -> float:
    """Poll ``predicate`` until it is true; the seconds it took, or AssertionError after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not met within {timeout}s")
        time.sleep(every)
    return time.monotonic() - started
