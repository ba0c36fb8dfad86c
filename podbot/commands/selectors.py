"""Label and field selectors, checked with apimachinery's grammar before they reach the server.

The label-selector lexer and parser follow ``k8s.io/apimachinery/pkg/labels/selector.go``
(same tokens, same keyword-or-identifier rules, same messages), so that what podbot accepts
is exactly what the API server accepts.
"""

from __future__ import annotations

from enum import Enum

from podbot.core import names
from podbot.core.messages import Msg, Problem, msg


class _Tok(Enum):
    ERROR = 0
    END = 1
    CLOSE = 2
    COMMA = 3
    NOT = 4
    DOUBLE_EQUALS = 5
    EQUALS = 6
    GREATER = 7
    IDENT = 8
    IN = 9
    LESS = 10
    NOT_EQUALS = 11
    NOT_IN = 12
    OPEN = 13


_LITERALS = {
    ")": _Tok.CLOSE,
    ",": _Tok.COMMA,
    "!": _Tok.NOT,
    "==": _Tok.DOUBLE_EQUALS,
    "=": _Tok.EQUALS,
    ">": _Tok.GREATER,
    "in": _Tok.IN,
    "<": _Tok.LESS,
    "!=": _Tok.NOT_EQUALS,
    "notin": _Tok.NOT_IN,
    "(": _Tok.OPEN,
}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


def _lex(text: str) -> list[tuple[_Tok, str]]:
    items: list[tuple[_Tok, str]] = []
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            items.append((_Tok.END, ""))
            return items
        if text[pos] in _SPECIAL:
            buffer = ""
            last: tuple[_Tok, str] | None = None
            while pos < n and text[pos] in _SPECIAL:
                buffer += text[pos]
                if buffer in _LITERALS:
                    last = (_LITERALS[buffer], buffer)
                    pos += 1
                elif last is not None:
                    break
                else:
                    pos += 1
            if last is None:
                raise _bad(msg("commands.selector.expected_keyword", found=buffer))
            items.append(last)
            continue
        start = pos
        while pos < n and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
            pos += 1
        literal = text[start:pos]
        items.append((_LITERALS.get(literal, _Tok.IDENT), literal))


def _bad(reason: Msg) -> Problem:
    return Problem("commands.error.label_selector_reason", reason=reason)


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def lookahead(self, values: bool) -> tuple[_Tok, str]:
        tok, lit = self.items[self.pos]
        if values and tok in (_Tok.IN, _Tok.NOT_IN):
            tok = _Tok.IDENT  # "in" and "notin" are plain values where a value is expected
        return tok, lit

    def consume(self, values: bool) -> tuple[_Tok, str]:
        item = self.lookahead(values)
        self.pos += 1
        return item

    def parse(self) -> None:
        while True:
            tok, lit = self.lookahead(values=True)
            if tok in (_Tok.IDENT, _Tok.NOT):
                self.requirement()
                tok, lit = self.consume(values=True)
                if tok is _Tok.END:
                    return
                if tok is _Tok.COMMA:
                    tok2, lit2 = self.lookahead(values=True)
                    if tok2 not in (_Tok.IDENT, _Tok.NOT):
                        raise _bad(msg("commands.selector.expected_identifier_after_comma", found=lit2))
                    continue
                raise _bad(msg("commands.selector.expected_comma_or_end", found=lit))
            if tok is _Tok.END:
                return
            raise _bad(msg("commands.selector.expected_start", found=lit))

    def requirement(self) -> None:
        tok, lit = self.consume(values=True)
        negated = tok is _Tok.NOT
        if negated:
            tok, lit = self.consume(values=True)
        if tok is not _Tok.IDENT:
            raise _bad(msg("commands.selector.expected_identifier", found=lit))
        key = lit
        _key(key)
        nxt, _ = self.lookahead(values=True)
        if negated or nxt in (_Tok.END, _Tok.COMMA):
            if negated and nxt not in (_Tok.END, _Tok.COMMA):
                # "!a=b": Go's parser then meets "=" where "," or the end belongs.
                raise _bad(msg("commands.selector.expected_comma_or_end", found=self.lookahead(True)[1]))
            return
        op, op_lit = self.consume(values=False)
        if op in (_Tok.IN, _Tok.NOT_IN):
            for value in self.values():
                _value(key, value)
        elif op in (_Tok.EQUALS, _Tok.DOUBLE_EQUALS, _Tok.NOT_EQUALS):
            _value(key, self.exact_value())
        elif op in (_Tok.GREATER, _Tok.LESS):
            value = self.exact_value()
            _value(key, value)
            if not _is_int64(value):
                raise _bad(msg("commands.selector.gt_lt_integer", value=value))
        else:
            raise _bad(msg("commands.selector.expected_operator", found=op_lit, operators=_BINARY_OPERATORS))

    def values(self) -> list[str]:
        tok, lit = self.consume(values=True)
        if tok is not _Tok.OPEN:
            raise _bad(msg("commands.selector.expected_open", found=lit))
        tok, lit = self.lookahead(values=True)
        if tok is _Tok.CLOSE:
            self.consume(values=True)
            return [""]
        if tok not in (_Tok.IDENT, _Tok.COMMA):
            raise _bad(msg("commands.selector.expected_value_list", found=lit))
        found: list[str] = []
        while True:
            tok, lit = self.consume(values=True)
            if tok is _Tok.IDENT:
                found.append(lit)
                tok2, lit2 = self.lookahead(values=True)
                if tok2 is _Tok.COMMA:
                    continue
                if tok2 is _Tok.CLOSE:
                    self.consume(values=True)
                    return found
                raise _bad(msg("commands.selector.expected_comma_or_close", found=lit2))
            if tok is _Tok.COMMA:
                if not found:
                    found.append("")
                tok2, _ = self.lookahead(values=True)
                if tok2 is _Tok.CLOSE:
                    self.consume(values=True)
                    found.append("")
                    return found
                if tok2 is _Tok.COMMA:
                    self.consume(values=True)
                    found.append("")
                continue
            raise _bad(msg("commands.selector.expected_comma_or_identifier", found=lit))

    def exact_value(self) -> str:
        tok, _ = self.lookahead(values=True)
        if tok in (_Tok.END, _Tok.COMMA):
            return ""
        tok, lit = self.consume(values=True)
        if tok is _Tok.IDENT:
            return lit
        raise _bad(msg("commands.selector.expected_identifier", found=lit))


