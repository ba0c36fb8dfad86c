"""The application's ports: what it needs from Slack and from the background jobs, as Protocols.

``podbot.slack`` implements ``Messenger`` and ``People`` over the Slack Web API; ``podbot.jobs``
implements ``DigestSchedule`` and ``AlertWatch``. The composition root (``podbot.server.runtime``)
passes each implementation to the components that need it, so ``app`` never imports those layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from podbot.core.records import Subscription
from podbot.render.blocks import Rendered, Upload


class Messenger(Protocol):
    """Posts to Slack. Failures raise ``core.errors.DeliveryFailed`` with Slack's error code."""

    def post(
        self,
        channel: str,
        message: Rendered,
        *,
        thread_ts: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """A new message in ``channel``; its ts. ``DeliveryUncertain`` (a ``DeliveryFailed``) when
        Slack may have stored it without saying so: settle from the post ledger, do not re-post."""
        ...

    def update(self, channel: str, ts: str, message: Rendered) -> None:
        """Edit the message ``ts`` in place."""
        ...

    def tell(self, channel: str, user: str, message: Rendered) -> None:
        """A message only ``user`` sees, in ``channel``."""
        ...

    def upload(
        self, channel: str, upload: Upload, *, thread_ts: str | None = None, comment: str = ""
    ) -> None:
        """A file in ``channel`` (or in a thread of it)."""
        ...

    def permalink(self, channel: str, ts: str) -> str | None:
        """A link to the message, or None when Slack cannot give one."""
        ...


class People(Protocol):
    """Who is who in the workspace (cached by the implementation; Slack failures degrade to "unknown")."""

    def email_of(self, user_id: str) -> str:
        """The email on the user's profile, "" when unknown."""
        ...

    def is_member(self, user_id: str) -> bool:
        """Whether Slack knows this (active) user."""
        ...

    def group_members(self, group_id: str) -> frozenset[str]:
        """The members of a user group (empty when Slack cannot say, e.g. on a free plan)."""
        ...

    def groups_of(self, user_id: str, candidates: frozenset[str] | tuple[str, ...]) -> frozenset[str]:
        """Which of the ``candidates`` user groups ``user_id`` belongs to."""
        ...

    def find_user_id(self, name: str) -> str | None:
        """The ID of the user with this handle, display name or real name."""
        ...

    def channel_name(self, channel_id: str) -> str:
        """The channel's name without ``#``, "" when unknown."""
        ...


class DigestSchedule(Protocol):
    """The digest scheduler, as the subscription verbs see it."""

    def sync(self) -> None:
        """Subscriptions changed: add and remove scheduled jobs now (no-op where it does not run)."""
        ...

    def next_run(self, subscription: Subscription) -> datetime | None:
        """When the subscription's next digest is due."""
        ...


class AlertWatch(Protocol):
    """The alert fan-out, as the ``alerts`` verb sees it."""

    def refresh(self) -> None:
        """A channel's alert settings changed: read them again and look at every pod now."""
        ...
