"""Pasted YAML/JSON manifests -> checked documents, safely.

The text comes from a chat message, so it is treated as hostile: a size cap, a nesting cap,
an alias budget and an expansion cap (a "billion laughs" document is refused after composing
its few hundred nodes, before anything is expanded), duplicate keys refused (PyYAML would
silently keep the last one), and only the two kinds podbot creates are accepted.

YAML is read with go-yaml v2's typing rules, which is what ``kubectl create -f`` uses
(through sigs.k8s.io/yaml) to turn YAML into JSON: ``yes``/``no``/``y``/``n``/``on``/``off``
are booleans, timestamps stay strings, there are no base-60 numbers. The JSON sent to the API
server (``Manifest.body``) is therefore what kubectl would send; JSON input is passed through
byte for byte.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from podbot.commands import names
from podbot.commands.problem import Msg, msg
from podbot.errors import UsageError

MAX_BYTES = 256 * 1024
MAX_DOCUMENTS = 50
MAX_ALIASES = 100  # per document; real manifests use a handful at most
MAX_DEPTH = 100  # a Pod nests ~12 levels deep
MAX_EXPANDED = 3 * 1024 * 1024  # the API server refuses request bodies above 3 MiB

SUPPORTED = "Pod (v1), Secret (v1, type kubernetes.io/dockerconfigjson)"
DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class ManifestError(UsageError):
    """A pasted manifest was refused; ``document``/``line``/``column`` are 1-based where known."""

    def __init__(
        self,
        message: str,
        *,
        key: str,
        document: int | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.key = key
        self.document = document
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Manifest:
    """One document: identity for checks and messages, ``body`` for the API server.

    ``obj`` is the parsed document (do not mutate it); ``body`` is its JSON text (the original
    text for JSON input); ``source`` is the document as pasted. The three are left out of
    repr because a registry Secret carries credentials.
    """

    index: int
    line: int
    api_version: str
    kind: str
    name: str | None
    generate_name: str | None
    namespace: str | None
    secret_type: str | None
    obj: dict[str, Any] = field(repr=False, compare=False)
    body: str = field(repr=False)
    source: str = field(repr=False)


# --- failures --------------------------------------------------------------------------------


class _Fail(Exception):
    """A located problem inside one document; turned into ManifestError by the caller."""

    def __init__(self, message: Msg, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message.key)
        self.message = message
        self.line = line
        self.column = column


def _at(message: Msg, node: Node | None) -> _Fail:
    if node is None:
        return _Fail(message)
    return _Fail(message, node.start_mark.line + 1, node.start_mark.column + 1)


def _error(fail: _Fail, document: int | None, locale: str | None) -> ManifestError:
    problem = fail.message.render(locale)
    if document is not None and fail.line is not None:
        where = msg("manifest.where.document_line", document=document, line=fail.line, column=fail.column or 1)
    elif document is not None:
        where = msg("manifest.where.document", document=document)
    elif fail.line is not None:
        where = msg("manifest.where.line", line=fail.line, column=fail.column or 1)
    else:
        where = None
    text = msg("manifest.located", where=where, problem=problem).render(locale) if where else problem
    return ManifestError(
        text,
        key=fail.message.key,
        document=document,
        line=fail.line,
        column=fail.column,
        hint=msg("manifest.hint", supported=SUPPORTED).render(locale),
    )


# --- go-yaml v2 scalar typing ----------------------------------------------------------------

_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
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
    if value in _NULLS:
        return _NULL, None
    if value in _SPECIAL_FLOATS:
        return _FLOAT, _SPECIAL_FLOATS[value]
    if value == "<<":
        return _MERGE, "<<"
    first = value[0]
    if first == ".":
        if _GO_FLOAT.match(value):
            return _FLOAT, float(value)
    elif first in "+-0123456789":
        # Timestamps stay strings: go-yaml v2 keeps them as text when decoding into interface{}.
        plain = value.replace("_", "")
        if plain:
            number = _go_int(plain)
            if number is not None:
                return _INT, number
            if _YAML_STYLE_FLOAT.match(plain):
                return _FLOAT, float(plain)
            if plain.startswith("-0b") and plain[3:] and set(plain[3:]) <= {"0", "1"}:
                return _INT, -int(plain[3:], 2)
    return _STR, value


class _Resolver(yaml.resolver.BaseResolver):
    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0]:
            return _go_scalar(value)[0]
        return str(super().resolve(kind, value, implicit))


class _Constructor(yaml.constructor.SafeConstructor):
    yaml_constructors: dict[Any, Any] = {}  # only the JSON-compatible tags below

    def construct_go_scalar(self, node: Node) -> Any:
        text = str(self.construct_scalar(node))  # type: ignore[arg-type]
        tag, value = _go_scalar(text) if text else (_NULL, None)
        if node.tag == _STR or node.tag == _TIMESTAMP:
            return text
        if node.tag == _FLOAT and tag == _INT:
            return float(value)  # "!!float 1", as go-yaml converts it
        if tag != node.tag:
            raise _at(msg("manifest.error.tag_mismatch", tag=_short(node.tag), value=text[:40]), node)
        if isinstance(value, float) and not math.isfinite(value):
            raise _at(msg("manifest.error.not_json_number", value=text[:40]), node)
        return value

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, MappingNode):
            raise _at(msg("manifest.error.expected_mapping"), node)
        seen: dict[str, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._key(key_node)
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise _at(msg("manifest.error.duplicate_key", key=key, first_line=first), key_node)
            seen[key] = key_node
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            mapping[self._key(key_node)] = self.construct_object(value_node, deep=deep)
        return mapping

    def _key(self, key_node: Node) -> str:
        if not isinstance(key_node, ScalarNode):
            raise _at(msg("manifest.error.complex_key"), key_node)
        key = self.construct_object(key_node)
        if isinstance(key, str):
            return key
        if isinstance(key, bool):  # sigs.k8s.io/yaml turns bool and int keys into strings
            return "true" if key else "false"
        if isinstance(key, int):
            return str(key)
        raise _at(msg("manifest.error.key_type", key=str(key_node.value)[:40]), key_node)

    def construct_undefined(self, node: Node) -> Any:
        raise _at(msg("manifest.error.tag", tag=_short(str(node.tag))[:60]), node)


for _tag in (_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP):
    _Constructor.add_constructor(_tag, _Constructor.construct_go_scalar)
_Constructor.add_constructor(_SEQ, yaml.constructor.SafeConstructor.construct_yaml_seq)
_Constructor.add_constructor(_MAP, yaml.constructor.SafeConstructor.construct_yaml_map)
_Constructor.add_constructor(None, _Constructor.construct_undefined)


def _short(tag: str) -> str:
    return "!!" + tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else tag


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _Constructor,
    _Resolver,
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

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(yaml.events.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _at(msg("manifest.error.too_many_aliases", limit=MAX_ALIASES), self._event_node())
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _at(msg("manifest.error.too_deep", limit=MAX_DEPTH), self._event_node())
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1

    def _event_node(self) -> Node:
        event = self.peek_event()
        return ScalarNode(_STR, "", event.start_mark, event.end_mark)


# --- expansion budget ------------------------------------------------------------------------


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: Node) -> None:
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
                raise _at(msg("manifest.error.expands_too_much", limit=MAX_EXPANDED // (1024 * 1024)), node)
            if depth > MAX_DEPTH:
                raise _at(msg("manifest.error.too_deep", limit=MAX_DEPTH), node)
            measured[key] = (weight, depth)
            continue
        if key in measured:
            continue
        if key in on_path:
            raise _at(msg("manifest.error.recursive_alias"), node)
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                raise _at(msg("manifest.error.recursive_alias"), kid)
            if id(kid) not in measured:
                stack.append((kid, False))


# --- loading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    index: int
    line: int
    obj: Any
    body: str | None  # the original JSON text; None for YAML (serialized later)
    source: str
    root: Node | None


def load_manifests(text: str, *, locale: str | None = None) -> list[Manifest]:
    """Parse and check pasted manifests; raise ``ManifestError`` naming the document and line."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as err:
        raise _error(_Fail(msg("manifest.error.encoding")), None, locale) from err
    if size > MAX_BYTES:
        raise _error(_Fail(msg("manifest.error.too_large", size=size // 1024, limit=MAX_BYTES // 1024)), None, locale)
    if not text.strip():
        raise _error(_Fail(msg("manifest.error.empty")), None, locale)
    raws = _json_documents(text, locale) if text.lstrip()[:1] in ("{", "[") else None
    if raws is None:
        raws = _yaml_documents(text, locale)
    if not raws:
        raise _error(_Fail(msg("manifest.error.empty")), None, locale)
    if len(raws) > MAX_DOCUMENTS:
        raise _error(_Fail(msg("manifest.error.too_many_documents", limit=MAX_DOCUMENTS)), None, locale)
    manifests = []
    for raw in raws:
        try:
            manifests.append(_check(raw))
        except _Fail as fail:
            if fail.line is None:
                fail.line, fail.column = raw.line, 1
            raise _error(fail, raw.index, locale) from None
    return manifests


def _yaml_documents(text: str, locale: str | None) -> list[_Raw]:
    loader = _Loader(text)
    documents: list[_Raw] = []
    index = 0  # the document being read, counting empty ones as the user does
    try:
        while True:
            loader.aliases = 0
            index += 1
            if not loader.check_node():
                break
            node = loader.get_node()
            if node is None or (isinstance(node, ScalarNode) and node.tag == _NULL):
                continue  # an empty document ("---" followed by nothing, or only comments)
            _check_expansion(node)
            obj = loader.construct_document(node)
            source = text[node.start_mark.index : node.end_mark.index]
            documents.append(_Raw(index, node.start_mark.line + 1, obj, None, source, node))
            if len(documents) > MAX_DOCUMENTS:
                break
    except _Fail as fail:
        raise _error(fail, index, locale) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = str(err.problem or err.context or "")
        located = _Fail(
            msg("manifest.error.yaml_syntax", problem=problem),
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        )
        raise _error(located, index, locale) from None
    except yaml.YAMLError as err:  # ReaderError: a character YAML does not allow
        raise _error(_reader_fail(text, err), None, locale) from None
    finally:
        loader.dispose()
    return documents


def _reader_fail(text: str, err: yaml.YAMLError) -> _Fail:
    if isinstance(err, yaml.reader.ReaderError) and isinstance(err.character, int):
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        return _Fail(msg("manifest.error.character", code=f"U+{err.character:04X}"), line, column)
    return _Fail(msg("manifest.error.yaml_syntax", problem=type(err).__name__))


class _DuplicateJsonKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateJsonKey(key)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(name)


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
_WS = re.compile(r"[ \t\r\n]*")


def _json_documents(text: str, locale: str | None) -> list[_Raw] | None:
    """A JSON document or a stream of them (as kubectl accepts); None: not JSON, try YAML."""
    documents: list[_Raw] = []
    pos = _skip_ws(text, 0)
    while pos < len(text):
        index = len(documents) + 1
        line = text.count("\n", 0, pos) + 1
        try:
            obj, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            if not documents and _yaml_parses(text):
                return None  # a YAML flow mapping such as "{a: b}"
            raise _error(_Fail(msg("manifest.error.json_syntax", problem=err.msg), err.lineno, err.colno), index, locale) from None
        except _DuplicateJsonKey as dup:
            _, end = json.JSONDecoder().raw_decode(text, pos)
            raise _error(_locate_duplicate(text[pos:end], dup.key, line), index, locale) from None
        except ValueError as err:  # NaN / Infinity
            raise _error(_Fail(msg("manifest.error.not_json_number", value=str(err)), line), index, locale) from None
        except RecursionError:
            raise _error(_Fail(msg("manifest.error.too_deep", limit=MAX_DEPTH), line), index, locale) from None
        source = text[pos:end]
        documents.append(_Raw(index, line, obj, source, source, None))
        if len(documents) > MAX_DOCUMENTS:
            break
        pos = _skip_ws(text, end)
    return documents


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _yaml_parses(text: str) -> bool:
    loader = _Loader(text)
    try:
        while loader.check_node():
            loader.get_node()
    except (yaml.YAMLError, _Fail):
        return False
    finally:
        loader.dispose()
    return True


def _locate_duplicate(document: str, key: str, first_line: int) -> _Fail:
    """Find the duplicate's line by reading the JSON document as YAML (JSON is a YAML subset)."""
    loader = _Loader(document)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node)
            loader.construct_document(node)
    except _Fail as fail:
        if fail.message.key == "manifest.error.duplicate_key" and fail.line is not None:
            return _Fail(fail.message, fail.line + first_line - 1, fail.column)
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return _Fail(msg("manifest.error.duplicate_key_json", key=key), first_line)


# --- per-document checks ---------------------------------------------------------------------


def _node_at(root: Node | None, *path: str) -> Node | None:
    """The YAML node holding the value at ``path`` (for line numbers); None if unknown."""
    node = root
    for step in path:
        if not isinstance(node, MappingNode):
            return None
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == step:
                node = value_node
                break
        else:
            return None
    return node


def _type_name(value: Any) -> Msg:
    if isinstance(value, list):
        return msg("manifest.type.list")
    if isinstance(value, bool):
        return msg("manifest.type.bool")
    if isinstance(value, int | float):
        return msg("manifest.type.number")
    if value is None:
        return msg("manifest.type.null")
    if isinstance(value, str):
        return msg("manifest.type.string")
    return msg("manifest.type.mapping")


def _string_field(raw: _Raw, obj: dict[str, Any], *path: str) -> str | None:
    value = obj.get(path[-1])
    if value is None:
        return None
    if not isinstance(value, str):
        raise _at(msg("manifest.error.not_string", field=".".join(path), type=_type_name(value)), _node_at(raw.root, *path))
    return value


def _check(raw: _Raw) -> Manifest:
    obj = raw.obj
    if not isinstance(obj, dict):
        raise _at(msg("manifest.error.not_mapping", type=_type_name(obj)), raw.root)
    api_version = _string_field(raw, obj, "apiVersion")
    kind = _string_field(raw, obj, "kind")
    if not api_version:
        raise _at(msg("manifest.error.missing_field", field="apiVersion"), raw.root)
    if not kind:
        raise _at(msg("manifest.error.missing_field", field="kind"), raw.root)
    if kind not in ("Pod", "Secret"):
        raise _at(msg("manifest.error.kind", kind=kind, api_version=api_version, supported=SUPPORTED), _node_at(raw.root, "kind"))
    if api_version != "v1":
        raise _at(msg("manifest.error.api_version", kind=kind, api_version=api_version), _node_at(raw.root, "apiVersion"))
    secret_type = None
    if kind == "Secret":
        secret_type = _string_field(raw, obj, "type")
        if secret_type != DOCKER_CONFIG_JSON:
            raise _at(
                msg("manifest.error.secret_type", type=secret_type or "Opaque", expected=DOCKER_CONFIG_JSON),
                _node_at(raw.root, "type") or raw.root,
            )
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        node = _node_at(raw.root, "metadata") or raw.root
        if metadata is None:
            raise _at(msg("manifest.error.missing_field", field="metadata.name"), node)
        raise _at(msg("manifest.error.not_mapping_field", field="metadata", type=_type_name(metadata)), node)
    name = _string_field(raw, metadata, "metadata", "name")
    generate_name = _string_field(raw, metadata, "metadata", "generateName")
    namespace = _string_field(raw, metadata, "metadata", "namespace")
    if not name and not generate_name:
        raise _at(msg("manifest.error.missing_field", field="metadata.name"), _node_at(raw.root, "metadata"))
    _check_name(raw, "name", name, names.subdomain_errors)
    _check_name(raw, "namespace", namespace, names.label_errors)
    return Manifest(
        index=raw.index,
        line=raw.line,
        api_version=api_version,
        kind=kind,
        name=name or None,
        generate_name=generate_name or None,
        namespace=namespace or None,
        secret_type=secret_type,
        obj=obj,
        body=raw.body if raw.body is not None else _to_json(obj),
        source=raw.source,
    )


def _check_name(raw: _Raw, field_name: str, value: str | None, rule: Any) -> None:
    if value is None:
        return
    errors: list[Msg] = rule(value)
    if errors:
        node = _node_at(raw.root, "metadata", field_name)
        raise _at(msg("manifest.error.invalid_name", field="metadata." + field_name, value=value[:80], reason=errors[0]), node)


def _go_json(value: Any) -> Any:
    """Floats as Go's encoding/json writes them: integral values without a fraction."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_json(v) for v in value]
    return value


def _to_json(obj: dict[str, Any]) -> str:
    return json.dumps(_go_json(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
