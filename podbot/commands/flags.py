"""kubectl-style flags (the pflag rules cobra uses), for one verb at a time.

``--flag=value`` and ``--flag value``; ``-n NS``, ``-nNS``, ``-n=NS``; clustered booleans
(``-Ap``); booleans take no separate value (``--previous=false`` to negate); ``--`` ends the
flags; flags and positionals may interleave. Two deliberate differences from kubectl, because
in a shared channel an ambiguous command should be refused, not guessed: a single-valued flag
given twice with different values is an error (not "last one wins"), and a value flag does not
swallow the verb's next flag as its value (``--docker-username --docker-password=x``).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from podbot.commands.tokens import Token
from podbot.core.messages import Msg, Problem, msg


class Kind(Enum):
    BOOL = "bool"
    VALUE = "value"  # one value; repeats must agree
    LIST = "list"  # repeatable, each occurrence adds a value


@dataclass(frozen=True)
class Flag:
    name: str
    kind: Kind = Kind.VALUE
    short: str | None = None
    sensitive: bool = False  # its value is never put in a message
    bare: str | None = None  # value when written without "=value" (pflag's NoOptDefVal)
    aliases: tuple[str, ...] = ()


NAMESPACE = Flag("namespace", short="n")
CONTEXT = Flag("context")
ALL_NAMESPACES = Flag("all-namespaces", Kind.BOOL, short="A")
DRY_RUN = Flag("dry-run", bare="client")
HELP = Flag("help", Kind.BOOL, short="h")

# kubectl's global connection flags: podbot has its own credentials, so these are refused
# with an explanation instead of an "unknown flag".
CONNECTION_FLAGS: Mapping[str, str] = {
    name: "commands.error.flag_connection"
    for name in (
        "kubeconfig",
        "cluster",
        "user",
        "token",
        "server",
        "s",
        "as",
        "as-group",
        "as-uid",
        "username",
        "password",
        "certificate-authority",
        "client-certificate",
        "client-key",
        "insecure-skip-tls-verify",
        "tls-server-name",
    )
}
CLIENT_ONLY_FLAGS: Mapping[str, str] = {
    name: "commands.error.flag_client_only"
    for name in (
        "request-timeout",
        "v",
        "vmodule",
        "cache-dir",
        "match-server-version",
        "profile",
        "warnings-as-errors",
    )
}

_TRUE = frozenset({"1", "t", "true"})
_FALSE = frozenset({"0", "f", "false"})


@dataclass
class Args:
    """What one verb's flags and positionals came to."""

    specs: Mapping[str, Flag]
    values: dict[str, list[str]] = field(default_factory=dict)
    positionals: list[Token] = field(default_factory=list)
    rest: list[Token] | None = None  # everything after "--"

    def given(self, name: str) -> bool:
        return name in self.values

    def one(self, name: str) -> str | None:
        values = self.values.get(name)
        if not values:
            return None
        if len(set(values)) > 1:
            spec = self.specs[name]
            if spec.sensitive:
                raise Problem("commands.error.flag_repeated_secret", flag="--" + name)
            raise Problem(
                "commands.error.flag_repeated", flag="--" + name, first=values[0], second=values[-1]
            )
        return values[0]

    def many(self, name: str) -> list[str]:
        return list(self.values.get(name, ()))

    def switch(self, name: str) -> bool:
        value = self.one(name)
        return value is not None and value in _TRUE


