"""podbot.localslack: a faithful local Slack workspace on loopback, for tests and ``podbot demo``.

The bot under test uses the unchanged ``slack_sdk.WebClient`` with ``base_url=slack.api_url``
and receives slash commands and interactions signed with its signing secret (HTTP) or over
Socket Mode, exactly as Slack sends them. Product code never imports this package.

Socket Mode (``podbot.localslack.socketmode.SocketModeGateway``) needs the ``websockets``
package and is imported only when first used.
"""

from podbot.localslack.actions import ActionResult, CommandResult, ConfirmationRequired, ViewResult
from podbot.localslack.blockkit import Limits
from podbot.localslack.delivery import BotReply, Tamper, sign
from podbot.localslack.directory import Channel, Team, User, UserGroup
from podbot.localslack.emulator import BotSettings, LocalSlack
from podbot.localslack.history import Message
from podbot.localslack.modals import View
from podbot.localslack.render import ButtonLabel, Names, render_blocks, render_message, render_view
from podbot.localslack.server import ApiCall
from podbot.localslack.traffic import MARKETPLACE, NON_MARKETPLACE, Fault, Faults, HistoryTier, RateLimits
from podbot.localslack.workspace import Workspace

__all__ = [
    "MARKETPLACE",
    "NON_MARKETPLACE",
    "ActionResult",
    "ApiCall",
    "BotReply",
    "BotSettings",
    "ButtonLabel",
    "Channel",
    "CommandResult",
    "ConfirmationRequired",
    "Fault",
    "Faults",
    "HistoryTier",
    "Limits",
    "LocalSlack",
    "Message",
    "Names",
    "RateLimits",
    "Tamper",
    "Team",
    "User",
    "UserGroup",
    "View",
    "ViewResult",
    "Workspace",
    "render_blocks",
    "render_message",
    "render_view",
    "sign",
]
