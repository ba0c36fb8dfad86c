"""The channel verbs: approvals, audit, subscribe, subscriptions, unsubscribe, alerts."""

from __future__ import annotations

import re
from collections.abc import Sequence

from podbot.commands import flags, schedule
from podbot.commands.flags import Args, Flag, Kind
from podbot.commands.tokens import Token, word
from podbot.core import names
from podbot.core.messages import Problem
from podbot.core.model import (
    DigestKind,
    ListApprovals,
    ListSubscriptions,
    SetAlerts,
    ShowAudit,
    Subscribe,
    Unsubscribe,
)
from podbot.core.times import is_timezone

# Slack user ids (U..., W... for Enterprise Grid); "<@U123|name>" arrives here as "@U123".
_USER_ID = re.compile(r"^@?([UW][A-Z0-9]{2,})$")
DEFAULT_CRON = "0 9 * * *"
EVERY_MIN = 5 * 60
EVERY_MAX = 31 * 86400


def _no_arguments(verb: str, args: Args) -> None:
    extra = [t.text for t in args.positionals] + [t.text for t in args.rest or ()]
    if extra:
        raise Problem("commands.error.takes_no_arguments", verb=verb, arg=extra[0])


def parse_approvals(tokens: Sequence[Token]) -> ListApprovals:
    _no_arguments("approvals", flags.parse(tokens, ()))
    return ListApprovals()


def parse_subscriptions(tokens: Sequence[Token]) -> ListSubscriptions:
    _no_arguments("subscriptions", flags.parse(tokens, ()))
    return ListSubscriptions()


AUDIT_FLAGS = (Flag("user"), Flag("since"), flags.NAMESPACE)


def parse_audit(tokens: Sequence[Token]) -> ShowAudit:
    args = flags.parse(tokens, AUDIT_FLAGS)
    _no_arguments("audit", args)
    user = args.one("user")
    since = args.one("since")
    namespace = args.one("namespace")
    return ShowAudit(
        user=_user(user) if user is not None else None,
        since_seconds=schedule.duration_seconds(since, flag="--since", days=True)
        if since is not None
        else None,
        namespace=names.namespace(namespace) if namespace is not None else None,
    )


def _user(text: str) -> str:
    """A Slack user id when one was given (a mention), else the name without a leading "@"."""
    match = _USER_ID.match(text.strip())
    if match:
        return match.group(1)
    name = text.strip().removeprefix("@")
    if not name or len(name) > 256 or any(c.isspace() for c in name):
        raise Problem("commands.error.bad_user", user=text)
    return name


def _namespaces(args: Args) -> tuple[str, ...]:
    found: list[str] = []
    for value in args.many("namespace"):
        for item in value.split(","):
            namespace = names.namespace(item.strip())
            if namespace not in found:
                found.append(namespace)
    return tuple(found)


def _context(args: Args) -> str | None:
    value = args.one("context")
    return names.context(value) if value is not None else None


SUBSCRIBE_FLAGS = (
    Flag("every"),
    Flag("cron"),
    Flag("tz", aliases=("timezone", "time-zone")),
    Flag("namespace", Kind.LIST, short="n"),
    flags.CONTEXT,
)
_KINDS = {kind.value: kind for kind in DigestKind}
_KIND_ALIASES = {
    "image-pull": "image-pulls",
    "imagepulls": "image-pulls",
    "pulls": "image-pulls",
    "images": "image-pulls",
}


def parse_subscribe(tokens: Sequence[Token]) -> Subscribe:
    args = flags.parse(tokens, SUBSCRIBE_FLAGS)
    texts = [t.text for t in args.positionals] + [t.text for t in args.rest or ()]
    if not texts:
        raise Problem("commands.error.subscribe_what", kinds="health, image-pulls")
    chosen = word(texts[0])
    kind = _KINDS.get(_KIND_ALIASES.get(chosen, chosen))
    if kind is None:
        raise Problem("commands.error.subscribe_kind", kind=texts[0], kinds="health, image-pulls")
    if len(texts) > 1:
        raise Problem("commands.error.takes_no_arguments", verb="subscribe " + kind.value, arg=texts[1])
    every = args.one("every")
    cron = args.one("cron")
    if every is not None and cron is not None:
        raise Problem("commands.error.every_and_cron")
    every_seconds = None
    if every is not None:
        every_seconds = schedule.duration_seconds(every, flag="--every", days=True)
        if not EVERY_MIN <= every_seconds <= EVERY_MAX:
            raise Problem("commands.error.every_range", value=every)
    normalized = schedule.cron(cron) if cron is not None else None
    if every_seconds is None and normalized is None:
        normalized = DEFAULT_CRON
    timezone = args.one("tz")
    if timezone is not None:
        if every_seconds is not None:
            raise Problem("commands.error.tz_with_every")
        if not is_timezone(timezone):
            raise Problem("commands.error.bad_timezone", value=timezone)
    return Subscribe(
        kind=kind,
        every_seconds=every_seconds,
        cron=normalized,
        namespaces=_namespaces(args),
        context=_context(args),
        timezone=timezone,
    )


def parse_unsubscribe(tokens: Sequence[Token]) -> Unsubscribe:
    args = flags.parse(tokens, ())
    texts = [t.text for t in args.positionals] + [t.text for t in args.rest or ()]
    if not texts:
        raise Problem("commands.error.unsubscribe_needs_id")
    if len(texts) > 1:
        raise Problem("commands.error.unsubscribe_one")
    raw = texts[0].strip().removeprefix("#")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) < 1:
        raise Problem("commands.error.unsubscribe_bad_id", value=texts[0])
    return Unsubscribe(subscription_id=int(raw))


ALERTS_FLAGS = (Flag("namespace", Kind.LIST, short="n"), flags.CONTEXT)
_ON = frozenset({"on", "enable", "enabled", "true", "yes"})
_OFF = frozenset({"off", "disable", "disabled", "false", "no"})


def parse_alerts(tokens: Sequence[Token]) -> SetAlerts:
    args = flags.parse(tokens, ALERTS_FLAGS)
    texts = [t.text for t in args.positionals] + [t.text for t in args.rest or ()]
    if not texts:
        raise Problem("commands.error.alerts_on_off")
    switch = word(texts[0])
    if switch not in _ON | _OFF:
        raise Problem("commands.error.alerts_on_off_got", value=texts[0])
    if len(texts) > 1:
        raise Problem("commands.error.takes_no_arguments", verb="alerts " + switch, arg=texts[1])
    return SetAlerts(enabled=switch in _ON, namespaces=_namespaces(args), context=_context(args))