def parse(
    tokens: Sequence[Token],
    flags: Iterable[Flag],
    *,
    refused: Mapping[str, str] | None = None,
    lenient: bool = False,
) -> Args:
    """Sort ``tokens`` into flag values and positionals; unknown flags raise with a suggestion.

    ``refused`` maps flag names (long, or a one-letter short) that kubectl has but podbot
    deliberately does not support to the message key that explains why. ``lenient`` stops at the
    first unknown flag instead of refusing it, for a first look at the leading positionals
    (``create deployment web --image=x`` is about a Deployment, not about ``--image``).
    """
    specs = {f.name: f for f in (*flags, HELP)}
    long_names = {alias: f for f in specs.values() for alias in (f.name, *f.aliases)}
    shorts = {f.short: f for f in specs.values() if f.short}
    refusals = {**CONNECTION_FLAGS, **CLIENT_ONLY_FLAGS, **(refused or {})}
    args = Args(specs)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        text = token.text
        if text == "--":
            args.rest = list(tokens[i + 1 :])
            break
        if text.startswith("--") and len(text) > 2:
            raw_name, eq, value = _split_assignment(text[2:])
            name = _flag_name(raw_name)
            spec = long_names.get(name) or (shorts.get(name) if len(name) == 1 else None)
            if spec is None and lenient:
                break
            if spec is None:
                _refuse("--" + name, name, refusals, long_names)
            assert spec is not None
            if spec.kind is Kind.BOOL:
                _record(args, spec, _boolean(spec, value) if eq else "true")
            elif eq:
                _record(args, spec, value)
            elif spec.bare is not None:
                _record(args, spec, spec.bare)
            elif i + 1 < len(tokens) and not _is_flag(tokens[i + 1], long_names, shorts):
                i += 1
                _record(args, spec, tokens[i].text)
            else:
                raise Problem("commands.error.flag_needs_value", flag="--" + spec.name)
        elif text.startswith("-") and len(text) > 1 and not token.quoted:
            if lenient and unicodedata.normalize("NFKC", text[1]) not in shorts:
                break
            i = _shorts(tokens, i, args, shorts, refusals, long_names)
        else:
            args.positionals.append(token)
        i += 1
    return args


def _shorts(
    tokens: Sequence[Token],
    i: int,
    args: Args,
    shorts: Mapping[str, Flag],
    refusals: Mapping[str, str],
    long_names: Mapping[str, Flag],
) -> int:
    cluster = tokens[i].text[1:]
    j = 0
    while j < len(cluster):
        letter = unicodedata.normalize("NFKC", cluster[j])
        spec = shorts.get(letter)
        if spec is None:
            _refuse("-" + letter, letter, refusals, long_names)
        assert spec is not None
        tail = cluster[j + 1 :]
        if spec.kind is Kind.BOOL:
            if tail.startswith("="):
                _record(args, spec, _boolean(spec, tail[1:]))
                return i
            _record(args, spec, "true")
            j += 1
            continue
        value = tail[1:] if tail.startswith("=") else tail
        if value:
            _record(args, spec, value)
        elif spec.bare is not None:
            _record(args, spec, spec.bare)
        elif i + 1 < len(tokens) and not _is_flag(tokens[i + 1], long_names, shorts):
            i += 1
            _record(args, spec, tokens[i].text)
        else:
            raise Problem("commands.error.flag_needs_value", flag="-" + letter)
        return i
    return i


def _is_flag(token: Token, long_names: Mapping[str, Flag], shorts: Mapping[str, Flag]) -> bool:
    """Whether the word after a value flag is one of this verb's own flags.

    pflag would take it as the value (``--docker-username --docker-password=x`` would make a
    user named "--docker-password=x"); a forgotten value is far likelier, so it is refused.
    ``--flag=-x`` still passes a value that starts with a dash.
    """
    if token.quoted:
        return False
    text = token.text
    if text.startswith("--") and len(text) > 2:
        return _flag_name(_split_assignment(text[2:])[0]) in long_names
    return len(text) == 2 and text[0] == "-" and text[1] in shorts


def _split_assignment(text: str) -> tuple[str, str, str]:
    """``name=value`` (also with a full-width "＝" from a Chinese input method) -> name, "=", value."""
    positions = [i for i in (text.find("="), text.find("\uff1d")) if i >= 0]
    if not positions:
        return text, "", ""
    i = min(positions)
    return text[:i], "=", text[i + 1 :]


def _flag_name(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).lower().replace("_", "-")


def _boolean(spec: Flag, value: str) -> str:
    lowered = value.lower()
    if lowered in _TRUE:
        return "true"
    if lowered in _FALSE:
        return "false"
    raise Problem("commands.error.flag_not_boolean", flag="--" + spec.name, value=value)


def _record(args: Args, spec: Flag, value: str) -> None:
    args.values.setdefault(spec.name, []).append(value)


def _refuse(shown: str, name: str, refusals: Mapping[str, str], long_names: Mapping[str, Flag]) -> None:
    reason = refusals.get(name)
    if reason is not None:
        raise Problem(reason, flag=shown)
    candidates = sorted({"--" + f.name for f in long_names.values()} - {"--help"})
    raise Problem("commands.error.unknown_flag", flag=shown, suggestion=suggest(shown, candidates))


def suggest(word: str, candidates: Iterable[str]) -> str | Msg:
    """``" Did you mean X?"`` (localized later) or an empty string."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not matches:
        return ""
    return msg("commands.error.did_you_mean", candidate=matches[0])
