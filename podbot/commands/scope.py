"""Where a request applies (``--context``, ``-n``) and whether it is a dry run: flags many verbs share."""

from __future__ import annotations

from podbot.commands.flags import Args
from podbot.commands.tokens import word
from podbot.core import names
from podbot.core.messages import Problem
from podbot.core.model import DryRun, Where


def where(args: Args) -> Where:
    """``--context`` and ``-n``, validated; None where not given (channel defaults come later)."""
    namespace = args.one("namespace")
    context = args.one("context")
    return Where(
        context=names.context(context) if context is not None else None,
        namespace=names.namespace(namespace) if namespace is not None else None,
    )


def dry_run(args: Args) -> DryRun:
    """``--dry-run[=server|client|none]`` (bare ``--dry-run`` is kubectl's deprecated client mode)."""
    value = args.one("dry-run")
    if value is None:
        return DryRun.NONE
    lowered = word(value)
    # kubectl still accepts the old boolean spelling: true = client, false = none.
    lowered = {"true": "client", "false": "none", "unchanged": "client"}.get(lowered, lowered)
    for choice in DryRun:
        if choice.value == lowered:
            return choice
    raise Problem("commands.error.bad_choice", flag="--dry-run", value=value, choices="none, server, client")


def no_extra(args: Args, verb: str) -> None:
    """Refuse words after ``--`` for verbs that take none."""
    if args.rest:
        raise Problem("commands.error.unexpected_args", verb=verb)
