"""``podbot <command>``: the one entry point for operators.

Each command is a ``configure(parser)`` + ``run(args) -> exit code`` pair registered in
``COMMANDS``; heavy imports happen inside ``run`` so that ``podbot --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from podbot import __version__
from podbot.core.errors import PodbotError


@dataclass(frozen=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _lazy(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    """Import the command's module only when it runs, so ``podbot --help`` stays fast."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        result: int = getattr(importlib.import_module(module), function)(args)
        return result

    return run


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    from podbot.demo.script import STEPS_HELP  # pure text, no heavy imports

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "Without a terminal on stdin (or with --script/--tour) the scenario plays and the exit code\n"
        "says whether every step passed; with one, you get a prompt that takes the same steps.\n\n"
        + STEPS_HELP
    )
    parser.add_argument(
        "--script", metavar="FILE", help="play this scenario file and exit (0 = every step passed)"
    )
    parser.add_argument(
        "--tour", action="store_true", help="play the built-in tour even when stdin is a terminal"
    )
    parser.add_argument("--kubeconfig", help="use this cluster instead of the built-in simulator")
    parser.add_argument("--context", help="kubeconfig context to use (with --kubeconfig)")
    parser.add_argument(
        "--locale", default="en", choices=["en", "zh_CN"], help="language of podbot's messages"
    )
    parser.add_argument("--user", default="alice", help="the workspace user you are (default alice)")
    parser.add_argument(
        "--timezone",
        default="UTC",
        help="display time zone of podbot's messages, e.g. Asia/Shanghai (default UTC)",
    )


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML configuration file (or env PODBOT_CONFIG)")
    parser.add_argument(
        "--socket-mode",
        action="store_true",
        help="connect to Slack over Socket Mode (default when SLACK_APP_TOKEN is set)",
    )
    parser.add_argument("--host", help="listen address for HTTP mode (env PODBOT_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port for HTTP mode (env PORT, default 3000)")
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=25.0,
        help="on SIGTERM, how long to let in-flight work finish (default 25)",
    )


def _configure_manifest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", help="public base URL of podbot in HTTP mode, e.g. https://podbot.example.com"
    )
    parser.add_argument(
        "--socket-mode", action="store_true", help="a manifest for Socket Mode (no public URL)"
    )
    parser.add_argument("--name", default="podbot", help="the app's name in Slack")


def _configure_sim(parser: argparse.ArgumentParser) -> None:
    from podbot.sim.command import configure  # argparse only: the simulator loads when it runs

    configure(parser)


def _run_manifest(args: argparse.Namespace) -> int:
    import yaml

    from podbot.slack.manifest import app_manifest

    try:
        manifest = app_manifest(args.url, socket_mode=args.socket_mode, name=args.name)
    except ValueError as exc:
        print(f"podbot manifest: {exc}", file=sys.stderr)
        return 2
    print(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), end="")
    return 0


# --- database and audit (podbot.store) --------------------------------------------------------


def _database_url(args: argparse.Namespace) -> str:
    from podbot.server.config import load_settings

    # The CLI is the process edge: the one place besides config that may hand over os.environ.
    return load_settings(os.environ, args.config).database_url


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML configuration file (or env PODBOT_CONFIG); DATABASE_URL wins")


def _configure_db(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = sub.add_parser(
        "upgrade",
        help="migrate the database (DATABASE_URL) to this podbot's schema; keeps every row",
        description="Migrate the database (DATABASE_URL) to this podbot's schema; keeps every row. "
        "podbot serve does this at start-up too.",
    )
    current = sub.add_parser("current", help="show the database's schema revision")
    for action in (upgrade, current):
        _add_config(action)


def _run_db(args: argparse.Namespace) -> int:
    from podbot.store import admin

    try:
        if args.db_command == "upgrade":
            url, before, after = admin.db_upgrade(_database_url(args))
            origin = before or "an empty database"
            change = "already current" if before == after else f"upgraded from {origin}"
            print(f"{url}: schema revision {after} ({change})")
        else:
            url, revision = admin.db_current(_database_url(args))
            print(f"{url}: schema revision {revision or 'none (empty database; run podbot db upgrade)'}")
    except PodbotError as exc:
        print(f"podbot db {args.db_command}: {exc}", file=sys.stderr)
        return 1
    return 0


def _configure_audit(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    export = sub.add_parser(
        "export",
        help="write the audit log as JSON lines",
        description="Write the audit log as JSON lines (one record per line, oldest first).",
    )
    export.add_argument("--since", help="only records from this far back (1d, 12h, 30m, 2w) or this ISO time")
    export.add_argument("--output", "-o", help="file to write (created readable by you only); default stdout")
    _add_config(export)


def _run_audit(args: argparse.Namespace) -> int:
    from podbot.store import admin

    try:
        count = admin.audit_export(
            _database_url(args), since=args.since, output=args.output, now=datetime.now(UTC)
        )
    except PodbotError as exc:
        print(f"podbot audit export: {exc}", file=sys.stderr)
        return 1
    if args.output not in (None, "-"):
        print(f"{count} audit records written to {args.output}", file=sys.stderr)
    return 0


COMMANDS: dict[str, Command] = {
    "demo": Command(
        "run podbot on the embedded default: simulated cluster + local Slack (tour or prompt)",
        _configure_demo,
        _lazy("podbot.demo.live", "run"),
    ),
    "serve": Command(
        "serve a real Slack workspace (HTTP mode, or Socket Mode with SLACK_APP_TOKEN)",
        _configure_serve,
        _lazy("podbot.server.serve", "run"),
    ),
    "manifest": Command(
        "print the Slack app manifest to create the app from", _configure_manifest, _run_manifest
    ),
    "sim": Command(
        "run the embedded Kubernetes simulator (API server + kubelets) for kubectl and podbot",
        _configure_sim,
        _lazy("podbot.sim.command", "run"),
    ),
    "db": Command("database schema: upgrade, current", _configure_db, _run_db),
    "audit": Command("audit log: export", _configure_audit, _run_audit),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podbot", description="Slack chat-ops for Kubernetes pods.")
    parser.add_argument("--version", action="version", version=f"podbot {__version__}")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO; WARNING for demo)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=command.help, description=command.help)
        command.configure(sub_parser)
        sub_parser.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The demo's output is the Slack transcript: keep routine log lines out of it unless asked.
    level_name = args.log_level or ("WARNING" if args.command == "demo" else "INFO")
    logging.basicConfig(
        level=getattr(logging, str(level_name).upper(), logging.INFO),
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
