"""YAML as ``kubectl create -f`` reads it, made safe for text pasted into a chat.

kubectl turns YAML into JSON with sigs.k8s.io/yaml, which uses go-yaml v2's typing rules:
``yes``/``no``/``y``/``n``/``on``/``off`` are booleans, timestamps stay strings, integers take
Go's base prefixes (``0x``, ``0o``, ``0b``, a leading ``0`` for octal), and there are no base-60
numbers (PyYAML's YAML 1.1 resolver would read ``12:30`` as 750). Reading YAML the same way
means the JSON podbot sends is the JSON kubectl would send.

The text is hostile until proven otherwise: nesting is capped while composing, aliases are
counted, and the size of the document *after* alias expansion is computed on the composed
node graph (each node measured once), so a "billion laughs" document is refused after
composing a few hundred nodes, before anything is expanded. Duplicate keys, which PyYAML
silently overwrites, are refused with their line. Only JSON-compatible tags are constructed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from podbot.core.messages import Msg, msg

MAX_ALIASES = 100  # per document; real manifests use a handful at most
MAX_DEPTH = 100  # a Pod nests ~12 levels deep
MAX_EXPANDED = 3 * 1024 * 1024  # the API server refuses request bodies above 3 MiB

STR_TAG = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class YamlProblem(Exception):
    """What is wrong, where (1-based line/column, when known) and in which document of the stream."""

    def __init__(self, message: Msg, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message.key)
        self.message = message
        self.line = line
        self.column = column
        self.document: int | None = None


def at(message: Msg, node: Node | None) -> YamlProblem:
    """A problem located at ``node`` (or unlocated)."""
    if node is None:
        return YamlProblem(message)
    return YamlProblem(message, node.start_mark.line + 1, node.start_mark.column + 1)


# --- go-yaml v2 scalar typing ----------------------------------------------------------------

_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
NULL_WORDS = frozenset(("", "~", "null", "Null", "NULL"))
_SPECIAL_FLOATS = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_FLOAT = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_INT64 = (-(2**63), 2**63 - 1)


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint: base prefixes 0x, 0o, 0b, and 0 (octal)."""
    sign = 1
    body = text
    if body[:1] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    lowered = body.lower()
    digits, base = body, 10
    if lowered.startswith("0x"):
        digits, base = body[2:], 16
    elif lowered.startswith("0o"):
        digits, base = body[2:], 8
    elif lowered.startswith("0b"):
        digits, base = body[2:], 2
    elif len(body) > 1 and body[0] == "0":
        digits, base = body[1:], 8
    allowed = "0123456789abcdef"[:base]
    if not digits or not digits.isascii() or any(c not in allowed for c in digits.lower()):
        return None
    value = sign * int(digits, base)
    if _INT64[0] <= value <= _INT64[1] or (sign == 1 and text[:1] != "-" and value < 2**64):
        return value
    return None


def _go_scalar(value: str) -> tuple[str, Any]:
    """go-yaml v2 ``resolve`` for a plain scalar: (tag, value) as it lands in interface{}."""
    if value in _BOOLS:
        return _BOOL, _BOOLS[value]
    if value in NULL_WORDS:
        return NULL_TAG, None
    if value in _SPECIAL_FLOATS:
        return _FLOAT, _SPECIAL_FLOATS[value]
    if value == "<<":
        return _MERGE, "<<"
    first = value[0]
    if first == ".":
        if _GO_FLOAT.match(value) and math.isfinite(float(value)):
            return _FLOAT, float(value)
    elif first in "+-0123456789":
        # Timestamps stay strings: go-yaml v2 keeps them as text when decoding into interface{}.
        plain = value.replace("_", "")
        if plain:
            number = _go_int(plain)
            if number is not None:
                return _INT, number
            # Go's ParseFloat fails on overflow ("1e400"), and go-yaml then keeps the text.
            if _YAML_STYLE_FLOAT.match(plain) and math.isfinite(float(plain)):
                return _FLOAT, float(plain)
            if plain.startswith("-0b") and plain[3:] and set(plain[3:]) <= {"0", "1"}:
                return _INT, -int(plain[3:], 2)
    return STR_TAG, value


