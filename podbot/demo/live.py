"""``podbot demo`` entry point: the scripted tour without a terminal, an interactive prompt with one."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import TextIO

from podbot.demo.runner import DemoRunner
from podbot.demo.script import ScriptError, Step, parse_script
from podbot.demo.world import DemoWorld, demo_world

PROMPT_HELP = """\
You are @{user} in #{channel} of a local Slack workspace (users: alice, bob, carol; channels: #ops, #dev).
  /pod ...              type a slash command (try /pod help, /pod get pods -A)
  as bob: /pod ...      any step as another user (bob approves deletes)
  click N | click TEXT  press button N (or by label) of the latest message that has it; add `confirm`
  submit k=v ...        submit the open dialog (k=@file reads a file)
  wait 30s              let simulated time pass
  tour                  play the guided tour
  quit                  leave (Ctrl-D works too)
"""


def tour_text() -> str:
    return resources.files("podbot.demo").joinpath("tour.txt").read_text(encoding="utf-8")


def run(args: argparse.Namespace) -> int:
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
    with demo_world(kubeconfig=args.kubeconfig, context=args.context, locale=args.locale) as world:
        runner = DemoRunner(world, sys.stdout, default_user=args.user)
        if scripted:
            return 0 if runner.run(steps) else 1
        return interact(world, runner, steps, sys.stdin, sys.stdout)


def interact(world: DemoWorld, runner: DemoRunner, tour: list[Step], stdin: TextIO, out: TextIO) -> int:
    out.write(PROMPT_HELP.format(user=runner.default_user, channel=world.channel))
    answer = _ask("Play the guided tour first? [y/N] ", stdin, out)
    if answer.strip().lower().startswith("y"):
        runner.run(tour)
    while True:
        line = _ask(f"{runner.default_user}@#{world.channel}> ", stdin, out)
        if line == "" or line.strip() in ("quit", "exit"):
            out.write("bye\n")
            return 0
        if line.strip() == "help":
            out.write(PROMPT_HELP.format(user=runner.default_user, channel=world.channel))
            continue
        if line.strip() == "tour":
            runner.run(tour)
            continue
        try:
            steps = parse_script(line)
        except ScriptError as exc:
            out.write(f"  {exc}\n")
            continue
        runner.run(steps, summary=False)


def _ask(prompt: str, stdin: TextIO, out: TextIO) -> str:
    out.write(prompt)
    out.flush()
    return stdin.readline()
