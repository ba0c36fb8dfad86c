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
from podbot.errors import PodbotError


@dataclass(frozen=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


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


# --- database and audit (podbot.store) --------------------------------------------------------


def _database_url() -> str:
    from podbot.config import load_settings  # noqa: PLC0415 (keep --help fast)

    # The CLI is the process edge: the one place besides config that may hand over os.environ.
    return load_settings(os.environ).database_url


def _configure_db(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    sub.add_parser(
        "upgrade",
        help="migrate the database (DATABASE_URL) to this podbot's schema; keeps every row",
        description="Migrate the database (DATABASE_URL) to this podbot's schema; keeps every row. "
        "podbot serve does this at start-up too.",
    )
    sub.add_parser("current", help="show the database's schema revision")


def _run_db(args: argparse.Namespace) -> int:
    from podbot.store import admin  # noqa: PLC0415 (SQLAlchemy only when needed)

    try:
        if args.db_command == "upgrade":
            url, before, after = admin.db_upgrade(_database_url())
            origin = before or "an empty database"
            change = "already current" if before == after else f"upgraded from {origin}"
            print(f"{url}: schema revision {after} ({change})")
        else:
            url, revision = admin.db_current(_database_url())
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


def _run_audit(args: argparse.Namespace) -> int:
    from podbot.store import admin  # noqa: PLC0415 (SQLAlchemy only when needed)

    try:
        count = admin.audit_export(
            _database_url(), since=args.since, output=args.output, now=datetime.now(UTC)
        )
    except PodbotError as exc:
        print(f"podbot audit export: {exc}", file=sys.stderr)
        return 1
    if args.output not in (None, "-"):
        print(f"{count} audit records written to {args.output}", file=sys.stderr)
    return 0


COMMANDS["db"] = Command("database schema: upgrade, current", _configure_db, _run_db)
COMMANDS["audit"] = Command("audit log: export", _configure_audit, _run_audit)
