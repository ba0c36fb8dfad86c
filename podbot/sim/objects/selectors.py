"""Label and field selectors, parsed and matched like k8s.io/apimachinery/pkg/{labels,fields}.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a``, ``!a``,
``a>3``, ``a<3``, comma separated (ANDed). Field selectors: ``k=v``, ``k==v``, ``k!=v`` with
backslash escapes. Parse errors carry the parser's own wording; the HTTP layer turns them into
400 BadRequest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum


class SelectorError(ValueError):
    """The selector text could not be parsed or names a field that cannot be selected on."""


class Op(Enum):
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER = "gt"
    LESS = "lt"


@dataclass(frozen=True)
class Requirement:
    key: str
    op: Op
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        match self.op:
            case Op.EQUALS | Op.DOUBLE_EQUALS | Op.IN:
                return present and value in self.values
            case Op.NOT_EQUALS | Op.NOT_IN:
                return not present or value not in self.values
            case Op.EXISTS:
                return present
            case Op.DOES_NOT_EXIST:
                return not present
            case Op.GREATER | Op.LESS:
                if not present:
                    return False
                try:
                    have, want = int(value), int(self.values[0])
                except ValueError:
                    return False
                return have > want if self.op is Op.GREATER else have < want


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


# --- label selector lexer/parser (labels/selector.go) -----------------------------------------
_SPECIAL = {"(": "(", ")": ")", ",": ",", "=": "=", "==": "==", "!=": "!=", "!": "!", ">": ">", "<": "<"}
_KEYWORDS = {"in": "in", "notin": "notin"}
_LEXEME = re.compile(r"\s*(==|!=|[(),=!<>]|[^\s(),=!<>]+)")

_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

EMPTY_SET = "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def qualified_name_errors(key: str) -> list[str]:
    """validation.IsQualifiedName: ``[prefix/]name`` with a DNS-subdomain prefix."""
    errors: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        elif len(prefix) > 253:
            errors.append("prefix part must be no more than 253 bytes")
        elif not _DNS_SUBDOMAIN.match(prefix):
            errors.append("prefix part " + DNS_SUBDOMAIN_MSG)
    else:
        return [
            "a qualified name "
            + QUALIFIED_NAME_MSG.removeprefix("name part ")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 bytes")
    elif not _QUALIFIED_NAME.match(name):
        errors.append(QUALIFIED_NAME_MSG)
    return errors


def label_value_errors(value: str) -> list[str]:
    errors: list[str] = []
    if len(value) > 63:
        errors.append("must be no more than 63 bytes")
    if not _LABEL_VALUE.match(value):
        errors.append(LABEL_VALUE_MSG)
    return errors


class _Parser:
    def __init__(self, text: str) -> None:
        self.lexemes: list[str] = []
        pos = 0
        while pos < len(text):
            m = _LEXEME.match(text, pos)
            if m is None:
                break
            self.lexemes.append(m.group(1))
            pos = m.end()
            if not text[pos:].strip():
                break
        self.i = 0

    def peek(self) -> str | None:
        return self.lexemes[self.i] if self.i < len(self.lexemes) else None

    def take(self) -> str | None:
        lexeme = self.peek()
        self.i += 1
        return lexeme

    @staticmethod
    def describe(lexeme: str | None) -> str:
        return "end of string" if lexeme is None else lexeme

    def identifier(self, expected: str) -> str:
        lexeme = self.take()
        if lexeme is None or lexeme in _SPECIAL:
            raise SelectorError(f"found '{self.describe(lexeme)}', expected: {expected}")
        return lexeme

    def requirement(self) -> Requirement:
        lexeme = self.peek()
        if lexeme == "!":
            self.take()
            key = self.identifier("identifier")
            self._check_key(key)
            return Requirement(key, Op.DOES_NOT_EXIST)
        if lexeme is None or lexeme in _SPECIAL:
            raise SelectorError(
                f"found '{self.describe(lexeme)}', expected: !, identifier, or 'end of string'"
            )
        key = self.identifier("identifier")
        self._check_key(key)
        op_lex = self.peek()
        if op_lex is None or op_lex == ",":
            return Requirement(key, Op.EXISTS)
        self.take()
        ops = {"=": Op.EQUALS, "==": Op.DOUBLE_EQUALS, "!=": Op.NOT_EQUALS, ">": Op.GREATER, "<": Op.LESS}
        if op_lex in ops:
            op = ops[op_lex]
            value_lex = self.peek()
            if value_lex is None or value_lex == ",":
                value = ""
            elif value_lex in _SPECIAL:
                raise SelectorError(f"found '{value_lex}', expected: identifier")
            else:
                value = self.take() or ""
            if op in (Op.GREATER, Op.LESS):
                if not re.fullmatch(r"-?\d+", value):
                    raise SelectorError(
                        f"for 'Gt', 'Lt' operators, the value must be an integer: Invalid value: {value!r}"
                    )
            else:
                self._check_value(key, value)
            return Requirement(key, op, (value,))
        if op_lex in _KEYWORDS:
            op = Op.IN if op_lex == "in" else Op.NOT_IN
            if self.take() != "(":
                raise SelectorError(
                    "found '"
                    + self.describe(self.lexemes[self.i - 1] if self.i else None)
                    + "', expected: '('"
                )
            values: list[str] = []
            while True:
                lexeme = self.take()
                if lexeme == ")":
                    break
                if lexeme == ",":
                    values.append("")
                    continue
                if lexeme is None or lexeme in _SPECIAL:
                    raise SelectorError(f"found '{self.describe(lexeme)}', expected: ',', ')' or identifier")
                self._check_value(key, lexeme)
                values.append(lexeme)
                after = self.take()
                if after == ")":
                    break
                if after != ",":
                    raise SelectorError(f"found '{self.describe(after)}', expected: ',' or ')'")
            if not values:
                raise SelectorError(EMPTY_SET)
            return Requirement(key, op, tuple(values))
        raise SelectorError(f"found '{op_lex}', expected: in, notin, =, ==, !=, gt, lt")

    @staticmethod
    def _check_key(key: str) -> None:
        errors = qualified_name_errors(key)
        if errors:
            raise SelectorError(f"key: Invalid value: {_go_quote(key)}: {'; '.join(errors)}")

    @staticmethod
    def _check_value(key: str, value: str) -> None:
        errors = label_value_errors(value)
        if errors:
            raise SelectorError(f"values[0][{key}]: Invalid value: {_go_quote(value)}: {'; '.join(errors)}")


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_label_selector(text: str) -> LabelSelector:
    """labels.Parse. Raises SelectorError (message as the API server words it)."""
    if not text.strip():
        return LabelSelector()
    parser = _Parser(text)
    requirements: list[Requirement] = []
    while True:
        first = parser.peek()
        if first is None or (first in _SPECIAL and first != "!"):
            raise SelectorError(
                f"found '{parser.describe(first)}', expected: !, identifier, or 'end of string'"
            )
        try:
            requirements.append(parser.requirement())
        except SelectorError as e:
            raise SelectorError(f"unable to parse requirement: {e}") from e
        lexeme = parser.take()
        if lexeme is None:
            break
        if lexeme != ",":
            raise SelectorError(f"found '{lexeme}', expected: ',' or 'end of string'")
        if parser.peek() is None:
            raise SelectorError("found 'end of string', expected: identifier")
    return LabelSelector(tuple(requirements))


# --- field selectors (fields/selector.go) ------------------------------------------------------
@dataclass(frozen=True)
class FieldTerm:
    field: str
    value: str
    negate: bool

    def matches(self, fields: Mapping[str, str]) -> bool:
        equal = fields.get(self.field, "") == self.value
        return not equal if self.negate else equal


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(t.matches(fields) for t in self.terms)

    @property
    def empty(self) -> bool:
        return not self.terms

    def exact(self, field: str) -> str | None:
        """The value required by an ``field=value`` term, if there is one (for fast paths)."""
        for term in self.terms:
            if term.field == field and not term.negate:
                return term.value
        return None


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


_UNESCAPE = re.compile(r"\\(.)")


def _unescape(text: str) -> str:
    bad = re.search(r"\\([^\\,=!]|$)", text)
    if bad is not None:
        raise SelectorError(f"invalid field selector: invalid escape sequence: {bad.group(0)}")
    return _UNESCAPE.sub(r"\1", text)


def parse_field_selector(text: str) -> FieldSelector:
    """fields.ParseSelector (syntax only; which fields are allowed is checked by the caller)."""
    if not text:
        return FieldSelector()
    terms: list[FieldTerm] = []
    for part in _split_unescaped(text, ","):
        if not part:
            continue
        for op, negate in (("!=", True), ("==", False), ("=", False)):
            idx = _find_unescaped(part, op)
            if idx >= 0:
                field, value = part[:idx], part[idx + len(op) :]
                terms.append(FieldTerm(_unescape(field), _unescape(value), negate))
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
    return FieldSelector(tuple(terms))


def _find_unescaped(text: str, op: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(op, i):
            return i
        i += 1
    return -1


def check_field_labels(selector: FieldSelector, allowed: Sequence[str], generic: bool) -> None:
    """ConvertFieldLabel: every field must be selectable for the kind (400 otherwise)."""
    for term in selector.terms:
        if term.field in ("metadata.name", "metadata.namespace") or term.field in allowed:
            continue
        if generic:
            raise SelectorError(
                f'"{term.field}" is not a known field selector: only "metadata.name", "metadata.namespace"'
            )
        raise SelectorError(f"field label not supported: {term.field}")
