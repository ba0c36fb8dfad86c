"""What every Web API method handler gets: the workspace, the message rules, and the gateway.

Handlers are plain functions ``(core, request) -> ApiResult`` that raise ``ApiError``; each
``methods_*`` module exposes a ``METHODS`` table of them, merged by the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from podbot.localslack.blockkit import Limits
from podbot.localslack.messaging import Messaging
from podbot.localslack.traffic import HistoryLimits, HistoryTier
from podbot.localslack.wire import ApiRequest, ApiResult
from podbot.localslack.workspace import Workspace

Handler = Callable[["Core", ApiRequest], ApiResult]


@dataclass(frozen=True)
class Method:
    handler: Handler
    tokens: frozenset[str] = frozenset({"bot"})  # which token kinds may call it
    header_token: bool = False  # the token must come in the Authorization header (apps.connections.open)
    scope: str = ""  # the bot scope Slack requires (missing_scope otherwise)


@dataclass
class Core:
    workspace: Workspace
    messaging: Messaging
    history_limits: HistoryLimits
    socket_url: Callable[[], str] = field(
        default=lambda: ""
    )  # issues a Socket Mode URL (apps.connections.open)

    @property
    def history_tier(self) -> HistoryTier:
        return self.history_limits.tier

    @property
    def limits(self) -> Limits:
        return self.messaging.limits

    @property
    def origin(self) -> str:
        return self.workspace.origin
