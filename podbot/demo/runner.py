"""Plays scenario steps against a ``DemoWorld`` and prints what Slack shows, as readable text.

Everything the bot posts is printed, whenever it was posted: answers, digests and alerts, thread
replies (with the message they answer) and edits (a resolved alert), and the open dialog with
the key of each field. ``expect`` looks at the bot messages printed since the last other step.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from podbot.core.times import show_time
from podbot.demo.script import (
    STATIC_POD_PATH,
    Click,
    Command,
    Expect,
    NodeFile,
    Step,
    Submit,
    UseChannel,
    Wait,
)
from podbot.demo.world import DemoWorld
from podbot.localslack import ConfirmationRequired, Message, Names, View, render_view

log = logging.getLogger(__name__)

DIALOG_SECONDS = 3.0


class StepFailed(Exception):
    pass


@dataclass
class DemoRunner:
    world: DemoWorld
    out: TextIO
    default_user: str = "alice"
    shown: int = 0  # Slack history cursor: every change up to here has been printed
    seen: list[Message] = field(default_factory=list)  # printed since the last non-expect step
    printed: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, ts) -> text shown

    def run(self, steps: list[Step], *, summary: bool = True) -> bool:
        """Play every step; False (after printing why) at the first one that fails."""
        for step in steps:
            try:
                self.play(step)
            except StepFailed as exc:
                self.out.write(f"\n✗ FAILED at line {step.line}: {exc}\n")
                return False
            except Exception as exc:  # the demo ends with a sentence, never a traceback
                log.debug("step at line %d failed", step.line, exc_info=True)
                self.out.write(f"\n✗ FAILED at line {step.line}: {type(exc).__name__}: {exc}\n")
                return False
        if summary:
            self.out.write("\n✓ every step passed\n")
        return True

    def play(self, step: Step) -> None:
        if isinstance(step, Expect):
            self._expect(step)
            return
        user = self._user(step.user)
        self.seen = []
        self._show(user)  # whatever arrived between two steps (a digest on a real clock)
        if isinstance(step, UseChannel):
            self._channel(step.channel)
            return
        if isinstance(step, Command):
            self._command(step, user)
        elif isinstance(step, Click):
            self._click(step, user)
        elif isinstance(step, Submit):
            self._submit(step, user)
        elif isinstance(step, Wait):
            self.out.write(f"\n⏱ {_duration(step.seconds)} pass\n")
            self.world.advance(step.seconds)
            self.out.write(f"  (now {self._now()})\n")
        elif isinstance(step, NodeFile):
            self._node_file(step)
        self.world.settle()
        if isinstance(step, Command | Click):
            self._await_answer(user)
        self._show(user)
        view = self.world.slack.current_view(user)
        if view is not None and not isinstance(step, Wait):
            self.out.write(_indent(dialog_text(view, user, self.world.slack.workspace.names())) + "\n")

    # --- steps ---------------------------------------------------------------------------------
    def _user(self, name: str | None) -> str:
        user = name or self.default_user
        try:
            self.world.slack.workspace.user(user)
        except LookupError:
            people = ", ".join(u.name for u in self.world.slack.workspace.users() if not u.is_bot)
            raise StepFailed(f"there is no user @{user} in the demo workspace (users: {people})") from None
        return user

    def _channel(self, name: str) -> None:
        try:
            self.world.slack.workspace.channel(name)
        except LookupError:
            channels = ", ".join(f"#{c.name}" for c in self.world.slack.workspace.channels() if c.name)
            raise StepFailed(f"there is no channel #{name} in the demo workspace ({channels})") from None
        self.world.channel = name
        self.out.write(f"\n── now in #{name}\n")

    def _command(self, step: Command, user: str) -> None:
        first, *more = step.text.splitlines() or [""]
        self.out.write(f"\n▶ @{user} in #{self.world.channel}: /pod {first}\n")
        for line in more:
            self.out.write(f"    {line}\n")
        try:
            result = self.world.slack.send_command(user, self.world.channel, "/pod", step.text)
        except LookupError as exc:  # not a member of the channel
            raise StepFailed(str(exc)) from None
        if not result.ok:
            raise StepFailed(f"Slack could not deliver the command: {result.ack_error or result.reply}")

    def _click(self, step: Click, user: str) -> None:
        slack = self.world.slack
        message = slack.latest_with_button(step.button, channel=self.world.channel, user=user)
        if message is None:
            raise StepFailed(f"no message in #{self.world.channel} has a button {step.button!r}")
        self.out.write(f"\n▶ @{user} clicks [{step.button}]" + (" and confirms\n" if step.confirm else "\n"))
        try:
            slack.click(user, message, step.button, confirm=True if step.confirm else None)
        except ConfirmationRequired as dialog:
            raise StepFailed(
                f"the button asks for confirmation ({dialog}); write `click {step.button} confirm`"
            ) from None

    def _submit(self, step: Submit, user: str) -> None:
        slack = self.world.slack
        self.out.write(f"\n▶ @{user} submits the dialog ({', '.join(k for k, _ in step.values)})\n")
        view = slack.current_view(user)
        if view is None:
            # The bot opens a dialog right after acknowledging the command: give it a moment.
            try:
                view = slack.wait_for_view(user, timeout=5.0)
            except TimeoutError:
                raise StepFailed(f"there is no open dialog for @{user} to submit") from None
        fields = dialog_fields(view)
        values = {}
        for name, text in step.values:
            key = _field_key(fields, name)
            values[key] = _file_value(text) if fields[key].get("type") == "file_input" else _value(text)
        outcome = slack.submit_view(user, values=values)
        problems = {**outcome.client_errors, **outcome.errors}
        if problems:
            self.out.write("  the dialog says: " + "; ".join(f"{k}: {v}" for k, v in problems.items()) + "\n")

    def _node_file(self, step: NodeFile) -> None:
        sim = self.world.sim
        if sim is None:
            raise StepFailed("`on NODE:` steps need the built-in simulator (podbot cannot reach a real node)")
        if step.node not in sim.kubelets.kubelets:
            nodes = ", ".join(sim.kubelets.kubelets)
            raise StepFailed(f"there is no node {step.node} in the simulator (nodes: {nodes})")
        path = sim.kubelets.static_pod_dir(step.node) / step.filename
        shown = f"{STATIC_POD_PATH}{step.filename}"
        if step.content is None:
            self.out.write(f"\n▶ on {step.node}: rm {shown}\n")
            if not path.exists():
                raise StepFailed(f"{shown} does not exist on {step.node}")
            path.unlink()
            return
        self.out.write(f"\n▶ on {step.node}: write {shown}\n")
        for line in step.content.splitlines():
            self.out.write(f"    {line}\n")
        tmp = path.with_name(f".{step.filename}.tmp")
        tmp.write_text(step.content, encoding="utf-8")
        os.replace(tmp, path)  # the kubelet never reads half a file

    def _await_answer(self, user: str, timeout: float = DIALOG_SECONDS) -> None:
        """A dialog opens after the bot acknowledged (on bolt's listener thread, which the work
        pool does not know about): when nothing was posted yet, give it a moment to appear."""
        slack = self.world.slack
        deadline = time.monotonic() + timeout
        while not slack.messages_since(self.shown, user=user) and slack.current_view(user) is None:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)

    # --- the transcript ------------------------------------------------------------------------
    def _show(self, user: str) -> None:
        slack = self.world.slack
        mark = slack.mark()
        for message in slack.messages_since(self.shown, user=user):
            key = (message.channel, message.ts)
            text = message_text(message, self._parent(message))
            if self.printed.get(key) == message.rendered:
                continue  # touched (a reply was added to it) but not changed
            self.printed[key] = message.rendered
            self.seen.append(message)
            self.out.write(_indent(text) + "\n")
        self.shown = max(self.shown, mark)

    def _parent(self, message: Message) -> Message | None:
        if not message.is_reply or message.thread_ts is None:
            return None
        try:
            return self.world.slack.thread(message.channel, message.thread_ts)[0]
        except LookupError:
            return None

    def _now(self) -> str:
        channel = self.world.slack.workspace.channel(self.world.channel)
        timezone = self.world.runtime.settings.timezone_for(channel.id, channel.name)
        return show_time(self.world.runtime.now(), timezone)

    def _expect(self, step: Expect) -> None:
        found = any(step.text in m.rendered or step.text in m.text for m in self.seen if m.is_bot)
        if found != step.present:
            verb = "no" if step.present else "a"
            raise StepFailed(f"{verb} bot message since the last step contains {step.text!r}")
        self.out.write(f"  ✓ {'saw' if step.present else 'did not see'} {step.text!r}\n")


# --- how Slack things are printed ------------------------------------------------------------------


def message_text(message: Message, parent: Message | None = None) -> str:
    """A message as the transcript prints it: where, who, and whether it is a reply or an edit."""
    who = f"{message.username}{' (app)' if message.is_bot else ''}"
    where = f"[#{message.channel_name or message.channel}]"
    if message.ephemeral_to:
        who += f" (only visible to @{message.ephemeral_to})"
    if message.is_reply:
        about = _first_line(parent.rendered) if parent is not None else message.thread_ts
        head = f"{where} ↳ {who}, in the thread of “{about}”:"
    elif message.edited:
        head = f"{where} ✎ {who} edited its message:"
    else:
        head = f"{where} {who}:"
    return head + "\n" + "\n".join("  " + line for line in message.rendered.split("\n"))


def dialog_fields(view: View) -> dict[str, dict[str, Any]]:
    """The dialog's inputs by key (action_id), each with its label text and element type."""
    fields: dict[str, dict[str, Any]] = {}
    for block in view.blocks:
        element = block.get("element") if block.get("type") == "input" else None
        if isinstance(element, dict):
            label = block.get("label") or {}
            fields[str(element.get("action_id"))] = {
                "label": str(label.get("text", "")) if isinstance(label, dict) else str(label),
                "block": str(block.get("block_id", "")),
                "type": element.get("type"),
                "required": not block.get("optional"),
                "filled": bool(element.get("initial_value")),
            }
    return fields


