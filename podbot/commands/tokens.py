"""From Slack's slash-command text to shell-like tokens.

Slack escapes ``&``, ``<`` and ``>`` as HTML entities and, when the app asks for it, wraps
mentions and links as ``<@U123|name>`` / ``<http://x|x>``. Desktop clients may also turn
quotes into typographic ones (“ ” ‘ ’) and ``--`` into an em dash. This module undoes all of
that and splits the command line the way a POSIX shell would, so that what works in a
terminal works in Slack.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from podbot.core.messages import Problem

# A raw "<...>" only ever comes from Slack's own formatting: a "<" the user typed arrives as "&lt;".
_SLACK_MARKUP = re.compile(r"<([^<>\n]*)>")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e\u201f\u2033')
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b\u2032")
_APOSTROPHES = frozenset("'\u2019")
# Dash-like characters at the start of a word: macOS "smart dashes" turn "--" into an em dash,
# Chinese input methods give full-width hyphens.
_DOUBLE_DASHES = frozenset("\u2014\u2013")  # em dash, en dash
_SINGLE_DASHES = frozenset("-\uff0d\u2010\u2011\u2212")  # hyphen-minus, full-width, hyphen, nb-hyphen, minus

MAX_COMMAND_CHARS = 10_000


@dataclass(frozen=True)
class Token:
    """One shell word; ``quoted`` when any part of it was quoted or escaped."""

    text: str
    quoted: bool = False
    column: int = 1


def unslack(text: str) -> str:
    """Undo Slack's escaping: mentions and links first, then the three HTML entities."""

    def markup(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith(("@", "#")):
            return target  # user/channel ids are what podbot stores
        if target.startswith("!"):  # <!here>, <!subteam^S1|@team>
            return label or "@" + target[1:]
        return label or target

    text = _SLACK_MARKUP.sub(markup, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clean(text: str) -> str:
    """Slack text -> plain text: unescaped, without zero-width characters, ``\\n`` line ends."""
    return unslack(text).translate(_ZERO_WIDTH).replace("\r\n", "\n").replace("\r", "\n")


def strip_code_wrapping(text: str) -> str:
    """``\u0060get pods\u0060`` or a whole command in a code block -> the command itself."""
    stripped = text.strip()
    if len(stripped) > 6 and stripped.startswith("```") and stripped.endswith("```"):
        inner = stripped[3:-3]
        if "```" not in inner:
            return inner
    if len(stripped) > 2 and stripped.startswith("`") and stripped.endswith("`"):
        inner = stripped[1:-1]
        if "`" not in inner:
            return inner
    return text


def split(line: str) -> list[Token]:
    """Split like a POSIX shell: whitespace separates, quotes group, backslash escapes."""
    if len(line) > MAX_COMMAND_CHARS:
        raise Problem("commands.error.too_long", limit=MAX_COMMAND_CHARS)
    tokens: list[Token] = []
    buf: list[str] = []
    started = False
    quoted = False
    start = 0
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\" and line[i + 1 : i + 2] == "\n":
            i += 2  # a line continuation joins lines, as in a shell
            continue
        if c.isspace():
            if started:
                tokens.append(Token("".join(buf), quoted, start + 1))
                buf, started, quoted = [], False, False
            i += 1
            continue
        if not started:
            started, start = True, i
            if c in _DOUBLE_DASHES or c in _SINGLE_DASHES:
                i = _leading_dashes(line, i, buf)
                continue
        if c == "\\":
            quoted = True
            if i + 1 < n:
                buf.append(line[i + 1])
                i += 2
            else:
                buf.append(c)
                i += 1
            continue
        if c in DOUBLE_QUOTES:
            quoted = True
            i = _double_quoted(line, i, buf)
            continue
        if c in SINGLE_QUOTES:
            if _is_apostrophe(line, i):
                buf.append(c)
                i += 1
                continue
            quoted = True
            i = _single_quoted(line, i, buf)
            continue
        buf.append(c)
        i += 1
    if started:
        tokens.append(Token("".join(buf), quoted, start + 1))
    return tokens


def _is_apostrophe(line: str, i: int) -> bool:
    """ "it’s": a quote character between two letters is an apostrophe, not a quote."""
    return (
        line[i] in _APOSTROPHES and 0 < i < len(line) - 1 and line[i - 1].isalnum() and line[i + 1].isalnum()
    )


def _leading_dashes(line: str, i: int, buf: list[str]) -> int:
    count = 0
    while i < len(line) and (line[i] in _DOUBLE_DASHES or line[i] in _SINGLE_DASHES):
        count += 2 if line[i] in _DOUBLE_DASHES else 1
        i += 1
    buf.append("-" * count)
    return i


def _double_quoted(line: str, i: int, buf: list[str]) -> int:
    j = i + 1
    while j < len(line):
        c = line[j]
        if c in DOUBLE_QUOTES:
            return j + 1
        if c == "\\" and j + 1 < len(line) and (line[j + 1] in DOUBLE_QUOTES or line[j + 1] == "\\"):
            buf.append(line[j + 1])
            j += 2
            continue
        buf.append(c)
        j += 1
    raise Problem("commands.error.unterminated_quote", column=i + 1)


def _single_quoted(line: str, i: int, buf: list[str]) -> int:
    j = i + 1
    while j < len(line):
        if line[j] in SINGLE_QUOTES and not _is_apostrophe(line, j):
            return j + 1
        buf.append(line[j])
        j += 1
    raise Problem("commands.error.unterminated_quote", column=i + 1)


def word(text: str) -> str:
    """A keyword (verb, resource, sub-command) as typed on any keyboard: NFKC, lower case."""
    return unicodedata.normalize("NFKC", text).strip().lower()


# --- create: the command line and the manifest that follows it --------------------------------

_FENCE = "```"
_HEREDOC = re.compile(r"^\s*cat\s*>{1,2}\s*\S+\s*<<-?\s*(['\"]?)(\w+)\1\s*$")


@dataclass(frozen=True)
class CommandAndManifest:
    command: str
    manifest: str | None


def split_manifest(text: str) -> CommandAndManifest:
    """``create`` text -> its first line and the pasted manifest (code block, or later lines).

    Slack users paste manifests in a code block; the seed notes write them as a shell
    heredoc (``cat >nginx-pod.yaml<<EOF ... EOF``), which is unwrapped too.
    """
    if _FENCE in text:
        head, _, tail = text.partition(_FENCE)
        body, closed, after = tail.partition(_FENCE)
        if closed and after.strip():
            raise Problem("commands.error.text_after_code_block")
        first, newline, rest = body.partition("\n")
        if newline and word(first) in {"yaml", "yml", "json"}:
            body = rest  # ```yaml fences name the language on the opening line
        command, _, before_fence = head.partition("\n")
        if before_fence.strip():
            raise Problem("commands.error.text_before_code_block")
        return CommandAndManifest(command, _unheredoc(body))
    command, _, rest = text.partition("\n")
    return CommandAndManifest(command, _unheredoc(rest))


def _unheredoc(body: str) -> str | None:
    lines = body.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return None
    match = _HEREDOC.match(lines[0])
    if match and len(lines) >= 2 and lines[-1].strip() == match.group(2):
        lines = lines[1:-1]
    text = "\n".join(lines)
    return text + "\n" if text.strip() else None
