"""Per-user identity: which Kubernetes user (and groups) a Slack user acts as.

When ``identity.enabled`` is on, every API call podbot makes for someone carries impersonation
headers (``Impersonate-User``, one ``Impersonate-Group`` line per group), so the cluster's own
RBAC decides what that person may do. The Kubernetes user is the explicit mapping
(``identity.users``) or else the email on the Slack profile (``users.info``, which needs the
``users:read.email`` scope); Slack user groups map to Kubernetes groups (``identity.groups``).

A Slack user who cannot be mapped is refused: falling back to podbot's own (usually broader)
service account would hand them the bot's rights, the very thing impersonation is there to stop.
"""

from __future__ import annotations

from podbot.app.ports import People
from podbot.core.errors import NotPermitted
from podbot.core.i18n import t
from podbot.core.model import Origin
from podbot.core.settings import Settings
from podbot.k8s.api import Identity


class SlackIdentities:
    """``gate.IdentityResolver``: Slack user -> Kubernetes ``Identity`` (None when the feature is off)."""

    def __init__(self, settings: Settings, people: People) -> None:
        self._settings = settings
        self._people = people

    @property
    def enabled(self) -> bool:
        return self._settings.identity.enabled

    def identity(self, origin: Origin) -> Identity | None:
        config = self._settings.identity
        if not config.enabled:
            return None
        user = config.users.get(origin.user_id, "")
        if not user and config.use_email:
            # Directory degrades a Slack failure to "no email": refused below, never the bot's identity.
            user = self._people.email_of(origin.user_id)
        if not user:
            locale = self._settings.locale_for(origin.channel_id, origin.channel_name)
            raise NotPermitted(t("identity.unmapped", locale, user=origin.user_id))
        groups: list[str] = []
        member_of = self._people.groups_of(origin.user_id, tuple(config.groups))
        for slack_group, kube_groups in config.groups.items():
            if slack_group in member_of:
                groups.extend(g for g in kube_groups if g not in groups)
        return Identity(user=user, groups=tuple(groups))
