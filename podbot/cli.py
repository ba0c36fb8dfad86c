"""``podbot <command>``: the one entry point for operators.

Each command is a ``configure(parser)`` + ``run(args) -> exit code`` pair registered in
``COMMANDS``; heavy imports happen inside ``run`` so that ``podbot --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from podbot import __version__


@dataclass(frozen=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def _register_sim() -> None:
    # podbot.sim.command imports only argparse; the simulator itself loads inside run().
    from podbot.sim import command as sim  # noqa: PLC0415

    COMMANDS["sim"] = Command(sim.HELP, sim.configure, sim.run)


_register_sim()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podbot", description="Slack chat-ops for Kubernetes pods.")
    parser.add_argument("--version", action="version", version=f"podbot {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=command.help, description=command.help)
        command.configure(sub_parser)
        sub_parser.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        result: int = run(args)
    except KeyboardInterrupt:
        return 130
    return result
