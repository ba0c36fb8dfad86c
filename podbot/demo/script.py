"""The scenario format ``podbot demo --script`` plays (and the built-in tour is written in).

Pure: parsing only. ``podbot.demo.runner`` plays the steps; ``STEPS_HELP`` is what
``podbot demo --help`` and the prompt's ``help`` show.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

STEPS_HELP = """\
A scenario is one step a line (blank lines and lines starting with # are skipped):

  /pod get pods                       the current user types a slash command
  as bob: /pod approvals              any step as another workspace user (alice, bob, carol)
  /pod create                         a multi-line command: the indented lines below it
    apiVersion: v1                    are part of it (their common indentation removed)
    kind: Pod
  click Approve                       press a button (by number or label) of the newest bot
                                      message that has it
  click Approve confirm               ...and press "confirm" in its confirmation dialog
  submit username=test password=123   submit the open dialog; a field is named by the key the
                                      dialog shows (username=) or by its label ("User name"=)
  submit manifest_text=@pod.yaml      a value @FILE is read from that file
  wait 30s                            let simulated time pass: s, m, h, d, or compound (1m30s)
  expect ImagePullBackOff             fail unless a bot message since the last step contains it
  expect-not Error                    fail if one does
  channel #dev                        later steps happen in #dev
  on node01: write /etc/kubernetes/manifests/web.yaml
    apiVersion: v1                    put a static pod manifest (the indented lines) in a node's
    ...                               staticPodPath, as an admin on that node would
  on node01: rm /etc/kubernetes/manifests/web.yaml     ...and remove it again

Bot messages, thread replies, edits and open dialogs are printed after every step.
"""

DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
STATIC_POD_PATH = "/etc/kubernetes/manifests/"


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


@dataclass(frozen=True)
class NodeFile(Step):
    """Write (``content`` set) or remove (``content`` None) a static pod manifest on a node."""

    node: str
    filename: str
    content: str | None = None


def parse_duration(text: str) -> float:
    """``30s``, ``5m``, ``1h``, ``2d`` or a sequence of them (``1m30s``, ``1h30m``)."""
    value = text.strip()
    total, pos = 0.0, 0
    while pos < len(value):
        match = DURATION_PART.match(value, pos)
        if match is None:
            break
        total += float(match.group(1)) * UNITS[match.group(2)]
        pos = match.end()
    if not value or pos != len(value):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 1h, 1m30s)")
    return total


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
        body: list[str] = []
        while index < len(lines) and (lines[index][:1].isspace() or not lines[index].strip()):
            body.append(lines[index])
            index += 1
        steps.append(_step(number, stripped, body, command))
    return steps


def _step(number: int, stripped: str, body: list[str], command: str) -> Step:
    user = None
    match = re.match(r"^as\s+@?([\w.-]+)\s*:\s*(.*)$", stripped)
    if match:
        user, stripped = match.group(1), match.group(2)
    if stripped.startswith(command) and (len(stripped) == len(command) or stripped[len(command)].isspace()):
        return Command(number, user, _join([stripped[len(command) :].strip(), *body]))
    match = re.match(r"^on\s+([\w.-]+)\s*:\s*(.*)$", stripped)
    if match:
        return _node_step(number, match.group(1), match.group(2), body)
    if _join(["", *body]):
        raise ScriptError(f"line {number}: only a {command} command or `on NODE: write` takes indented lines")
    word, _, rest = stripped.partition(" ")
    rest = rest.strip()
    if word == "click":
        if not rest:
            raise ScriptError(f"line {number}: click needs a button name or number")
        confirm = rest.endswith(" confirm")
        return Click(number, user, rest[: -len(" confirm")].strip() if confirm else rest, confirm)
    if word == "submit":
        return Submit(number, user, _values(rest, number))
    if word == "wait":
        try:
            return Wait(number, user, parse_duration(rest))
        except ValueError as exc:
            raise ScriptError(f"line {number}: {exc}") from exc
    if word in ("expect", "expect-not"):
        if not rest:
            raise ScriptError(f"line {number}: {word} needs the text to look for")
        return Expect(number, user, rest, present=word == "expect")
    if word == "channel":
        if not rest:
            raise ScriptError(f"line {number}: channel needs a channel name (channel #dev)")
        return UseChannel(number, user, rest.lstrip("#"))
    raise ScriptError(
        f"line {number}: unknown step {word!r} (expected {command} ..., as USER: ..., click, submit, "
        "wait, expect, expect-not, channel, on NODE: write|rm FILE, or # comment)"
    )


def _node_step(number: int, node: str, action: str, body: list[str]) -> NodeFile:
    verb, _, path = action.partition(" ")
    path = path.strip()
    if verb not in ("write", "rm") or not path:
        raise ScriptError(
            f"line {number}: write `on {node}: write FILE` (manifest indented below) or `on {node}: rm FILE`"
        )
    if not path.startswith(STATIC_POD_PATH) or "/" in path[len(STATIC_POD_PATH) :] or path == STATIC_POD_PATH:
        raise ScriptError(
            f"line {number}: {path!r} is not a file in the kubelet's staticPodPath "
            f"({STATIC_POD_PATH}NAME.yaml)"
        )
    filename = path[len(STATIC_POD_PATH) :]
    content = _join(["", *body]).lstrip("\n")
    if verb == "write" and not content:
        raise ScriptError(f"line {number}: write needs the manifest on the indented lines below it")
    if verb == "rm" and content:
        raise ScriptError(f"line {number}: rm takes no indented lines")
    return NodeFile(number, None, node, filename, content + "\n" if verb == "write" else None)


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
