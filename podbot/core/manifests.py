"""Pasted YAML/JSON manifests -> checked documents, safely.

The text comes from a chat message, so it is treated as hostile: a size cap here, and the
nesting, alias and expansion limits and duplicate-key checks of ``podbot.core.kubeyaml``. Only the two
kinds podbot creates are accepted, each refusal naming the document, line and column.

YAML is read the way ``kubectl create -f`` reads it (``podbot.core.kubeyaml``), so ``Manifest.body`` is
the JSON kubectl would send; JSON input is passed through byte for byte.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from podbot.core import kubeyaml, names
from podbot.core.errors import UsageError
from podbot.core.kubeyaml import YamlProblem, at
from podbot.core.messages import Msg, msg

MAX_BYTES = 256 * 1024
MAX_DOCUMENTS = 50

SUPPORTED = "Pod (v1), Secret (v1, type kubernetes.io/dockerconfigjson)"
DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"


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


# --- errors ----------------------------------------------------------------------------------


def _error(fail: YamlProblem, document: int | None, locale: str | None) -> ManifestError:
    problem = fail.message.render(locale)
    if document is not None and fail.line is not None and fail.column is None:
        where = msg("manifest.where.document_line_only", document=document, line=fail.line)
    elif document is not None and fail.line is not None:
        where = msg(
            "manifest.where.document_line", document=document, line=fail.line, column=fail.column or 1
        )
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
        raise _error(YamlProblem(msg("manifest.error.encoding")), None, locale) from err
    if size > MAX_BYTES:
        raise _error(
            YamlProblem(msg("manifest.error.too_large", size=-(-size // 1024), limit=MAX_BYTES // 1024)),
            None,
            locale,
        )
    if not text.strip():
        raise _error(YamlProblem(msg("manifest.error.empty")), None, locale)
    raws = _json_documents(text, locale) if _JSON_START.match(text) else _yaml_documents(text, locale)
    if not raws:
        raise _error(YamlProblem(msg("manifest.error.empty")), None, locale)
    if len(raws) > MAX_DOCUMENTS:
        raise _error(YamlProblem(msg("manifest.error.too_many_documents", limit=MAX_DOCUMENTS)), None, locale)
    manifests = []
    for raw in raws:
        try:
            manifests.append(_check(raw))
        except YamlProblem as fail:
            if fail.line is None:
                fail.line = raw.line  # JSON documents have no node positions: name the start line
            raise _error(fail, raw.index, locale) from None
    return manifests


def _yaml_documents(text: str, locale: str | None) -> list[_Raw]:
    try:
        documents = kubeyaml.documents(text, limit=MAX_DOCUMENTS)
    except YamlProblem as problem:
        raise _error(problem, problem.document, locale) from None
    return [_Raw(d.index, d.line, d.value, None, d.source, d.node) for d in documents]


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
# JSON starts with "[" or with "{" and a quoted key; "{apiVersion: v1, ...}" is a YAML flow mapping.
_JSON_START = re.compile(r'\s*(\[|\{\s*["}])')


def _json_documents(text: str, locale: str | None) -> list[_Raw]:
    """A JSON document or a stream of them, as kubectl accepts."""
    documents: list[_Raw] = []
    pos = _skip_ws(text, 0)
    while pos < len(text):
        index = len(documents) + 1
        line = text.count("\n", 0, pos) + 1
        try:
            obj, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            raise _error(
                YamlProblem(msg("manifest.error.json_syntax", problem=err.msg), err.lineno, err.colno),
                index,
                locale,
            ) from None
        except _DuplicateJsonKey as dup:
            _, end = json.JSONDecoder().raw_decode(text, pos)
            raise _error(_locate_duplicate(text[pos:end], dup.key, line), index, locale) from None
        except ValueError as err:  # NaN / Infinity
            raise _error(
                YamlProblem(msg("manifest.error.not_json_number", value=str(err)), line), index, locale
            ) from None
        except RecursionError:
            raise _error(
                YamlProblem(msg("manifest.error.too_deep", limit=kubeyaml.MAX_DEPTH), line), index, locale
            ) from None
        source = text[pos:end]
        documents.append(_Raw(index, line, obj, source, source, None))
        if len(documents) > MAX_DOCUMENTS:
            break
        pos = _skip_ws(text, end)
    return documents


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _locate_duplicate(document: str, key: str, first_line: int) -> YamlProblem:
    """Find the duplicate's line by reading the JSON document as YAML (JSON is a YAML subset)."""
    try:
        loader = kubeyaml.Loader(document)
    except yaml.YAMLError:
        return YamlProblem(msg("manifest.error.duplicate_key_json", key=key), first_line)
    try:
        node = loader.get_single_node()
        if node is not None:
            kubeyaml.check_expansion(node)
            loader.construct_document(node)
    except YamlProblem as fail:
        if fail.message.key == "manifest.error.duplicate_key" and fail.line is not None:
            return YamlProblem(fail.message, fail.line + first_line - 1, fail.column)
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return YamlProblem(msg("manifest.error.duplicate_key_json", key=key), first_line)


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
        raise at(
            msg("manifest.error.not_string", field=".".join(path), type=_type_name(value)),
            _node_at(raw.root, *path),
        )
    return value


def _check(raw: _Raw) -> Manifest:
    obj = raw.obj
    if not isinstance(obj, dict):
        raise at(msg("manifest.error.not_mapping", type=_type_name(obj)), raw.root)
    api_version = _string_field(raw, obj, "apiVersion")
    kind = _string_field(raw, obj, "kind")
    if not api_version:
        raise at(msg("manifest.error.missing_field", field="apiVersion"), raw.root)
    if not kind:
        raise at(msg("manifest.error.missing_field", field="kind"), raw.root)
    if kind not in ("Pod", "Secret"):
        raise at(
            msg("manifest.error.kind", kind=kind, api_version=api_version, supported=SUPPORTED),
            _node_at(raw.root, "kind"),
        )
    if api_version != "v1":
        raise at(
            msg("manifest.error.api_version", kind=kind, api_version=api_version),
            _node_at(raw.root, "apiVersion"),
        )
    secret_type = None
    if kind == "Secret":
        secret_type = _string_field(raw, obj, "type")
        if secret_type != DOCKER_CONFIG_JSON:
            raise at(
                msg("manifest.error.secret_type", type=secret_type or "Opaque", expected=DOCKER_CONFIG_JSON),
                _node_at(raw.root, "type") or raw.root,
            )
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        node = _node_at(raw.root, "metadata") or raw.root
        if metadata is None:
            raise at(msg("manifest.error.missing_field", field="metadata.name"), node)
        raise at(msg("manifest.error.not_mapping_field", field="metadata", type=_type_name(metadata)), node)
    name = _string_field(raw, metadata, "metadata", "name")
    generate_name = _string_field(raw, metadata, "metadata", "generateName")
    namespace = _string_field(raw, metadata, "metadata", "namespace")
    if not name and not generate_name:
        raise at(msg("manifest.error.missing_field", field="metadata.name"), _node_at(raw.root, "metadata"))
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
        body=raw.body if raw.body is not None else kubeyaml.to_json(obj),
        source=raw.source,
    )


def _check_name(raw: _Raw, field_name: str, value: str | None, rule: Any) -> None:
    if value is None:
        return
    errors: list[Msg] = rule(value)
    if errors:
        node = _node_at(raw.root, "metadata", field_name)
        raise at(
            msg(
                "manifest.error.invalid_name",
                field="metadata." + field_name,
                value=value[:80],
                reason=errors[0],
            ),
            node,
        )
