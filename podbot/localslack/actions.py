"""The people in the workspace acting: slash commands, button clicks, modal submit and close.

Each action builds the payload Slack would build, issues a fresh ``trigger_id`` (and
``response_url`` where Slack gives one), delivers it to the bot (signed HTTP or Socket Mode)
and then does what Slack does with the bot's acknowledgement:

- slash command: a non-empty ack body is shown as a message, ephemeral unless
  ``response_type: in_channel``; a failed or late ack shows Slackbot's
  ``/pod failed with the error "operation_timeout"`` to the user.
- button: a button with a ``confirm`` dialog is only sent once the caller answers it:
  ``click(..., confirm=True)`` presses the dialog's confirm button, ``confirm=False`` its deny
  button (nothing is sent); leaving it ``None`` raises ``ConfirmationRequired`` showing the
  dialog. The ack body of a block action is ignored, as in Slack.
- modal submit: the client first enforces required inputs and min/max lengths (nothing is
  sent when they fail); then an empty ack closes the view, ``response_action`` ``errors``
  shows inline errors, ``update`` replaces the view, ``push`` stacks a new one, ``clear``
  closes them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from podbot.localslack import payloads
from podbot.localslack.blockkit import normalize_blocks, validate_view
from podbot.localslack.delivery import BotReply, Tamper
from podbot.localslack.directory import User
from podbot.localslack.history import Message
from podbot.localslack.messaging import Messaging
from podbot.localslack.modals import StoredView, View, view_json
from podbot.localslack.render import ButtonLabel, button_labels
from podbot.localslack.wire import ApiError
from podbot.localslack.workspace import Workspace

JsonDict = dict[str, Any]


class Transport(Protocol):
    def send(
        self, kind: str, payload: JsonDict, body: str, *, accepts_response_payload: bool, tamper: Tamper
    ) -> BotReply: ...


class ConfirmationRequired(Exception):
    """The button asks for confirmation; pass ``confirm=True`` (or ``False``) to answer."""

    def __init__(self, button: ButtonLabel, dialog: Mapping[str, Any]) -> None:
        def text(key: str) -> str:
            value = dialog.get(key) or {}
            return str(value.get("text", "")) if isinstance(value, Mapping) else ""

        self.button = button
        self.title = text("title")
        self.text = text("text")
        self.confirm_label = text("confirm") or "Yes"
        self.deny_label = text("deny") or "Cancel"
        super().__init__(
            f"{button.text!r} asks: {self.title}: {self.text} [{self.confirm_label}] / [{self.deny_label}]"
            " - answer with confirm=True or confirm=False"
        )


@dataclass(frozen=True)
class CommandResult:
    reply: BotReply
    form: Mapping[str, str]
    response_url: str
    trigger_id: str
    ack_message: Message | None = None  # the message the ack body turned into, if any
    ack_error: str | None = None  # Slack's error for an ack body it could not show

    @property
    def ok(self) -> bool:
        return self.reply.ok and self.ack_error is None


@dataclass(frozen=True)
class ActionResult:
    sent: bool
    reply: BotReply | None = None
    payload: JsonDict = field(default_factory=dict)
    response_url: str | None = None
    trigger_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.sent and self.reply is not None and self.reply.ok


@dataclass(frozen=True)
class ViewResult:
    sent: bool
    reply: BotReply | None = None
    response_action: str | None = None
    errors: Mapping[str, str] = field(default_factory=dict)  # from the bot (response_action: errors)
    client_errors: Mapping[str, str] = field(default_factory=dict)  # from Slack's client, nothing sent
    view: View | None = None  # the user's top view afterwards (None when every view closed)
    payload: JsonDict = field(default_factory=dict)
    error: str | None = None

    @property
    def closed(self) -> bool:
        return (
            self.sent and self.error is None and self.response_action in (None, "clear") and not self.errors
        )


class UserActions:
    def __init__(
        self, workspace: Workspace, messaging: Messaging, transport: Callable[[], Transport]
    ) -> None:
        self.ws = workspace
        self.messaging = messaging
        self._transport = transport

    def _user(self, user: str | None) -> User:
        ref = user or self.ws.default_user
        if ref is None:
            raise LookupError("no user given and the workspace has no default user")
        return self.ws.user(ref)

    def _response_url(
        self, kind: str, user: str, channel: str, original_ts: str | None = None
    ) -> tuple[str, str]:
        path = self.ws.interactions.issue_response_url(kind, self.ws.team.id, user, channel, original_ts)
        return path, self.ws.origin + path

    # --- slash commands ----------------------------------------------------------------------
    def send_command(
        self, user: str | None, channel: str, command: str, text: str = "", *, tamper: Tamper = Tamper.NONE
    ) -> CommandResult:
        ws = self.ws
        person = self._user(user)
        where = ws.channel(channel)
        if person.id not in where.members:
            raise LookupError(
                f"@{person.name} is not a member of #{where.name}: add them before typing there"
            )
        command = command if command.startswith("/") else "/" + command
        trigger_id = ws.interactions.issue_trigger(person.id)
        path = ws.interactions.issue_response_url(
            "commands", ws.team.id, person.id, where.id, command_text=f"{command} {text}".strip()
        )
        response_url = ws.origin + path
        form = payloads.slash_command(
            token=ws.verification_token,
            team=ws.team,
            channel=where,
            user=person,
            command=command,
            text=text,
            app_id=ws.app_id,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        reply = self._transport().send(
            "slash_commands",
            dict(form),
            payloads.form_body(form),
            accepts_response_payload=True,
            tamper=tamper,
        )
        if reply.error is not None:
            self.messaging.post_as_slackbot(
                where.id, person.id, f'{command} failed with the error "{reply.error}"'
            )
            return CommandResult(reply, form, response_url, trigger_id)
        body = _ack_body(reply)
        if body is None:
            return CommandResult(reply, form, response_url, trigger_id)
        url = ws.interactions.response_url(path)
        if url is None:  # issued a moment ago; only a programming error gets here
            raise RuntimeError("response_url vanished")
        try:
            stored = self.messaging.respond(url, body, origin="ack")
        except ApiError as e:
            return CommandResult(reply, form, response_url, trigger_id, ack_error=e.code)
        message = ws.snapshot(stored) if stored is not None else None
        return CommandResult(reply, form, response_url, trigger_id, ack_message=message)

    # --- buttons -----------------------------------------------------------------------------
    def click(
        self,
        user: str | None,
        target: Message | View,
        button: str | int,
        *,
        confirm: bool | None = None,
        tamper: Tamper = Tamper.NONE,
    ) -> ActionResult:
        if isinstance(target, View):
            return self._click_in_view(user, target, button, confirm=confirm, tamper=tamper)
        ws = self.ws
        person = self._user(user)
        stored = ws.history.get(target.channel, target.ts)
        if stored is None:
            raise LookupError(f"message {target.ts} no longer exists")
        if stored.ephemeral_to is not None and stored.ephemeral_to != person.id:
            raise LookupError(f"@{person.name} cannot see that ephemeral message")
        current = ws.snapshot(stored)  # the client shows the latest version of the message
        label = current.button(button)
        if not self._confirmed(label, confirm):
            return ActionResult(sent=False)
        channel = ws.channel(stored.channel)
        trigger_id = ws.interactions.issue_trigger(person.id)
        _, response_url = self._response_url("actions", person.id, channel.id, stored.ts)
        container = {
            "type": "message",
            "message_ts": stored.ts,
            "channel_id": channel.id,
            "is_ephemeral": stored.ephemeral_to is not None,
        }
        if stored.thread_ts:
            container["thread_ts"] = stored.thread_ts
        payload = payloads.block_actions(
            token=ws.verification_token,
            team=ws.team,
            user=person,
            app_id=ws.app_id,
            trigger_id=trigger_id,
            action=payloads.button_action(label, ws.history.next_ts()),
            container=container,
            channel=channel,
            # Slack leaves the message out of payloads for ephemeral messages.
            message=None if stored.ephemeral_to else current.json,
            response_url=response_url,
        )
        reply = self._transport().send(
            "interactive",
            payload,
            payloads.interaction_body(payload),
            accepts_response_payload=False,
            tamper=tamper,
        )
        return ActionResult(True, reply, payload, response_url, trigger_id)

    def _confirmed(self, label: ButtonLabel, confirm: bool | None) -> bool:
        dialog = label.element.get("confirm")
        if not isinstance(dialog, Mapping):
            return True
        if confirm is None:
            raise ConfirmationRequired(label, dialog)
        return confirm

    def _click_in_view(
        self, user: str | None, target: View, button: str | int, *, confirm: bool | None, tamper: Tamper
    ) -> ActionResult:
        ws = self.ws
        person = self._user(user)
        stored = self._open_view(person.id, target.id)
        snapshot = ws.view_snapshot(stored)
        label = _view_button(snapshot, button)
        if not self._confirmed(label, confirm):
            return ActionResult(sent=False)
        trigger_id = ws.interactions.issue_trigger(person.id, view_id=stored.id)
        payload = payloads.block_actions(
            token=ws.verification_token,
            team=ws.team,
            user=person,
            app_id=ws.app_id,
            trigger_id=trigger_id,
            action=payloads.button_action(label, ws.history.next_ts()),
            container={"type": "view", "view_id": stored.id},
            view=snapshot.json,
            state_values=stored.state_values,
        )
        reply = self._transport().send(
            "interactive",
            payload,
            payloads.interaction_body(payload),
            accepts_response_payload=False,
            tamper=tamper,
        )
        return ActionResult(True, reply, payload, None, trigger_id)

    # --- modals ------------------------------------------------------------------------------
    def _open_view(self, user_id: str, view_id: str | None) -> StoredView:
        stack = self.ws.modals.stack(user_id)
        if not stack:
            raise LookupError("the user has no open modal")
        if view_id is None:
            return stack[-1]
        for stored in stack:
            if stored.id == view_id:
                return stored
        raise LookupError(f"view {view_id} is not open for this user")

    def submit_view(
        self,
        user: str | None,
        view_id: str | None = None,
        values: Mapping[str, Any] | None = None,
        *,
        tamper: Tamper = Tamper.NONE,
    ) -> ViewResult:
        ws = self.ws
        person = self._user(user)
        stored = self._open_view(person.id, view_id)
        state, client_errors = self._fill(stored, person.id, values or {})
        if client_errors:
            return ViewResult(False, client_errors=client_errors, view=ws.view_snapshot(stored))
        with ws.lock:
            stored.state_values = state
            view = view_json(stored, team_id=ws.team.id, app_id=ws.app_id, bot_id=ws.bot.bot_id or "")
        trigger_id = ws.interactions.issue_trigger(person.id, view_id=stored.id)
        payload = payloads.view_submission(
            token=ws.verification_token,
            team=ws.team,
            user=person,
            app_id=ws.app_id,
            trigger_id=trigger_id,
            view=view,
        )
        reply = self._transport().send(
            "interactive",
            payload,
            payloads.interaction_body(payload),
            accepts_response_payload=True,
            tamper=tamper,
        )
        if not reply.ok:
            # Slack keeps the modal open and shows "We had some trouble connecting".
            return ViewResult(
                True,
                reply,
                view=ws.view_snapshot(stored),
                payload=payload,
                error=reply.error or f"http_{reply.status}",
            )
        return self._apply_response(person.id, stored, reply, payload)

    def _fill(
        self, stored: StoredView, user_id: str, values: Mapping[str, Any]
    ) -> tuple[JsonDict, dict[str, str]]:
        """New ``state.values`` from what the user typed, and the client-side validation errors."""
        inputs = {}
        for block in stored.view.get("blocks") or []:
            element = block.get("element") if block.get("type") == "input" else None
            if isinstance(element, dict):
                inputs[(block["block_id"], element["action_id"])] = (block, element)
        unknown = [k for k in values if not any(k in (a, f"{b}/{a}") for b, a in inputs)]
        if unknown:
            raise LookupError(f"no input {unknown} in view {stored.id} (inputs: {[a for _, a in inputs]})")
        state: JsonDict = {}
        errors: dict[str, str] = {}
        for (block_id, action_id), (block, element) in inputs.items():
            key = f"{block_id}/{action_id}" if f"{block_id}/{action_id}" in values else action_id
            previous = (stored.state_values.get(block_id) or {}).get(action_id)
            if key in values:
                value = values[key]
                if element.get("type") == "file_input":
                    value = [self._user_file(user_id, item) for item in value or []]
                entry = payloads.input_state(element, value)
            else:
                entry = previous or payloads.input_state(element, _initial(element))
            state.setdefault(block_id, {})[action_id] = entry
            problem = _client_check(block, element, entry)
            if problem:
                errors[block_id] = problem
        return state, errors

    def _user_file(self, user_id: str, item: Any) -> JsonDict:
        if isinstance(item, tuple) and len(item) == 2:
            name, content = item
            data = content.encode() if isinstance(content, str) else bytes(content)
            stored = self.ws.files.add_user_file(user_id, str(name), data)
            return self.ws.file_objects([stored.id])[0]
        if isinstance(item, str):
            found = self.ws.file_objects([item])
            if found:
                return found[0]
        raise LookupError(f"file input values are (name, bytes) pairs or file ids, got {item!r}")

    def _apply_response(
        self, user_id: str, stored: StoredView, reply: BotReply, payload: JsonDict
    ) -> ViewResult:
        ws = self.ws
        modals = ws.modals
        body = _ack_body(reply)
        action = body.get("response_action") if body else None
        if body is None or action is None:
            modals.close(stored)
        elif action == "errors":
            errors = body.get("errors")
            if not isinstance(errors, dict) or not errors:
                return self._bad_response(stored, reply, payload, action, "invalid errors")
            known = {b.get("block_id") for b in stored.view.get("blocks") or []}
            if any(block_id not in known for block_id in errors):
                return self._bad_response(stored, reply, payload, action, "errors name unknown block_ids")
            modals.set_errors(stored, {str(k): str(v) for k, v in errors.items()})
            return ViewResult(
                True, reply, action, dict(stored.errors), view=ws.view_snapshot(stored), payload=payload
            )
        elif action in ("update", "push"):
            new_view = body.get("view")
            if validate_view(new_view, self.messaging.limits) or not isinstance(new_view, dict):
                return self._bad_response(stored, reply, payload, action, "invalid view")
            new_view = {**new_view, "blocks": normalize_blocks(new_view.get("blocks") or [])}
            try:
                if action == "update":
                    modals.update(stored, new_view)
                else:
                    modals.push(user_id, new_view)
            except ApiError as e:
                return self._bad_response(stored, reply, payload, action, e.code)
        elif action == "clear":
            modals.clear(user_id)
        else:
            return self._bad_response(stored, reply, payload, str(action), "unknown response_action")
        stack = modals.stack(user_id)
        top = ws.view_snapshot(stack[-1]) if stack else None
        return ViewResult(True, reply, action, view=top, payload=payload)

    def _bad_response(
        self, stored: StoredView, reply: BotReply, payload: JsonDict, action: str, error: str
    ) -> ViewResult:
        # Slack keeps the modal as it was and shows a generic error.
        return ViewResult(
            True, reply, action, view=self.ws.view_snapshot(stored), payload=payload, error=error
        )

    def close_view(
        self, user: str | None, view_id: str | None = None, *, tamper: Tamper = Tamper.NONE
    ) -> ViewResult:
        """The user presses Cancel (or the X): ``view_closed`` goes out only with notify_on_close."""
        ws = self.ws
        person = self._user(user)
        stored = self._open_view(person.id, view_id)
        cleared = bool(stored.view.get("clear_on_close"))
        view = ws.view_snapshot(stored).json
        if cleared:
            ws.modals.clear(person.id)
        else:
            ws.modals.close(stored)
        reply = None
        payload: JsonDict = {}
        if stored.view.get("notify_on_close"):
            payload = payloads.view_closed(
                token=ws.verification_token,
                team=ws.team,
                user=person,
                app_id=ws.app_id,
                view=view,
                is_cleared=cleared,
            )
            reply = self._transport().send(
                "interactive",
                payload,
                payloads.interaction_body(payload),
                accepts_response_payload=False,
                tamper=tamper,
            )
        stack = ws.modals.stack(person.id)
        return ViewResult(
            reply is not None, reply, view=ws.view_snapshot(stack[-1]) if stack else None, payload=payload
        )


def _ack_body(reply: BotReply) -> JsonDict | None:
    """The message or response_action an ack carried, or None for an empty ack."""
    text = reply.body.strip()
    if not text:
        return None
    if "json" in reply.content_type or text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return {"text": text}
        return data if isinstance(data, dict) else {"text": text}
    return {"text": text}


def _initial(element: Mapping[str, Any]) -> Any:
    if "initial_value" in element:
        return element["initial_value"]
    option = element.get("initial_option")
    if isinstance(option, Mapping):
        return option.get("value")
    return None


def _client_check(block: Mapping[str, Any], element: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    """The error Slack's client shows before sending anything, or ''."""
    if not block.get("optional") and payloads.is_empty(entry):
        return "Please complete this required field."
    value = entry.get("value")
    if element.get("type") == "plain_text_input" and isinstance(value, str):
        max_length = element.get("max_length")
        min_length = element.get("min_length")
        if isinstance(max_length, int) and len(value) > max_length:
            return f"Must be {max_length} characters or fewer."
        if isinstance(min_length, int) and len(value) < min_length:
            return f"Must be at least {min_length} characters."
    return ""


def _view_button(view: View, button: str | int) -> ButtonLabel:
    labels = button_labels({"blocks": list(view.blocks)})
    wanted = str(button).strip()
    for label in labels:
        if wanted in (str(label.number), label.action_id) or label.text.casefold() == wanted.casefold():
            return label
    raise LookupError(f"no button {wanted!r} in view {view.id}")
