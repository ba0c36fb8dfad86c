"""Open modal views per user: the view stack Slack keeps for views.open/push/update.

Slack keeps one stack of up to 3 modals per user. views.open starts a new stack, views.push
adds to it (``push_limit_reached`` beyond 3), views.update replaces a view in place by
``view_id`` or ``external_id`` (``hash_conflict`` when a stale ``hash`` is given). Each stored
view also keeps what the user typed (``state.values``) and the inline errors the app returned
with ``response_action: errors``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podbot.localslack.wire import ApiError

JsonDict = dict[str, Any]

PUSH_LIMIT = 3


@dataclass
class StoredView:
    id: str
    user: str
    view: JsonDict
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    state_values: JsonDict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    open: bool = True

    @property
    def external_id(self) -> str:
        return str(self.view.get("external_id") or "")


@dataclass(frozen=True)
class View:
    """A snapshot of one modal as its user sees it."""

    id: str
    user: str
    callback_id: str
    title: str
    private_metadata: str
    blocks: tuple[JsonDict, ...]
    state_values: JsonDict
    errors: Mapping[str, str]
    is_open: bool
    rendered: str
    json: JsonDict = field(repr=False, compare=False)

    def __str__(self) -> str:
        errors = "".join(f"\n  ! {block}: {message}" for block, message in self.errors.items())
        return self.rendered + errors


class Modals:
    """Per-user view stacks. Thread-safe (shared workspace lock)."""

    def __init__(
        self, lock: threading.RLock, changed: threading.Condition, clock: Callable[[], float]
    ) -> None:
        self._lock = lock
        self._changed = changed
        self._clock = clock
        self._views: dict[str, StoredView] = {}
        self._stacks: dict[str, list[str]] = {}
        self._counter = 0

    def _new_id(self) -> str:
        self._counter += 1
        return f"V{self._counter:04d}{secrets.token_hex(3).upper()}"

    def _hash(self) -> str:
        return f"{int(self._clock())}.{secrets.token_hex(4)}"

    def _check_external_id(self, view: Mapping[str, Any], own_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if not external_id:
            return
        for stored in self._views.values():
            if stored.open and stored.external_id == external_id and stored.id != own_id:
                raise ApiError("duplicate_external_id")

    def open(self, user: str, view: JsonDict) -> StoredView:
        with self._lock:
            self._check_external_id(view)
            for old in self._stacks.get(user, []):
                self._views[old].open = False
            view_id = self._new_id()
            stored = StoredView(view_id, user, view, self._hash(), root_view_id=view_id)
            self._views[view_id] = stored
            self._stacks[user] = [view_id]
            self._changed.notify_all()
            return stored

    def push(self, user: str, view: JsonDict) -> StoredView:
        with self._lock:
            stack = self._stacks.get(user, [])
            if not stack:
                raise ApiError("not_found")
            if len(stack) >= PUSH_LIMIT:
                raise ApiError("push_limit_reached")
            self._check_external_id(view)
            view_id = self._new_id()
            root = self._views[stack[0]].id
            stored = StoredView(
                view_id, user, view, self._hash(), root_view_id=root, previous_view_id=stack[-1]
            )
            self._views[view_id] = stored
            stack.append(view_id)
            self._changed.notify_all()
            return stored

    def find(self, view_id: str = "", external_id: str = "") -> StoredView:
        with self._lock:
            if view_id:
                stored = self._views.get(view_id)
            else:
                stored = next(
                    (v for v in self._views.values() if v.open and v.external_id == external_id), None
                )
            if stored is None or not stored.open:
                raise ApiError("not_found")
            return stored

    def update(self, stored: StoredView, view: JsonDict, expected_hash: str = "") -> StoredView:
        with self._lock:
            if not stored.open:
                raise ApiError("not_found")
            if expected_hash and expected_hash != stored.hash:
                raise ApiError("hash_conflict")
            self._check_external_id(view, own_id=stored.id)
            stored.view = view
            stored.hash = self._hash()
            stored.errors = {}
            self._changed.notify_all()
            return stored

    def get(self, view_id: str) -> StoredView | None:
        with self._lock:
            return self._views.get(view_id)

    def stack(self, user: str) -> list[StoredView]:
        with self._lock:
            return [self._views[v] for v in self._stacks.get(user, [])]

    def close(self, stored: StoredView) -> None:
        """Close one view (an empty ack of its submission, or the user pressing Cancel)."""
        with self._lock:
            stored.open = False
            stack = self._stacks.get(stored.user, [])
            if stored.id in stack:
                del stack[stack.index(stored.id) :]
            self._changed.notify_all()

    def clear(self, user: str) -> list[StoredView]:
        """Close every view of the user's stack (``response_action: clear``)."""
        with self._lock:
            closed = self.stack(user)
            for stored in closed:
                stored.open = False
            self._stacks[user] = []
            self._changed.notify_all()
            return closed

    def set_errors(self, stored: StoredView, errors: Mapping[str, str]) -> None:
        with self._lock:
            stored.errors = dict(errors)
            self._changed.notify_all()


def view_json(stored: StoredView, *, team_id: str, app_id: str, bot_id: str) -> JsonDict:
    """The full view object as Slack returns it from views.* and sends it in payloads."""
    view = stored.view
    return {
        "id": stored.id,
        "team_id": team_id,
        "type": view.get("type", "modal"),
        "blocks": view.get("blocks") or [],
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": stored.state_values},
        "hash": stored.hash,
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": stored.previous_view_id,
        "root_view_id": stored.root_view_id,
        "app_id": app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": team_id,
        "bot_id": bot_id,
    }
