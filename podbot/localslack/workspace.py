"""The state of one emulated Slack workspace, and the Python API to build it.

One ``RLock`` guards everything (users, channels, history, views, files, tokens) and one
``Condition`` on it announces every change, so the HTTP threads, the socket-mode threads and
a test waiting in ``wait_for`` see a consistent workspace without polling.

``Workspace.demo()`` is the workspace the demo and most tests use: users ``alice`` (the
default user), ``bob`` (the approver in the demo configuration) and ``carol``; channels
``#ops`` and ``#dev`` with the bot in them and ``#general`` without it; user group ``@sre``
containing bob.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from podbot.localslack.directory import Channel, Team, User, UserGroup, make_id
from podbot.localslack.files import Files, file_json
from podbot.localslack.history import History, Message, StoredMessage, message_json, thread_summary
from podbot.localslack.interactions import Interactions
from podbot.localslack.modals import Modals, StoredView, View, view_json
from podbot.localslack.render import Names, button_labels, render_message, render_view

JsonDict = dict[str, Any]

# Every bot scope the emulated methods check; a workspace grants all of them unless told otherwise,
# so a test can install the app with exactly its manifest's scopes and see missing_scope errors.
ALL_BOT_SCOPES = frozenset(
    {
        "commands", "chat:write", "channels:read", "channels:history", "groups:read", "groups:history",
        "im:write", "users:read", "users:read.email", "usergroups:read", "files:write", "files:read",
        "team:read", "metadata.message:read",
    }
)  # fmt: skip

SLACKBOT = User("USLACKBOT", "slackbot", "Slackbot", "", is_bot=True, bot_id="B01SLACKBOT")


class Workspace:
    """Users, channels, user groups, messages, views and files of one team."""

    def __init__(
        self,
        *,
        team_name: str = "podbot demo",
        domain: str = "podbot-demo",
        team_id: str = "T01PODBOT",
        app_id: str = "A01PODBOT",
        bot_name: str = "podbot",
        bot_token: str | None = None,
        app_token: str | None = None,
        verification_token: str | None = None,
        clock: Callable[[], float] = time.time,
        scopes: Iterable[str] = ALL_BOT_SCOPES,
    ) -> None:
        self.lock = threading.RLock()
        self.scopes = frozenset(scopes)  # the bot token's granted scopes
        self.changed = threading.Condition(self.lock)
        self.clock = clock
        self.team = Team(team_id, team_name, domain)
        self.app_id = app_id
        # Secrets: never part of a repr or a message.
        self.bot_token = bot_token or f"xoxb-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
        self.app_token = app_token or f"xapp-1-{app_id}-{secrets.randbelow(10**12)}-{secrets.token_hex(16)}"
        self.verification_token = verification_token or secrets.token_urlsafe(18)
        self.origin = "http://127.0.0.1"  # set by the server once it listens
        self._users: dict[str, User] = {SLACKBOT.id: SLACKBOT}
        self._channels: dict[str, Channel] = {}
        self._groups: dict[str, UserGroup] = {}
        self._counter = 0
        self.default_user: str | None = None
        self.bot = self._add_user(
            User(
                make_id("U", 0, bot_name),
                bot_name,
                bot_name,
                "",
                is_bot=True,
                bot_id=make_id("B", 0, bot_name),
            )
        )
        self.history = History(self.lock, self.changed, clock)
        self.modals = Modals(self.lock, self.changed, clock)
        self.files = Files(self.lock, clock)
        self.interactions = Interactions(self.lock, clock)

    def __repr__(self) -> str:
        return f"Workspace(team={self.team.id!r}, users={len(self._users)}, channels={len(self._channels)})"

    # --- building ----------------------------------------------------------------------------
    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _add_user(self, user: User) -> User:
        with self.lock:
            if any(u.name == user.name for u in self._users.values()):
                raise ValueError(f"a user named {user.name!r} already exists")
            self._users[user.id] = user
            return user

    def add_user(
        self,
        name: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "UTC",
        tz_offset: int = 0,
        locale: str = "en-US",
        is_admin: bool = False,
        default: bool = False,
        user_id: str | None = None,
    ) -> User:
        """Add a person. ``default=True`` (or being the first person) makes them the default user."""
        with self.lock:
            user = self._add_user(
                User(
                    user_id or make_id("U", self._next(), name),
                    name,
                    real_name or name.capitalize(),
                    email or f"{name}@example.com",
                    tz=tz,
                    tz_offset=tz_offset,
                    locale=locale,
                    is_admin=is_admin,
                )
            )
            if default or self.default_user is None:
                self.default_user = user.id
            return user

    def add_channel(
        self,
        name: str,
        *,
        members: Iterable[str] = (),
        bot: bool = True,
        private: bool = False,
        topic: str = "",
        purpose: str = "",
        channel_id: str | None = None,
    ) -> Channel:
        """Add a channel; ``members`` are user names or ids; ``bot`` puts the app's bot user in it."""
        with self.lock:
            name = name.lstrip("#")
            if self.find_channel(name) is not None:
                raise ValueError(f"a channel named #{name} already exists")
            ids = {self.user(m).id for m in members}
            if bot:
                ids.add(self.bot.id)
            channel = Channel(
                channel_id or make_id("G" if private else "C", self._next(), name),
                name,
                frozenset(ids),
                is_private=private,
                created=int(self.clock()),
                creator=self.default_user or self.bot.id,
                topic=topic,
                purpose=purpose,
            )
            self._channels[channel.id] = channel
            return channel

    def add_usergroup(
        self,
        handle: str,
        *,
        users: Iterable[str] = (),
        name: str | None = None,
        description: str = "",
        group_id: str | None = None,
    ) -> UserGroup:
        with self.lock:
            handle = handle.lstrip("@")
            if any(g.handle == handle for g in self._groups.values()):
                raise ValueError(f"a user group @{handle} already exists")
            group = UserGroup(
                group_id or make_id("S", self._next(), handle),
                handle,
                name or handle.upper(),
                tuple(self.user(u).id for u in users),
                description,
                int(self.clock()),
            )
            self._groups[group.id] = group
            return group

    def set_members(self, channel: str, members: Iterable[str]) -> Channel:
        with self.lock:
            current = self.channel(channel)
            updated = dataclasses.replace(current, members=frozenset(self.user(m).id for m in members))
            self._channels[current.id] = updated
            return updated

    def join(self, channel: str, user: str) -> Channel:
        with self.lock:
            current = self.channel(channel)
            return self.set_members(current.id, [*current.members, self.user(user).id])

    def leave(self, channel: str, user: str) -> Channel:
        with self.lock:
            current = self.channel(channel)
            gone = self.user(user).id
            return self.set_members(current.id, [m for m in current.members if m != gone])

    def set_usergroup_users(self, handle: str, users: Iterable[str]) -> UserGroup:
        with self.lock:
            group = self.usergroup(handle)
            updated = UserGroup(
                group.id,
                group.handle,
                group.name,
                tuple(self.user(u).id for u in users),
                group.description,
                group.created,
            )
            self._groups[group.id] = updated
            return updated

    @classmethod
    def demo(cls, **kwargs: Any) -> Workspace:
        """The demo workspace: alice (default), bob (approver), carol; #ops, #dev, #general; @sre."""
        ws = cls(**kwargs)
        ws.add_user("alice", real_name="Alice Adams", default=True)
        ws.add_user("bob", real_name="Bob Baker")
        ws.add_user("carol", real_name="Carol Chen", tz="Asia/Shanghai", tz_offset=8 * 3600, locale="zh-CN")
        ws.add_channel("ops", members=["alice", "bob", "carol"], topic="Kubernetes operations")
        ws.add_channel("dev", members=["alice", "carol"], topic="Development")
        ws.add_channel("general", members=["alice", "bob", "carol"], bot=False)
        ws.add_usergroup("sre", users=["bob"], name="SRE", description="Site reliability engineers")
        return ws

    # --- lookups -----------------------------------------------------------------------------
    # The Web API takes IDs (only chat.postMessage/postEphemeral document channel names): its
    # handlers use the ``*_by_id`` lookups; the name-friendly ones are for tests and the demo.
    def user_by_id(self, user_id: str) -> User | None:
        with self.lock:
            return self._users.get(user_id)

    def channel_by_id(self, channel_id: str) -> Channel | None:
        with self.lock:
            return self._channels.get(channel_id)

    def usergroup_by_id(self, group_id: str) -> UserGroup | None:
        with self.lock:
            return self._groups.get(group_id)

    def find_user(self, ref: str) -> User | None:
        """By id (``U01ALICE``) or name (``alice``/``@alice``)."""
        with self.lock:
            if ref in self._users:
                return self._users[ref]
            name = ref.lstrip("@")
            return next((u for u in self._users.values() if u.name == name), None)

    def user(self, ref: str) -> User:
        found = self.find_user(ref)
        if found is None:
            raise LookupError(f"no user {ref!r} in workspace {self.team.domain}")
        return found

    def find_channel(self, ref: str) -> Channel | None:
        """By id (``C01OPS``) or name (``ops``/``#ops``)."""
        with self.lock:
            if ref in self._channels:
                return self._channels[ref]
            name = ref.lstrip("#")
            return next((c for c in self._channels.values() if c.name == name and not c.is_im), None)

    def channel(self, ref: str) -> Channel:
        found = self.find_channel(ref)
        if found is None:
            raise LookupError(f"no channel {ref!r} in workspace {self.team.domain}")
        return found

    def find_usergroup(self, ref: str) -> UserGroup | None:
        with self.lock:
            if ref in self._groups:
                return self._groups[ref]
            return next((g for g in self._groups.values() if g.handle == ref.lstrip("@")), None)

    def usergroup(self, ref: str) -> UserGroup:
        found = self.find_usergroup(ref)
        if found is None:
            raise LookupError(f"no user group {ref!r} in workspace {self.team.domain}")
        return found

    def users(self) -> list[User]:
        with self.lock:
            return [u for u in self._users.values() if u.id != SLACKBOT.id]

    def channels(self) -> list[Channel]:
        with self.lock:
            return list(self._channels.values())

    def usergroups(self) -> list[UserGroup]:
        with self.lock:
            return list(self._groups.values())

    def im_channel(self, user_id: str) -> Channel:
        """The direct-message conversation between the bot and a user (opened on first use)."""
        with self.lock:
            for channel in self._channels.values():
                if channel.is_im and channel.members == frozenset({user_id, self.bot.id}):
                    return channel
            user = self.user(user_id)
            channel = Channel(
                make_id("D", self._next(), user.name),
                user.name,
                frozenset({user.id, self.bot.id}),
                is_private=True,
                is_im=True,
                created=int(self.clock()),
            )
            self._channels[channel.id] = channel
            return channel

    def names(self) -> Names:
        with self.lock:
            return Names(
                users={u.id: u.name for u in self._users.values()},
                channels={c.id: c.name for c in self._channels.values()},
                usergroups={g.id: g.handle for g in self._groups.values()},
            )

    # --- snapshots ---------------------------------------------------------------------------
    def file_objects(self, file_ids: Iterable[str]) -> list[JsonDict]:
        with self.lock:
            found = (self.files.get(f) for f in file_ids)
            return [
                file_json(f, team_id=self.team.id, origin=self.origin, domain=self.team.domain)
                for f in found
                if f is not None
            ]

    def message_json(self, stored: StoredMessage) -> JsonDict:
        with self.lock:
            extra: JsonDict = {}
            if stored.bot_id:
                poster = self.find_user(stored.user)
                extra["bot_profile"] = {
                    "id": stored.bot_id,
                    "deleted": False,
                    "name": poster.name if poster else "app",
                    "updated": 1700000000,
                    "app_id": stored.app_id,
                    "icons": {},
                    "team_id": self.team.id,
                }
            if stored.thread_ts is None or stored.thread_ts == stored.ts:
                extra.update(thread_summary(stored, self.history.replies(stored.channel, stored.ts)))
            return message_json(stored, self.team.id, self.file_objects(stored.files), extra)

    def snapshot(self, stored: StoredMessage) -> Message:
        with self.lock:
            data = self.message_json(stored)
            poster = self.find_user(stored.user)
            channel = self.find_channel(stored.channel)
            ephemeral = self.find_user(stored.ephemeral_to) if stored.ephemeral_to else None
            return Message(
                ts=stored.ts,
                channel=stored.channel,
                channel_name=channel.name if channel else "",
                user=stored.user,
                username=poster.name if poster else stored.user,
                text=stored.text,
                blocks=tuple(stored.blocks),
                attachments=tuple(stored.attachments),
                thread_ts=stored.thread_ts,
                ephemeral_to=ephemeral.name if ephemeral else stored.ephemeral_to,
                is_bot=stored.bot_id is not None,
                files=tuple(data.get("files", [])),
                edited=stored.edited is not None,
                deleted=stored.deleted,
                origin=stored.origin,
                seq=stored.seq,
                rendered=render_message(data, self.names()),
                buttons=tuple(button_labels(data)),
                json=data,
            )

    def view_snapshot(self, stored: StoredView) -> View:
        with self.lock:
            data = view_json(stored, team_id=self.team.id, app_id=self.app_id, bot_id=self.bot.bot_id or "")
            title = data.get("title") or {}
            return View(
                id=stored.id,
                user=stored.user,
                callback_id=str(data.get("callback_id", "")),
                title=str(title.get("text", "")) if isinstance(title, dict) else "",
                private_metadata=str(data.get("private_metadata", "")),
                blocks=tuple(data["blocks"]),
                state_values=stored.state_values,
                errors=dict(stored.errors),
                is_open=stored.open,
                rendered=render_view(data, self.names()),
                json=data,
            )

    def visible_to(self, stored: StoredMessage, user_id: str | None) -> bool:
        return stored.ephemeral_to is None or stored.ephemeral_to == user_id

    def messages(self, channel: str, *, user: str | None = None, threads: bool = True) -> list[Message]:
        """A channel's messages in order; ephemeral ones only for ``user``; replies after parents."""
        with self.lock:
            channel_id = self.channel(channel).id
            viewer = self.user(user).id if user else None
            stored = [m for m in self.history.in_channel(channel_id) if self.visible_to(m, viewer)]
            if not threads:
                stored = [m for m in stored if m.thread_ts in (None, m.ts) or m.reply_broadcast]
            return [self.snapshot(m) for m in stored]

    def wait_for(
        self, predicate: Callable[[Message], bool], *, timeout: float = 5.0, after: int = 0
    ) -> Message:
        """The first message posted or edited after sequence ``after`` that satisfies ``predicate``.

        Wakes on every workspace change (a Condition, not a sleep loop); raises ``TimeoutError``
        with the recent transcript when nothing matches in time.
        """
        deadline = time.monotonic() + timeout
        seen = after
        with self.changed:
            while True:
                for stored in self.history.changed_since(seen):
                    seen = max(seen, stored.seq)
                    snap = self.snapshot(stored)
                    if predicate(snap):
                        return snap
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = "\n".join(str(self.snapshot(m)) for m in self.history.all()[-8:])
                    raise TimeoutError(
                        f"no matching Slack message within {timeout}s; recent messages:\n{recent}"
                    )
                self.changed.wait(remaining)
