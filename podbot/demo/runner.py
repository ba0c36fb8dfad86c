"""Plays scenario steps against a ``DemoWorld`` and prints what Slack shows, as readable text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from podbot.demo.script import Click, Command, Expect, Step, Submit, UseChannel, Wait
from podbot.demo.world import DemoWorld
from podbot.localslack import ConfirmationRequired, Message


class StepFailed(Exception):
    pass


@dataclass
class DemoRunner:
    world: DemoWorld
    out: TextIO
    default_user: str = "alice"
    since_step: int = 0  # Slack history cursor before the last non-expect step
    seen: list[Message] = field(default_factory=list)  # messages since that step (for expect)

    def run(self, steps: list[Step], *, summary: bool = True) -> bool:
        """Play every step; False (after printing why) at the first one that fails."""
        for step in steps:
            try:
                self.play(step)
            except StepFailed as exc:
                self.out.write(f"\n✗ FAILED at line {step.line}: {exc}\n")
                return False
        if summary:
            self.out.write("\n✓ every step passed\n")
        return True

    def play(self, step: Step) -> None:
        slack = self.world.slack
        user = step.user or self.default_user
        if isinstance(step, Expect):
            self._expect(step)
            return
        self.since_step = slack.mark()
        if isinstance(step, UseChannel):
            self.world.channel = step.channel
            self.out.write(f"\n── now in #{step.channel}\n")
            return
        if isinstance(step, Command):
            first, *more = step.text.splitlines()
            self.out.write(f"\n▶ @{user} in #{self.world.channel}: /pod {first}\n")
            for line in more:
                self.out.write(f"    {line}\n")
            result = slack.send_command(user, self.world.channel, "/pod", step.text)
            if not result.ok:
                raise StepFailed(f"Slack could not deliver the command: {result.ack_error or result.reply}")
        elif isinstance(step, Click):
            self._click(step, user)
        elif isinstance(step, Submit):
            self.out.write(f"\n▶ @{user} submits the dialog ({', '.join(k for k, _ in step.values)})\n")
            view = slack.current_view(user)
            if view is None:
                raise StepFailed("there is no open dialog to submit")
            outcome = slack.submit_view(user, values={k: _value(v) for k, v in step.values})
            problems = {**outcome.client_errors, **outcome.errors}
            if problems:
                self.out.write(
                    "  the dialog says: " + "; ".join(f"{k}: {v}" for k, v in problems.items()) + "\n"
                )
        elif isinstance(step, Wait):
            self.out.write(f"\n⏱ {step.seconds:g}s pass\n")
            self.world.advance(step.seconds)
        self.world.settle()
        self._show(user)

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

    def _show(self, user: str) -> None:
        self.seen = self.world.slack.messages_since(self.since_step, user=user)
        for message in self.seen:
            self.out.write(_indent(str(message)) + "\n")
        if self.world.slack.current_view(user) is not None:
            view = self.world.slack.current_view(user)
            assert view is not None
            self.out.write(_indent(f"[dialog open for @{user}] {view.rendered}") + "\n")

    def _expect(self, step: Expect) -> None:
        found = any(step.text in m.rendered or step.text in m.text for m in self.seen if m.is_bot)
        if found != step.present:
            verb = "no" if step.present else "a"
            raise StepFailed(f"{verb} bot message since the last step contains {step.text!r}")
        self.out.write(f"  ✓ {'saw' if step.present else 'did not see'} {step.text!r}\n")


def _value(text: str) -> str:
    """``@path`` reads a local file (paste a manifest into a dialog from disk)."""
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise StepFailed(f"cannot read {text[1:]}: {exc.strerror}") from exc
    return text


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