def plain_tag(value: str) -> str:
    """The tag go-yaml v2 gives ``value`` written as a plain scalar (STR_TAG: it stays a string)."""
    return _go_scalar(value)[0]


class _Resolver(yaml.resolver.BaseResolver):
    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0]:
            return _go_scalar(value)[0]
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]


class _Constructor(yaml.constructor.SafeConstructor):
    yaml_constructors: ClassVar[dict[Any, Any]] = {}  # only the JSON-compatible tags below

    def construct_go_scalar(self, node: Node) -> Any:
        text = str(self.construct_scalar(node))  # type: ignore[arg-type]
        tag, value = _go_scalar(text) if text else (NULL_TAG, None)
        if node.tag in (STR_TAG, _TIMESTAMP):
            return text
        if node.tag == _FLOAT and tag == _INT:
            return float(value)  # type: ignore[arg-type]  # "!!float 1", as go-yaml converts it
        if tag != node.tag:
            raise at(msg("manifest.error.tag_mismatch", tag=_short(node.tag), value=text[:40]), node)
        if isinstance(value, float) and not math.isfinite(value):
            raise at(msg("manifest.error.not_json_number", value=text[:40]), node)
        return value

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Hashable, Any]:
        if not isinstance(node, MappingNode):
            raise at(msg("manifest.error.expected_mapping"), node)
        seen: dict[str, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._key(key_node)
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise at(msg("manifest.error.duplicate_key", key=key, first_line=first), key_node)
            seen[key] = key_node
        self.flatten_mapping(node)
        mapping: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            mapping[self._key(key_node)] = self.construct_object(value_node, deep=deep)
        return mapping

    def _key(self, key_node: Node) -> str:
        if not isinstance(key_node, ScalarNode):
            raise at(msg("manifest.error.complex_key"), key_node)
        key = self.construct_object(key_node)
        if isinstance(key, str):
            return key
        if isinstance(key, bool):  # sigs.k8s.io/yaml turns bool and int keys into strings
            return "true" if key else "false"
        if isinstance(key, int):
            return str(key)
        raise at(msg("manifest.error.key_type", key=str(key_node.value)[:40]), key_node)

    def construct_undefined(self, node: Node) -> Any:
        raise at(msg("manifest.error.tag", tag=_short(str(node.tag))[:60]), node)


_SCALAR_TAGS: tuple[str | None, ...] = (STR_TAG, _INT, _FLOAT, _BOOL, NULL_TAG, _TIMESTAMP)
_Constructor.yaml_constructors.update(
    {
        **dict.fromkeys(_SCALAR_TAGS, _Constructor.construct_go_scalar),
        _SEQ: yaml.constructor.SafeConstructor.construct_yaml_seq,
        _MAP: yaml.constructor.SafeConstructor.construct_yaml_map,
        None: _Constructor.construct_undefined,  # any other tag: !!binary, !!set, !custom ...
    }
)


def _short(tag: str) -> str:
    return "!!" + tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else tag


class _Limits(yaml.composer.Composer):
    """The composer with a nesting cap and an alias count (PyYAML's own has neither)."""

    aliases: int
    depth: int

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(yaml.events.AliasEvent):  # type: ignore[attr-defined]
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise at(msg("manifest.error.too_many_aliases", limit=MAX_ALIASES), self._event_node())
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise at(msg("manifest.error.too_deep", limit=MAX_DEPTH), self._event_node())
            node = super().compose_node(parent, index)
            assert node is not None  # only a whole empty stream composes to None
            return node
        finally:
            self.depth -= 1

    def _event_node(self) -> Node:
        event = self.peek_event()  # type: ignore[attr-defined]
        return ScalarNode(STR_TAG, "", event.start_mark, event.end_mark)


class _PureLoader(
    _Limits, yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _Constructor, _Resolver
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)
        self.aliases = 0
        self.depth = 0


Loader: type[_PureLoader] = _PureLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastLoader(_Limits, CParser, _Constructor, _Resolver):
        """libyaml's event parser (5x faster on 256 KiB) under the same Python composer and limits.

        ``_Limits`` comes first in the method order, so the Python composer (not libyaml's) builds
        the nodes and every limit above applies.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            _Constructor.__init__(self)
            _Resolver.__init__(self)
            self.aliases = 0
            self.depth = 0

    Loader = _FastLoader  # type: ignore[assignment]


# --- expansion budget ------------------------------------------------------------------------


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def check_expansion(root: Node) -> None:
    """Size and depth of the document once every alias is expanded, without expanding it.

    Each distinct node is measured once (memoized), so a billion-laughs document costs as much
    as its few hundred composed nodes; a node that contains itself is refused too.
    """
    measured: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            weight = 2 + (len(node.value) if isinstance(node, ScalarNode) else 0)
            weight += sum(measured[id(k)][0] for k in kids)
            depth = 1 + max((measured[id(k)][1] for k in kids), default=0)
            on_path.discard(key)
            if weight > MAX_EXPANDED:
                raise at(msg("manifest.error.expands_too_much", limit=MAX_EXPANDED // (1024 * 1024)), node)
            if depth > MAX_DEPTH:
                raise at(msg("manifest.error.too_deep", limit=MAX_DEPTH), node)
            measured[key] = (weight, depth)
            continue
        if key in measured:
            continue
        if key in on_path:
            raise at(msg("manifest.error.recursive_alias"), node)
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                raise at(msg("manifest.error.recursive_alias"), kid)
            if id(kid) not in measured:
                stack.append((kid, False))


@dataclass(frozen=True)
class Document:
    """One non-empty YAML document of a stream: its number, first line, value, text and node."""

    index: int
    line: int
    value: Any
    source: str
    node: Node


def documents(text: str, *, limit: int) -> list[Document]:
    """The non-empty documents of a YAML stream (at most ``limit`` + 1, so callers can refuse more).

    Raises ``YamlProblem`` with ``document`` set to the 1-based number of the document at fault,
    counting empty documents as a reader counts the ``---`` separators.
    """
    found: list[Document] = []
    index = 0
    loader: _PureLoader | None = None
    try:
        loader = Loader(text)  # the reader refuses unprintable characters right here
        while True:
            loader.aliases = 0
            index += 1
            if not loader.check_node():
                break
            node = loader.get_node()
            if node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG):
                continue  # an empty document ("---" followed by nothing, or only comments)
            check_expansion(node)
            value = loader.construct_document(node)
            source = text[node.start_mark.index : node.end_mark.index]
            found.append(Document(index, node.start_mark.line + 1, value, source, node))
            if len(found) > limit:
                break
    except YamlProblem as problem:
        problem.document = index
        raise
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        located = YamlProblem(
            msg("manifest.error.yaml_syntax", problem=str(err.problem or err.context or "")),
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        )
        located.document = index
        raise located from None
    except yaml.YAMLError as err:  # ReaderError: a character YAML does not allow at all
        raise _reader_problem(text, err) from None
    finally:
        if loader is not None:
            loader.dispose()
    return found


def _reader_problem(text: str, err: yaml.YAMLError) -> YamlProblem:
    if isinstance(err, yaml.reader.ReaderError) and isinstance(err.character, int):
        position = err.position
        if err.encoding != "unicode":  # libyaml counts UTF-8 bytes, PyYAML characters
            position = len(text.encode("utf-8")[:position].decode("utf-8", errors="ignore"))
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        return YamlProblem(msg("manifest.error.character", code=f"U+{err.character:04X}"), line, column)
    return YamlProblem(msg("manifest.error.yaml_syntax", problem=type(err).__name__))


def _go_json(value: Any) -> Any:
    """Floats as Go's encoding/json writes them: integral values without a fraction."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_json(v) for v in value]
    return value


def to_json(obj: dict[str, Any]) -> str:
    """The JSON kubectl would send for ``obj`` (compact, UTF-8 text, no NaN)."""
    return json.dumps(_go_json(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
