"""Locale-free messages: a catalog key plus parameters, rendered later in the reader's locale.

The parser and the name rules raise ``Problem`` and never format text themselves;
``commands.parse`` turns it into a localized ``UsageError`` with the verb's usage as the hint.
Parameters may nest other messages (``Msg``), so that reasons such as the API server's name
rules are translated too.

Parameters must never carry a secret: messages are built from names and flag names only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from podbot.core import i18n


@dataclass(frozen=True)
class Msg:
    """A message by key, rendered later in the caller's locale."""

    key: str
    params: dict[str, str | int | Msg] = field(default_factory=dict)

    def render(self, locale: str | None) -> str:
        rendered = {name: _render(value, locale) for name, value in self.params.items()}
        return i18n.t(self.key, locale, **rendered)


def _render(value: str | int | Msg, locale: str | None) -> str | int:
    return value.render(locale) if isinstance(value, Msg) else value


def msg(key: str, /, **params: str | int | Msg) -> Msg:
    return Msg(key, dict(params))


class Problem(Exception):
    """The command text is wrong in a way described by one catalog message."""

    def __init__(self, key: str, /, **params: str | int | Msg) -> None:
        super().__init__(key)
        self.message = Msg(key, dict(params))
        self.verb: str | None = None  # whose usage to show, when not the verb being parsed

    def render(self, locale: str | None) -> str:
        return self.message.render(locale)
