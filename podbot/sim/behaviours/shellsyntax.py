"""The syntax side of podbot.sim.behaviours.shell: tokens (words, operators, redirections) and a parse tree.

Supports what pod commands use: ``;``/newline/``&&``/``||``/``|`` lists, ``while``/``until``/``for``/
``if`` compounds, single and double quotes, ``$(...)`` kept whole, and redirections as single
words (``>&2``, ``2>/dev/null``, ``> file``). Syntax errors carry sh's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    text: str
    quoted: bool


OPERATORS = ("&&", "||", ";;", ";", "\n", "&", "|")
REDIRECT = re.compile(r"(?:[0-9]?>>?&[0-9]|&>>?|[0-9]?>>?|<)")


def tokenize(script: str) -> list[Word | str]:
    tokens: list[Word | str] = []
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch in " \t\r":
            i += 1
            continue
        if ch == "\\" and i + 1 < n and script[i + 1] == "\n":
            i += 2
            continue
        if ch == "#" and (not tokens or isinstance(tokens[-1], str)):
            while i < n and script[i] != "\n":
                i += 1
            continue
        redirect = REDIRECT.match(script, i)
        if redirect is not None:
            i = redirect.end()
            target = ""
            if not redirect.group(0).endswith(("&1", "&2")):
                while i < n and script[i] in " \t":
                    i += 1
                target, _, i = read_word(script, i)
            tokens.append(Word(redirect.group(0).replace(" ", "") + target, quoted=True))
            continue
        op = next((o for o in OPERATORS if script.startswith(o, i)), None)
        if op is not None:
            tokens.append(op)
            i += len(op)
            continue
        word, quoted, i = read_word(script, i)
        tokens.append(Word(word, quoted))
    return tokens


def read_word(script: str, i: int) -> tuple[str, bool, int]:
    out: list[str] = []
    quoted = False
    n = len(script)
    while i < n:
        ch = script[i]
        if ch in " \t\r\n;&|<>":
            break
        if ch == "'":
            end = script.find("'", i + 1)
            if end < 0:
                raise ValueError("unterminated quoted string")
            out.append("\x00" + script[i + 1 : end] + "\x01")  # literal: no expansion
            quoted = True
            i = end + 1
        elif ch == '"':
            j = i + 1
            buf: list[str] = []
            while j < n and script[j] != '"':
                if script[j] == "\\" and j + 1 < n and script[j + 1] in '"\\$`':
                    buf.append(script[j + 1])
                    j += 2
                    continue
                if script.startswith("$(", j):
                    end = matching_paren(script, j + 1)
                    buf.append(script[j : end + 1])
                    j = end + 1
                    continue
                buf.append(script[j])
                j += 1
            if j >= n:
                raise ValueError("unterminated quoted string")
            out.append("".join(buf))
            quoted = True
            i = j + 1
        elif ch == "\\" and i + 1 < n:
            out.append("\x00" + script[i + 1] + "\x01")
            i += 2
        elif script.startswith("$(", i):
            end = matching_paren(script, i + 1)
            out.append(script[i : end + 1])
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out), quoted, i


def matching_paren(script: str, start: int) -> int:
    depth = 0
    for j in range(start, len(script)):
        if script[j] == "(":
            depth += 1
        elif script[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError('unexpected end of file (expecting ")")')


@dataclass
class Simple:
    words: list[Word]


@dataclass
class Loop:
    until: bool
    condition: list[tuple[str, object]]
    body: list[tuple[str, object]]


@dataclass
class For:
    name: str
    items: list[Word]
    body: list[tuple[str, object]]


@dataclass
class If:
    branches: list[tuple[list[tuple[str, object]], list[tuple[str, object]]]]
    otherwise: list[tuple[str, object]] | None


class Parser:
    """Produces a list of (connector, node) with connector in {';', '&&', '||', '|'}."""

    def __init__(self, tokens: list[Word | str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> Word | str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _keyword(self) -> str | None:
        token = self._peek()
        return token.text if isinstance(token, Word) and not token.quoted else None

    def _expect(self, word: str) -> None:
        self._skip_separators()
        if self._keyword() != word:
            found = self._peek()
            shown = (
                found.text if isinstance(found, Word) else ("end of file" if found is None else repr(found))
            )
            raise ValueError(f'unexpected {shown} (expecting "{word}")')
        self.pos += 1

    def _skip_separators(self) -> None:
        while self._peek() in (";", "\n", "&"):
            self.pos += 1

    def parse_list(self, stop: set[str]) -> list[tuple[str, object]]:
        items: list[tuple[str, object]] = []
        connector = ";"
        while True:
            if connector == ";":
                self._skip_separators()
            token = self._peek()
            if token is None or (self._keyword() in stop):
                break
            node = self._command()
            items.append((connector, node))
            token = self._peek()
            if token in ("&&", "||", "|"):
                assert isinstance(token, str)
                connector = token
                self.pos += 1
                while self._peek() == "\n":
                    self.pos += 1
            elif token in (";", "\n", "&"):
                connector = ";"
                self.pos += 1
            else:
                connector = ";"
                if token is None or self._keyword() in stop:
                    break
        return items

    def _command(self) -> object:
        word = self._keyword()
        if word in ("while", "until"):
            self.pos += 1
            condition = self.parse_list({"do"})
            self._expect("do")
            body = self.parse_list({"done"})
            self._expect("done")
            return Loop(word == "until", condition, body)
        if word == "for":
            self.pos += 1
            name = self._peek()
            if not isinstance(name, Word):
                raise ValueError("bad for loop variable")
            self.pos += 1
            items: list[Word] = []
            if self._keyword() == "in":
                self.pos += 1
                while isinstance(self._peek(), Word) and self._keyword() != "do":
                    token = self._peek()
                    assert isinstance(token, Word)
                    items.append(token)
                    self.pos += 1
            self._expect("do")
            body = self.parse_list({"done"})
            self._expect("done")
            return For(name.text, items, body)
        if word == "if":
            self.pos += 1
            branches = []
            otherwise = None
            while True:
                condition = self.parse_list({"then"})
                self._expect("then")
                body = self.parse_list({"elif", "else", "fi"})
                branches.append((condition, body))
                self._skip_separators()
                keyword = self._keyword()
                self.pos += 1
                if keyword == "elif":
                    continue
                if keyword == "else":
                    otherwise = self.parse_list({"fi"})
                    self._expect("fi")
                elif keyword != "fi":
                    raise ValueError('unexpected end of file (expecting "fi")')
                break
            return If(branches, otherwise)
        words: list[Word] = []
        while isinstance(self._peek(), Word):
            token = self._peek()
            assert isinstance(token, Word)
            if (
                words == []
                and not token.quoted
                and token.text in ("do", "done", "then", "fi", "else", "elif")
            ):
                raise ValueError(f'unexpected "{token.text}"')
            words.append(token)
            self.pos += 1
        if not words:
            raise ValueError(f"unexpected {self._peek()!r}")
        return Simple(words)
