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


_BOOLEANS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})


def dry_run(args: Args) -> DryRun:
    """``--dry-run=none|server|client``, case-sensitive as in kubectl; bare ``--dry-run`` is client.

    kubectl 1.32 still takes the boolean spellings of before 1.18 with a deprecation warning;
    podbot refuses them with the replacement, so that ``--dry-run=false`` is never misread."""
    value = args.one("dry-run")
    if value is None:
        return DryRun.NONE
    if value in _BOOLEANS:
        raise Problem("commands.error.dry_run_boolean", value=value)
    for choice in DryRun:
        if choice.value == value:
            return choice
    raise bad_choice("--dry-run", value, [c.value for c in DryRun])


def bad_choice(flag: str, value: str, choices: list[str]) -> Problem:
    """An enum value kubectl does not take; a value right but for its case says so."""
    same = [c for c in choices if c.lower() == word(value)]
    if same:
        return Problem("commands.error.bad_choice_case", flag=flag, value=value, choice=same[0])
    return Problem("commands.error.bad_choice", flag=flag, value=value, choices=", ".join(choices))


def no_extra(args: Args, verb: str) -> None:
    """Refuse words after ``--`` for verbs that take none."""
    if args.rest:
        raise Problem("commands.error.unexpected_args", verb=verb)