def dialog_text(view: View, user: str, names: Names | None = None) -> str:
    """The open dialog, each field labelled with its key (what ``submit KEY=VALUE`` names)."""
    blocks = [_keyed(block) for block in view.blocks]
    rendered = render_view({**view.json, "blocks": blocks}, names)
    needed = [
        key
        for key, spec in dialog_fields(view).items()
        if spec["required"] and not spec["filled"] and spec["type"] != "file_input"
    ]
    if not needed:  # every field optional or filled: show the first one to type in
        needed = [k for k, spec in dialog_fields(view).items() if spec["type"] != "file_input"][:1]
    example = " ".join(f"{key}=..." for key in needed) or "KEY=VALUE ..."
    return f"[dialog open for @{user}]\n{rendered}\n  ↳ fill it in with: submit {example}"


def _keyed(block: dict[str, Any]) -> dict[str, Any]:
    element = block.get("element") if block.get("type") == "input" else None
    label = block.get("label")
    if not isinstance(element, dict) or not isinstance(label, dict):
        return block
    return {**block, "label": {**label, "text": f"{element.get('action_id')}= {label.get('text', '')}"}}


def _field_key(fields: dict[str, dict[str, Any]], name: str) -> str:
    """The key of the field ``name`` names: its key, block id or label (case and spacing ignored)."""

    def norm(text: str) -> str:
        return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()

    wanted = norm(name)
    for key, spec in fields.items():
        label = spec["label"]
        if wanted in (norm(key), norm(spec["block"]), norm(label), norm(label.split(" (")[0])):
            return key
    shown = ", ".join(f"{key} ({spec['label']})" for key, spec in fields.items())
    raise StepFailed(f"the dialog has no field {name!r}; its fields are: {shown}")


def _value(text: str) -> str:
    """``@path`` reads a local file (paste a manifest into a dialog from disk)."""
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise StepFailed(f"cannot read {text[1:]}: {exc.strerror}") from exc
    return text


def _file_value(text: str) -> list[tuple[str, str]]:
    """A file field takes ``@path``: the file is uploaded as the user."""
    if not text.startswith("@"):
        raise StepFailed(f"a file field takes @FILE (a local file to upload), not {text!r}")
    return [(Path(text[1:]).name, _value(text))]


def _first_line(text: str, width: int = 60) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _duration(seconds: float) -> str:
    left, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or f"{seconds:g}s"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
