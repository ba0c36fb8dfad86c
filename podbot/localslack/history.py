"""Message history: every channel's messages, thread replies and per-user ephemeral messages.

``StoredMessage`` is the mutable record kept under the workspace lock; ``Message`` is the
immutable snapshot handed to tests and the demo (with its rendered text and numbered buttons).
Timestamps are Slack's ``"<seconds>.<micros>"`` strings, strictly increasing, taken from the
workspace clock. Every change bumps a global sequence number and notifies the workspace
condition, so ``wait_for`` wakes on new or edited messages instead of polling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from podbot.localslack.render import ButtonLabel

JsonDict = dict[str, Any]


@dataclass
class StoredMessage:
    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[JsonDict] = field(default_factory=list)
    attachments: list[JsonDict] = field(default_factory=list)
    bot_id: str | None = None
    app_id: str | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    ephemeral_to: str | None = None
    files: list[str] = field(default_factory=list)
    edited: JsonDict | None = None
    deleted: bool = False
    origin: str = "chat.postMessage"
    seq: int = 0
    metadata: JsonDict | None = None


@dataclass(frozen=True)
class Message:
    """A message as one reader sees it, frozen at the time it was read."""

    ts: str
    channel: str
    channel_name: str
    user: str
    username: str
    text: str
    blocks: tuple[JsonDict, ...]
    attachments: tuple[JsonDict, ...]
    thread_ts: str | None
    ephemeral_to: str | None
    is_bot: bool
    files: tuple[JsonDict, ...]
    edited: bool
    deleted: bool
    origin: str
    seq: int
    rendered: str
    buttons: tuple[ButtonLabel, ...]
    json: JsonDict = field(repr=False, compare=False)

    @property
    def is_ephemeral(self) -> bool:
        return self.ephemeral_to is not None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def button(self, name: str | int) -> ButtonLabel:
        """A button by number (``1`` or ``"1"``), action_id, or visible text (case-insensitive)."""
        wanted = str(name).strip()
        for label in self.buttons:
            if wanted == str(label.number) or wanted == label.action_id:
                return label
        for label in self.buttons:
            if label.text.strip().casefold() == wanted.casefold():
                return label
        shown = ", ".join(f"{b.number}: {b.text}" for b in self.buttons) or "none"
        raise LookupError(f"no button {wanted!r} in message {self.ts} (buttons: {shown})")

    def has_button(self, name: str | int) -> bool:
        try:
            self.button(name)
        except LookupError:
            return False
        return True

    def header(self) -> str:
        where = f"#{self.channel_name}" if self.channel_name else self.channel
        if self.is_reply:
            where += f" (thread {self.thread_ts})"
        note = f" (only visible to @{self.ephemeral_to})" if self.ephemeral_to else ""
        edited = " (edited)" if self.edited else ""
        return f"[{where}] {self.username}{' (app)' if self.is_bot else ''}{note}{edited}:"

    def __str__(self) -> str:
        body = "\n".join("  " + line for line in self.rendered.split("\n"))
        return f"{self.header()}\n{body}"


class History:
    """All messages of a workspace. Every method takes the shared workspace lock itself."""

    def __init__(
        self, lock: threading.RLock, changed: threading.Condition, clock: Callable[[], float]
    ) -> None:
        self._lock = lock
        self._changed = changed
        self._clock = clock
        self._by_channel: dict[str, list[StoredMessage]] = {}
        self._index: dict[tuple[str, str], StoredMessage] = {}
        self._last_micros = 0
        self._seq = 0
        # Every message once, in the order of its last change (seq): changed_since reads only the tail.
        self._by_seq: dict[int, StoredMessage] = {}

    @property
    def seq(self) -> int:
        with self._lock:
            return self._seq

    def next_ts(self) -> str:
        with self._lock:
            micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
            self._last_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _touch(self, message: StoredMessage) -> None:
        self._seq += 1
        message.seq = self._seq
        self._by_seq.pop(id(message), None)  # messages stay in the history: their ids stay theirs
        self._by_seq[id(message)] = message
        self._changed.notify_all()

    def add(self, message: StoredMessage) -> StoredMessage:
        with self._lock:
            if not message.ts:
                message.ts = self.next_ts()
            self._by_channel.setdefault(message.channel, []).append(message)
            self._index[(message.channel, message.ts)] = message
            self._touch(message)
            return message

    def get(self, channel: str, ts: str, *, deleted: bool = False) -> StoredMessage | None:
        """The message ``ts`` of ``channel``; a deleted one only with ``deleted=True``."""
        with self._lock:
            message = self._index.get((channel, ts))
            return None if message is None or (message.deleted and not deleted) else message

    def change(self, message: StoredMessage, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(message, key, value)
            self._touch(message)

    def in_channel(self, channel: str) -> list[StoredMessage]:
        with self._lock:
            return [m for m in self._by_channel.get(channel, []) if not m.deleted]

    def replies(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        with self._lock:
            return [m for m in self.in_channel(channel) if m.thread_ts == thread_ts and m.ts != thread_ts]

    def changed_since(self, seq: int) -> Iterator[StoredMessage]:
        """Messages posted or changed after ``seq``, oldest change first (costs what changed, not
        the whole history: waiting clients call this on every change)."""
        with self._lock:
            found = []
            for message in reversed(self._by_seq.values()):
                if message.seq <= seq:
                    break
                if not message.deleted:
                    found.append(message)
        yield from reversed(found)

    def all(self) -> list[StoredMessage]:
        with self._lock:
            return sorted(
                (m for msgs in self._by_channel.values() for m in msgs if not m.deleted),
                key=lambda m: (m.ts, m.channel),
            )


def thread_summary(parent: StoredMessage, replies: list[StoredMessage]) -> JsonDict:
    """The reply bookkeeping Slack adds to a thread's parent message."""
    if not replies:
        return {}
    users: list[str] = []
    for reply in replies:
        if reply.user not in users:
            users.append(reply.user)
    return {
        "thread_ts": parent.ts,
        "reply_count": len(replies),
        "reply_users_count": len(users),
        "latest_reply": replies[-1].ts,
        "reply_users": users,
        "is_locked": False,
        "subscribed": False,
    }


def message_json(
    message: StoredMessage, team_id: str, files: list[JsonDict], extra: Mapping[str, Any]
) -> JsonDict:
    """The message object as the Web API returns it (history, postMessage, block_actions)."""
    data: JsonDict = {"user": message.user, "type": "message", "ts": message.ts}
    if message.bot_id:
        data["bot_id"] = message.bot_id
        data["app_id"] = message.app_id
    data["text"] = message.text
    data["team"] = team_id
    if message.blocks:
        data["blocks"] = message.blocks
    if message.attachments:
        data["attachments"] = message.attachments
    if message.thread_ts:
        data["thread_ts"] = message.thread_ts
        if message.reply_broadcast:
            data["subtype"] = "thread_broadcast"
    if files:
        data["files"] = files
        data["upload"] = False
        data["display_as_bot"] = False
    if message.edited:
        data["edited"] = message.edited
    if message.metadata:
        data["metadata"] = message.metadata
    data.update(extra)
    return data
