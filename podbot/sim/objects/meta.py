"""Small helpers shared by the simulated API server and kubelets: object identity and API errors."""

from __future__ import annotations

import uuid
from typing import Any

from podbot.sim.clock import SimClock


def new_uid() -> str:
    return str(uuid.uuid4())


def stamp_new(obj: dict[str, Any], clock: SimClock) -> dict[str, Any]:
    """Set the server-managed identity of a new object (uid, creationTimestamp); returns ``obj``."""
    meta = obj.setdefault("metadata", {})
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = clock.timestamp()
    return obj


class SimApiError(Exception):
    """An error the HTTP layer turns into a Kubernetes ``Status`` (code, reason, message).

    ``reason`` is a StatusReason (NotFound, BadRequest, Invalid, Conflict, Forbidden, ...);
    ``details`` is the Status ``details`` object (name, kind, causes) when there is one.
    """

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}
