"""How Slack accepts and stores messages: the rules shared by chat.*, response_url and acks.

Everything that turns "an app wants to show this" into a stored message goes through
``Messaging``: content checks (``no_text``, ``invalid_blocks``, ``msg_blocks_too_long``,
``msg_too_long``, 40k truncation), channel resolution (IDs; names and user IDs only where
Slack documents them), membership (``channel_not_found`` for private channels the bot cannot
see, ``not_in_channel``), threads (``invalid_thread_ts``; a reply to a reply joins the parent's
thread; a reply to a deleted message is orphaned), and the
response_url / slash-command-ack semantics (ephemeral by default, ``in_channel``,
``replace_original``, ``delete_original``, 5 posts per URL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from podbot.localslack.blockkit import (
    Limits,
    blocks_text_length,
    normalize_blocks,
    validate_blocks,
)
from podbot.localslack.directory import Channel
from podbot.localslack.history import StoredMessage
from podbot.localslack.interactions import ResponseUrl
from podbot.localslack.schema import error_body
from podbot.localslack.wire import ApiError
from podbot.localslack.workspace import Workspace

JsonDict = dict[str, Any]

MAX_ATTACHMENTS = 100
_TS = re.compile(r"\d+\.\d+")  # Slack's message timestamps: "1750000000.000100"


@dataclass(frozen=True)
class Content:
    text: str
    blocks: list[JsonDict] | None  # None: not given (chat.update keeps the old ones)
    attachments: list[JsonDict] | None


def _blocks_error(errors: list[Any]) -> ApiError:
    body = error_body("invalid_blocks", errors)
    return ApiError("invalid_blocks", extra={k: v for k, v in body.items() if k not in ("ok", "error")})


class Messaging:
    def __init__(self, workspace: Workspace, limits: Limits) -> None:
        self.ws = workspace
        # Called with every message the bot posts, once stored (the Events API hangs off this).
        self.on_stored: list[Callable[[StoredMessage], None]] = []
        self.limits = limits

    # --- content -----------------------------------------------------------------------------
    def content(
        self, text: Any, blocks: Any, attachments: Any, *, update: bool = False, require: bool = True
    ) -> Content:
        """Check text/blocks/attachments as Slack does; returns normalized, storable content."""
        lim = self.limits
        text = "" if text is None else str(text)
        if blocks == "" or blocks is None:
            blocks = None
        if attachments == "" or attachments is None:
            attachments = None
        if require and not text and not blocks and not attachments:
            raise ApiError("no_text")
        if update and len(text) > lim.update_text:
            raise ApiError("msg_too_long")
        if len(text) > lim.message_text:
            text = text[: lim.message_text]  # Slack truncates instead of failing
        stored_blocks: list[JsonDict] | None = None
        if blocks is not None:
            errors = validate_blocks(blocks, lim)
            if errors:
                raise _blocks_error(errors)
            if blocks_text_length(blocks) > lim.blocks_total_text:
                raise ApiError("msg_blocks_too_long")
            stored_blocks = normalize_blocks(blocks)
        stored_attachments: list[JsonDict] | None = None
        if attachments is not None:
            if not isinstance(attachments, list) or not all(isinstance(a, Mapping) for a in attachments):
                raise ApiError("invalid_attachments")
            if len(attachments) > MAX_ATTACHMENTS:
                raise ApiError("too_many_attachments")
            stored_attachments = []
            for i, attachment in enumerate(attachments):
                item = dict(attachment)
                if item.get("blocks") is not None:
                    errors = validate_blocks(item["blocks"], lim, pointer=f"/attachments/{i}/blocks")
                    if errors:
                        raise _blocks_error(errors)
                    item["blocks"] = normalize_blocks(item["blocks"])
                item.setdefault("id", i + 1)
                stored_attachments.append(item)
        return Content(text, stored_blocks, stored_attachments)

    # --- channels ----------------------------------------------------------------------------
    def channel_for_post(self, ref: str, *, user_dm: bool = True) -> Channel:
        """Resolve ``channel`` as chat.postMessage (and postEphemeral) document it: an ID, a
        channel name (``ops`` or ``#ops``), or for postMessage a user ID (the DM with the app)."""
        if not ref:
            raise ApiError("channel_not_found")
        channel = self.ws.find_channel(ref)
        if channel is None and user_dm:
            user = self.ws.user_by_id(ref)
            if user is not None and not user.is_bot:
                return self.ws.im_channel(user.id)
        if channel is None:
            raise ApiError("channel_not_found")
        return self.check_bot_access(channel)

    def channel_by_id(self, ref: str) -> Channel:
        """Resolve ``channel`` where Slack takes a conversation ID only (``channel_not_found``)."""
        channel = self.ws.channel_by_id(ref)
        if channel is None:
            raise ApiError("channel_not_found")
        return channel

    def check_bot_access(self, channel: Channel) -> Channel:
        bot = self.ws.bot.id
        if channel.is_private and bot not in channel.members:
            raise ApiError("channel_not_found")  # private conversations are invisible to non-members
        if channel.is_archived:
            raise ApiError("is_archived")
        if bot not in channel.members:
            raise ApiError("not_in_channel")
        return channel

    def thread_parent(self, channel: Channel, thread_ts: str) -> str | None:
        """The ts of the thread a reply joins (None: no ``thread_ts``, a top-level message).

        ``invalid_thread_ts`` when it is malformed or was never a message of this channel
        (ephemeral messages have no threads). A reply to a reply joins the parent's thread; a
        reply to a deleted message is accepted and orphaned: it is in no visible thread and
        never at the top level of the channel.
        """
        if not thread_ts:
            return None
        if not _TS.fullmatch(thread_ts):
            raise ApiError("invalid_thread_ts")
        parent = self.ws.history.get(channel.id, thread_ts, deleted=True)
        if parent is None or parent.ephemeral_to:
            raise ApiError("invalid_thread_ts")
        return parent.thread_ts or parent.ts

    # --- posting -----------------------------------------------------------------------------
    def post(
        self,
        channel: Channel,
        content: Content,
        *,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        ephemeral_to: str | None = None,
        origin: str = "chat.postMessage",
        files: list[str] | None = None,
        metadata: JsonDict | None = None,
    ) -> StoredMessage:
        """Store a message from the app's bot user."""
        bot = self.ws.bot
        stored = self.ws.history.add(
            StoredMessage(
                ts="",
                channel=channel.id,
                user=bot.id,
                text=content.text,
                blocks=content.blocks or [],
                attachments=content.attachments or [],
                bot_id=bot.bot_id,
                app_id=self.ws.app_id,
                thread_ts=thread_ts,
                reply_broadcast=reply_broadcast and thread_ts is not None,
                ephemeral_to=ephemeral_to,
                origin=origin,
                files=files or [],
                metadata=metadata,
            )
        )
        for hook in self.on_stored:
            hook(stored)
        return stored

    def post_as_slackbot(self, channel_id: str, user_id: str, text: str) -> StoredMessage:
        """What Slack itself tells a user (e.g. a slash command that failed), only visible to them."""
        return self.ws.history.add(
            StoredMessage(
                ts="",
                channel=channel_id,
                user="USLACKBOT",
                text=text,
                ephemeral_to=user_id,
                origin="slackbot",
            )
        )

    def replace(self, message: StoredMessage, content: Content, *, edited_by: str | None = None) -> None:
        changes: JsonDict = {"text": content.text}
        if content.blocks is not None:
            changes["blocks"] = content.blocks
        elif content.text:
            changes["blocks"] = []  # text without blocks replaces the blocks (chat.update rule)
        if content.attachments is not None:
            changes["attachments"] = content.attachments
        if edited_by:
            changes["edited"] = {"user": edited_by, "ts": self.ws.history.next_ts()}
        self.ws.history.change(message, **changes)

    # --- response_url and slash command acks -------------------------------------------------
    def respond(
        self, url: ResponseUrl, body: Mapping[str, Any], *, origin: str = "response_url"
    ) -> StoredMessage | None:
        """Apply a response_url post (or a slash command's ack body) the way Slack does.

        Raises ``ApiError`` with the HTTP status Slack uses (400 for bad content). The caller
        counts the use.
        """
        with self.ws.lock:
            original = self.ws.history.get(url.channel, url.original_ts) if url.original_ts else None
            if _truthy(body.get("delete_original")):
                if original is not None:
                    self.ws.history.change(original, deleted=True)
                return None
            channel = self.ws.channel(url.channel)
            try:
                content = self.content(body.get("text"), body.get("blocks"), body.get("attachments"))
                thread = self.thread_parent(channel, str(body.get("thread_ts") or ""))
            except ApiError as e:
                raise ApiError(e.code, status=400, extra=e.extra) from None
            if _truthy(body.get("replace_original")) and original is not None:
                self.replace(original, content)
                return original
            in_channel = body.get("response_type") == "in_channel"
            if in_channel and url.command_text and not url.echoed:
                # Slack shows everyone the command that produced the first in_channel response.
                url.echoed = True
                self.ws.history.add(
                    StoredMessage(
                        ts="", channel=channel.id, user=url.user, text=url.command_text, origin="command"
                    )
                )
            message = self.post(
                channel,
                content,
                thread_ts=thread,
                ephemeral_to=None if in_channel else url.user,
                origin=origin,
            )
            if url.kind == "commands":
                url.original_ts = message.ts  # later replace_original acts on the latest response
            return message


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