def _key(key: str) -> None:
    errors = names.qualified_name_errors(key)
    if errors:
        raise Problem("commands.error.label_selector_key", key=key, reason=errors[0])


def _value(key: str, value: str) -> None:
    errors = names.label_value_errors(value)
    if errors:
        raise Problem("commands.error.label_selector_value", key=key, value=value, reason=errors[0])


def _is_int64(value: str) -> bool:
    body = value[1:] if value[:1] in "+-" else value
    return body.isascii() and body.isdigit() and -(2**63) <= int(value) < 2**63


def label_selector(text: str) -> str:
    """Return ``text`` unchanged if it is a valid label selector; raise a Problem otherwise."""
    if len(text) > 4096:
        raise Problem("commands.error.selector_too_long", limit=4096)
    _Parser(text).parse()
    return text


# --- field selectors ---------------------------------------------------------------------------

# pkg/registry/core/pod/strategy.go (PodToSelectableFields) + the generic metadata fields.
POD_FIELDS = (
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
)
_FIELD_OPERATORS = ("!=", "==", "=")


def field_selector(text: str) -> str:
    """fields.ParseSelector's syntax, plus the field names the API server supports for pods."""
    if len(text) > 4096:
        raise Problem("commands.error.selector_too_long", limit=4096)
    for term in _split_terms(text):
        if not term:
            continue
        lhs, rhs = _split_term(text, term)
        _unescape(text, rhs)
        if lhs not in POD_FIELDS:
            raise Problem("commands.error.field_not_supported", field=lhs, fields=", ".join(POD_FIELDS))
    return text


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    start = 0
    escaped = False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(selector: str, term: str) -> tuple[str, str]:
    for i in range(len(term)):
        for op in _FIELD_OPERATORS:
            if term.startswith(op, i):
                return term[:i], term[i + len(op) :]
    raise Problem("commands.error.field_selector_term", selector=selector, term=term)


def _unescape(selector: str, value: str) -> None:
    i = 0
    while i < len(value):
        if value[i] == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\,=":
                raise Problem("commands.error.field_selector_escape", selector=selector)
            i += 2
            continue
        if value[i] in ",=":
            raise Problem("commands.error.field_selector_unescaped", selector=selector, char=value[i])
        i += 1
