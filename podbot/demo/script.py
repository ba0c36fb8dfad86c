"""The scenario format ``podbot demo --script`` plays (and the built-in tour is written in).

One step per line::

    # a comment
    /pod get pods                      the default user types a slash command
    as bob: /pod approvals             any step as another workspace user
    /pod create                        a multi-line command: the indented lines below
      apiVersion: v1                   are appended to it (indentation removed)
      kind: Pod
    click Approve                      a button of the latest bot message that has it
    click Approve confirm              ...and press "confirm" in its confirmation dialog
    submit username=test password=123  submit the open dialog with these field values
    wait 30s                           let simulated time pass (s, m, h)
    expect ImagePullBackOff            fail unless a bot message since the last step contains it
    expect-not Error                   fail if one does
    channel #dev                       later steps happen in #dev

Pure: parsing only. ``podbot.demo.runner`` plays the steps.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)$")
UNITS = {"s": 1, "m": 60, "h": 3600}


class ScriptError(ValueError):
    """A line the scenario format does not allow; names the line number."""


@dataclass(frozen=True)
class Step:
    line: int
    user: str | None  # None: the workspace's default user


@dataclass(frozen=True)
class Command(Step):
    text: str  # what follows "/pod"


@dataclass(frozen=True)
class Click(Step):
    button: str
    confirm: bool = False


@dataclass(frozen=True)
class Submit(Step):
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Wait(Step):
    seconds: float


@dataclass(frozen=True)
class Expect(Step):
    text: str
    present: bool = True


@dataclass(frozen=True)
class UseChannel(Step):
    channel: str


def parse_duration(text: str) -> float:
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 1h)")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_script(text: str, command: str = "/pod") -> list[Step]:
    steps: list[Step] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number = index + 1
        raw = lines[index]
        index += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[:1].isspace():
            raise ScriptError(f"line {number}: indented line without a command above it")
        user = None
        match = re.match(r"^as\s+@?([\w.-]+)\s*:\s*(.*)$", stripped)
        if match:
            user, stripped = match.group(1), match.group(2)
        if stripped.startswith(command) and (
            len(stripped) == len(command) or stripped[len(command)].isspace()
        ):
            body = [stripped[len(command) :].strip()]
            while index < len(lines) and (lines[index][:1].isspace() or not lines[index].strip()):
                body.append(lines[index])
                index += 1
            steps.append(Command(number, user, _join(body)))
            continue
        word, _, rest = stripped.partition(" ")
        rest = rest.strip()
        if word == "click":
            if not rest:
                raise ScriptError(f"line {number}: click needs a button name or number")
            confirm = rest.endswith(" confirm")
            steps.append(Click(number, user, rest[: -len(" confirm")].strip() if confirm else rest, confirm))
        elif word == "submit":
            steps.append(Submit(number, user, _values(rest, number)))
        elif word == "wait":
            try:
                steps.append(Wait(number, user, parse_duration(rest)))
            except ValueError as exc:
                raise ScriptError(f"line {number}: {exc}") from exc
        elif word in ("expect", "expect-not"):
            if not rest:
                raise ScriptError(f"line {number}: {word} needs the text to look for")
            steps.append(Expect(number, user, rest, present=word == "expect"))
        elif word == "channel":
            steps.append(UseChannel(number, user, rest.lstrip("#")))
        else:
            raise ScriptError(
                f"line {number}: unknown step {word!r} (expected {command} ..., as USER: ..., "
                "click, submit, wait, expect, expect-not, channel or # comment)"
            )
    return steps


def _join(body: list[str]) -> str:
    """The first line plus the indented block under it, with the common indentation removed."""
    head, block = body[0], body[1:]
    while block and not block[-1].strip():
        block.pop()
    indents = [len(line) - len(line.lstrip()) for line in block if line.strip()]
    cut = min(indents) if indents else 0
    rest = [line[cut:] for line in block]
    return "\n".join([head, *rest]) if rest else head


def _values(text: str, number: int) -> tuple[tuple[str, str], ...]:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ScriptError(f"line {number}: {exc}") from exc
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise ScriptError(f"line {number}: submit takes field=value pairs, not {word!r}")
        pairs.append((key, value))
    return tuple(pairs)
