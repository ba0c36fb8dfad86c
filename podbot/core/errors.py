"""podbot's one error hierarchy.

Every error a user can cause or meet is a ``PodbotError`` whose ``str()`` is a sentence a chat
user understands. Listeners show it as an ephemeral message; anything that is *not* a
``PodbotError`` is a bug: logged with a traceback, and the user gets an apology with an error id.

Messages must never contain secrets (tokens, registry passwords): build them from names only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from podbot.core.messages import Msg


class PodbotError(Exception):
    """Base class: a failure with a message that is safe and useful to show to the user."""

    text: Msg | None = None
    """The same sentence as a catalog message, when the raiser knows no reader's language (the
    Kubernetes client): shown in the reader's language by ``localized``."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message

    def localized(self, locale: str | None) -> str:
        """``str(self)`` in ``locale`` where a catalog message says the same."""
        message = self.text.render(locale) if self.text is not None else self.message
        return f"{message}\n{self.hint}" if self.hint else message

    def said(self, key: str, /, **params: str | int) -> Self:
        """This error, with the catalog message ``key`` for its sentence (returns itself)."""
        self.text = Msg(key, dict(params))
        return self


class UsageError(PodbotError):
    """The command text could not be understood; ``hint`` carries usage help."""


class NotPermitted(PodbotError):
    """Policy or the cluster's RBAC refused the operation; ``reason`` is the audit outcome word."""

    def __init__(self, message: str, *, hint: str = "", reason: str = "refused") -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class Forbidden(NotPermitted):
    """The cluster's RBAC refused the request (API 403), as opposed to podbot's own policy."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint, reason="forbidden")


class NotFound(PodbotError):
    """The object does not exist (API 404)."""


class AlreadyExists(PodbotError):
    """An object with that name already exists (API 409 AlreadyExists)."""


class Conflict(PodbotError):
    """The object changed under us: a uid/resourceVersion precondition failed (API 409 Conflict)."""


@dataclass(frozen=True)
class Cause:
    """One field-level problem reported by the API server in a 422/400 Status."""

    field: str
    message: str
    reason: str = ""


class Invalid(PodbotError):
    """The API server rejected the object (422 Invalid, 400 BadRequest), with per-field causes."""

    def __init__(self, message: str, causes: tuple[Cause, ...] = (), *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.causes = causes


class ClusterUnavailable(PodbotError):
    """The Kubernetes API server could not be reached or answered 5xx / timed out."""


class ApiError(PodbotError):
    """Any other API server error; ``code`` is the HTTP status."""

    def __init__(self, message: str, code: int, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.code = code


class ConfigError(PodbotError):
    """podbot's own configuration is missing or invalid (raised at start-up)."""


class DeliveryFailed(PodbotError):
    """Slack refused a post or could not be reached; ``code`` is Slack's error (e.g. channel_not_found)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class DeliveryUncertain(DeliveryFailed):
    """A non-idempotent post (chat.postMessage) got no clear answer: a 5xx, a timeout or a dropped
    connection. Slack may have stored the message; settle it from the post ledger, never re-post blindly."""
