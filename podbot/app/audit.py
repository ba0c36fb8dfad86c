"""``/pod audit [--user U] [--since 1d] [-n NS]``: the audit log, read from Slack.

A channel sees the records of the namespaces its channel policy lets it touch (all of them for a
channel allowed ``*``), so the audit log does not become a way around that policy. Answers are
private to the asker, like every read.
"""

from __future__ import annotations

import re
from datetime import timedelta

from podbot.app.pipeline import Asker, Podbot, Reply
from podbot.core.errors import NotPermitted, UsageError
from podbot.core.i18n import t
from podbot.core.model import Request, ShowAudit
from podbot.core.policy import check_verb, namespace_visible
from podbot.core.records import AuditQuery
from podbot.render.audit import audit_list
from podbot.slack.directory import Directory
from podbot.store.audit import AuditLog

SHOWN = 50
SCANNED = 1000  # when the channel policy hides some namespaces, look further back for visible ones
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class AuditView:
    def __init__(self, bot: Podbot, log: AuditLog, directory: Directory) -> None:
        self._bot = bot
        self._log = log
        self._directory = directory

    def show(self, request: Request, asker: Asker) -> Reply:
        """The handler of ``ShowAudit`` (``bot.extra_handlers``)."""
        if not isinstance(request, ShowAudit):
            raise TypeError(f"AuditView cannot answer {type(request).__name__}")
        locale = self._bot.locale(asker)
        policy = self._bot.settings.channel_policy(asker.channel_id, asker.channel_name)
        check_verb(policy, request.verb, locale)
        if request.namespace and not namespace_visible(policy, request.namespace):
            raise NotPermitted(
                t(
                    "policy.namespace_refused",
                    locale,
                    namespace=request.namespace,
                    allowed=", ".join(policy.namespaces),
                )
            )
        user_id = self._user_id(request.user, locale) if request.user else None
        since = (
            self._bot.now() - timedelta(seconds=request.since_seconds)
            if request.since_seconds is not None
            else None
        )
        everything = "*" in policy.namespaces
        events = self._log.query(
            AuditQuery(
                user_id=user_id,
                since=since,
                namespace=request.namespace,
                limit=SHOWN + 1 if everything else SCANNED,
            )
        )
        visible = [e for e in events if namespace_visible(policy, e.namespace)]
        rendered = audit_list(
            visible[:SHOWN],
            locale,
            user=user_id,
            since=since,
            namespace=request.namespace,
            truncated=len(visible) > SHOWN,
        )
        return Reply(rendered)

    def _user_id(self, user: str, locale: str) -> str:
        """A user ID as given (a mention arrives as one), else looked up by name in the workspace."""
        if _USER_ID.match(user):
            return user
        found = self._directory.find_user_id(user)
        if found is None:
            raise UsageError(t("audit.unknown_user", locale, user=user))
        return found
