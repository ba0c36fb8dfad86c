"""The ``/pod`` command language: text -> typed request (``podbot.core.model``) or ``UsageError``.

``parse`` is pure and total: whatever the text, it returns a request or raises ``UsageError``
(a ``ManifestError`` for a bad inline manifest) whose message says what is wrong and whose hint
is the verb's usage, in the caller's locale. Passwords never appear in any message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from podbot.commands import channel, create, delete, flags, help, pods, run
from podbot.commands.help import help_text, usage
from podbot.commands.tokens import Token, clean, split, split_manifest, strip_code_wrapping, word
from podbot.core.errors import UsageError
from podbot.core.messages import Problem, msg
from podbot.core.model import Request, ShowHelp

__all__ = ["VERBS", "help_text", "parse", "usage"]

VERBS = help.VERBS

_PARSERS: dict[str, Callable[[Sequence[Token]], Request]] = {
    "run": run.parse_run,
    "get": pods.parse_get,
    "describe": pods.parse_describe,
    "logs": pods.parse_logs,
    "delete": delete.parse_delete,
    "secret": create.parse_secret,
    "static": pods.parse_static,
    "approvals": channel.parse_approvals,
    "audit": channel.parse_audit,
    "subscribe": channel.parse_subscribe,
    "subscriptions": channel.parse_subscriptions,
    "unsubscribe": channel.parse_unsubscribe,
    "alerts": channel.parse_alerts,
}
_VERB_ALIASES = {"approval": "approvals", "subscription": "subscriptions", "alert": "alerts"}

# kubectl commands podbot deliberately does not offer, with the closest podbot answer.
_KUBECTL_ONLY = {
    "apply": "commands.advice.apply",
    "replace": "commands.advice.apply",
    "events": "commands.advice.events",
    "exec": "commands.advice.terminal",
    "attach": "commands.advice.terminal",
    "cp": "commands.advice.terminal",
    "port-forward": "commands.advice.terminal",
    "proxy": "commands.advice.terminal",
    "debug": "commands.advice.terminal",
    "edit": "commands.advice.in_place",
    "patch": "commands.advice.in_place",
    "label": "commands.advice.in_place",
    "annotate": "commands.advice.in_place",
    "set": "commands.advice.in_place",
    "scale": "commands.advice.workloads",
    "autoscale": "commands.advice.workloads",
    "rollout": "commands.advice.workloads",
    "expose": "commands.advice.workloads",
    "top": "commands.advice.none",
    "cordon": "commands.advice.nodes",
    "uncordon": "commands.advice.nodes",
    "drain": "commands.advice.nodes",
    "taint": "commands.advice.nodes",
    "explain": "commands.advice.none",
    "api-resources": "commands.advice.none",
    "api-versions": "commands.advice.none",
    "config": "commands.advice.none",
    "cluster-info": "commands.advice.none",
    "auth": "commands.advice.none",
    "wait": "commands.advice.none",
    "diff": "commands.advice.none",
    "kustomize": "commands.advice.none",
    "certificate": "commands.advice.none",
    "version": "commands.advice.none",
    "plugin": "commands.advice.none",
    "completion": "commands.advice.none",
    "alpha": "commands.advice.none",
}
_PREFIXES = frozenset({"kubectl", "$", "/pod", "k"})
_GLOBAL_VALUE_FLAGS = frozenset({"-n", "--namespace", "--context"})
_SENSITIVE_FLAG_WORDS = ("pass", "token", "secret", "pwd")
_MIN_SCRUB = 4


def parse(text: str, *, locale: str | None = None) -> Request:
    """Parse the text of a ``/pod`` slash command (a leading ``kubectl`` is ignored)."""
    state = _State()
    try:
        return _parse(text, locale, state)
    except Problem as problem:
        verb = problem.verb or state.verb
        hint = help.usage(verb, locale) if verb else help.verbs_hint(locale)
        raise UsageError(_scrub(problem.render(locale), state.sensitive), hint=hint) from None


class _State:
    """What the error path needs to know about how far parsing got."""

    def __init__(self) -> None:
        self.verb: str | None = None
        self.sensitive: list[str] = []


def _parse(text: str, locale: str | None, state: _State) -> Request:
    body = strip_code_wrapping(clean(text)).strip()
    first_word = _VERB_ALIASES.get(_first_word(body), _first_word(body))
    if first_word in _PARSERS or first_word in ("help", "create"):
        state.verb = first_word  # known before tokenizing, for the usage under a quoting error
    if first_word == "create":
        parts = split_manifest(body)
        tokens = _drop_prefix(split(parts.command))
        state.sensitive = _sensitive_values(tokens)
        verb_and_args = tokens[1:]
        if _wants_help(verb_and_args):
            return ShowHelp("create")
        return create.parse_create(verb_and_args, parts.manifest, locale=locale)
    tokens = _drop_prefix(split(body))
    state.sensitive = _sensitive_values(tokens)
    if not tokens:
        return ShowHelp(None)
    first = tokens[0].text
    if first in ("-h", "--help"):
        return ShowHelp(None)
    verb = word(first)
    verb = _VERB_ALIASES.get(verb, verb)
    rest = tokens[1:]
    if verb == "help":
        state.verb = "help"
        return _parse_help(rest)
    parser = _PARSERS.get(verb)
    if parser is None:
        raise _unknown_verb(first, verb)
    state.verb = verb
    if _wants_help(rest):
        return ShowHelp(verb)
    return parser(rest)


def _first_word(body: str) -> str:
    """The verb, read loosely before tokenizing: after ``kubectl`` and any global flags."""
    words = body.split()
    i = 0
    while i < len(words):
        current = word(words[i])
        if current in _PREFIXES:
            i += 1
        elif current.startswith("-") and current not in ("-h", "--help"):
            i += 2 if current in _GLOBAL_VALUE_FLAGS else 1
        else:
            return current
    return ""


def _drop_prefix(tokens: list[Token]) -> list[Token]:
    """Drop ``kubectl`` (and friends) and move global flags written before the verb after it.

    ``kubectl -n prod get pods`` is common; the verb's own flag parser then sees ``-n prod``.
    """
    while tokens and not tokens[0].quoted and word(tokens[0].text) in _PREFIXES:
        tokens = tokens[1:]
    leading: list[Token] = []
    while tokens and tokens[0].text.startswith("-") and tokens[0].text not in ("-h", "--help", "--", "-"):
        flag = tokens.pop(0)
        leading.append(flag)
        if word(flag.text) in _GLOBAL_VALUE_FLAGS and tokens:
            leading.append(tokens.pop(0))
    if leading and tokens:
        return [tokens[0], *leading, *tokens[1:]]
    return leading + tokens


def _wants_help(tokens: Sequence[Token]) -> bool:
    for token in tokens:
        if token.text == "--":
            return False
        if not token.quoted and token.text in ("-h", "--help"):
            return True
    return False


def _parse_help(tokens: Sequence[Token]) -> ShowHelp:
    words = [t.text for t in tokens if t.text not in ("-h", "--help")]
    if len(words) > 1 and word(words[0]) in _PREFIXES:
        words = words[1:]  # "help kubectl run"; "help kubectl" alone is a topic
    if not words:
        return ShowHelp(None)
    if len(words) > 1:
        raise Problem("commands.error.help_one_topic", topics=" ".join(words[:3]))
    return ShowHelp(help.canonical(words[0]))


def _unknown_verb(shown: str, verb: str) -> Problem:
    advice = _KUBECTL_ONLY.get(verb)
    if advice is not None:
        return Problem("commands.error.kubectl_verb", verb=verb, advice=msg(advice), verbs=", ".join(VERBS))
    suggestion = flags.suggest(verb, [*VERBS, "create", *_VERB_ALIASES])
    return Problem(
        "commands.error.unknown_verb", verb=shown[:40], suggestion=suggestion, verbs=", ".join(VERBS)
    )


def _sensitive_values(tokens: Sequence[Token]) -> list[str]:
    """Values of password-like flags, so that no message can ever quote them."""
    found: list[str] = []
    for i, token in enumerate(tokens):
        text = token.text
        if not text.startswith("-"):
            continue
        name, eq, value = text.lstrip("-").partition("=")
        if not any(w in name.lower() for w in _SENSITIVE_FLAG_WORDS):
            continue
        if eq:
            found.append(value)
        elif i + 1 < len(tokens):
            found.append(tokens[i + 1].text)
    return [v for v in found if len(v) >= _MIN_SCRUB]


def _scrub(message: str, sensitive: Sequence[str]) -> str:
    for value in sorted(sensitive, key=len, reverse=True):
        message = message.replace(value, "***")
    return message
