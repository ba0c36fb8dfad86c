"""``podbot demo`` entry point: the scripted tour without a terminal, an interactive prompt with one."""

from __future__ import annotations

import argparse
import os
import select
import sys
from importlib import resources
from pathlib import Path
from typing import TextIO

from podbot.core.times import is_timezone
from podbot.demo.runner import DemoRunner
from podbot.demo.script import STEPS_HELP, ScriptError, Step, parse_script
from podbot.demo.world import DemoWorld, demo_world

PROMPT_HELP = """\
You are @{user} in #{channel} of a local Slack workspace (users: alice, bob, carol; channels: #ops, #dev).
Type a step and press Enter; paste a multi-line manifest under a /pod command as it is.
  tour                  play the guided tour
  help                  this text
  quit                  leave (Ctrl-D works too)

{steps}"""

PASTE_SECONDS = 0.05  # lines that arrive this close together were pasted as one block


def tour_text() -> str:
    return resources.files("podbot.demo").joinpath("tour.txt").read_text(encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    if not is_timezone(args.timezone):
        print(
            f"podbot demo: unknown time zone {args.timezone!r} (e.g. Asia/Shanghai or UTC)", file=sys.stderr
        )
        return 2
    if args.script:
        try:
            text = Path(args.script).read_text(encoding="utf-8")
        except OSError as exc:
            print(f"podbot demo: cannot read {args.script}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        text = tour_text()
    try:
        steps = parse_script(text)
    except ScriptError as exc:
        print(f"podbot demo: {args.script or 'tour'}: {exc}", file=sys.stderr)
        return 2
    scripted = bool(args.script) or args.tour or not sys.stdin.isatty()
    print(
        "Starting podbot on the embedded default: simulated cluster + local Slack …"
        if not args.kubeconfig
        else f"Starting podbot against {args.kubeconfig} with the local Slack workspace …",
        flush=True,
    )
    with demo_world(
        kubeconfig=args.kubeconfig,
        context=args.context,
        locale=args.locale,
        timezone=args.timezone,
        # A scenario's clock moves only with `wait`, so it plays the same way every time; at the
        # prompt, simulated time flows like real time.
        sim_speed=0.0 if scripted else 1.0,
    ) as world:
        runner = DemoRunner(world, sys.stdout, default_user=args.user)
        if scripted:
            return 0 if runner.run(steps) else 1
        return interact(world, runner, steps, sys.stdin, sys.stdout)


def interact(world: DemoWorld, runner: DemoRunner, tour: list[Step], stdin: TextIO, out: TextIO) -> int:
    help_text = PROMPT_HELP.format(user=runner.default_user, channel=world.channel, steps=STEPS_HELP)
    out.write(help_text)
    lines = Lines(stdin)
    answer = _ask("Play the guided tour first? [y/N] ", lines, out)
    if answer.strip().lower().startswith("y"):
        with world.scripted():
            runner.run(tour)
    while True:
        line = _ask(f"{runner.default_user}@#{world.channel}> ", lines, out)
        if line == "" or line.strip() in ("quit", "exit"):
            out.write("bye\n")
            return 0
        if line.strip() == "help":
            out.write(help_text)
            continue
        if line.strip() == "tour":
            with world.scripted():
                runner.run(tour)
            continue
        try:
            steps = prompt_steps(line + lines.pasted())
        except ScriptError as exc:
            out.write(f"  {exc}\n")
            continue
        runner.run(steps, summary=False)


def prompt_steps(block: str) -> list[Step]:
    """The steps of what was typed or pasted at the prompt. A pasted block is a scenario; when it
    is not one but starts with a /pod command, the lines under it belong to the command even if
    they are not indented (a manifest pasted as it is)."""
    try:
        return parse_script(block)
    except ScriptError:
        first, _, rest = block.strip("\n").partition("\n")
        if not first.lstrip().startswith(("/pod", "as ")) or not rest.strip():
            raise
        indented = "\n".join("  " + line if line.strip() else line for line in rest.split("\n"))
        return parse_script(f"{first}\n{indented}")


class Lines:
    """Lines from the terminal, read straight from its file descriptor so that the lines of a paste
    still waiting are visible (Python's own buffer would hide them from ``select``)."""

    def __init__(self, stdin: TextIO) -> None:
        self.stdin = stdin
        try:
            self.fd: int | None = stdin.fileno()
        except (AttributeError, OSError, ValueError):  # not a real file (tests)
            self.fd = None
        self.buffer = b""

    def readline(self) -> str:
        """The next line with its newline; "" at end of input."""
        if self.fd is None:
            return self.stdin.readline()
        while b"\n" not in self.buffer:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                rest, self.buffer = self.buffer, b""
                return rest.decode("utf-8", errors="replace")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", errors="replace") + "\n"

    def pasted(self) -> str:
        """The lines that arrived together with the one just read (a paste), without blocking."""
        if self.fd is None:
            return ""
        more = []
        while b"\n" in self.buffer or select.select([self.fd], [], [], PASTE_SECONDS)[0]:
            line = self.readline()
            if line == "":
                break
            more.append(line)
        return "".join(more)


def _ask(prompt: str, lines: Lines, out: TextIO) -> str:
    out.write(prompt)
    out.flush()
    return lines.readline()
