"""Object schemas for field validation and OpenAPI, derived from the official client's models.

Why the client models: ``kubernetes.client.models.V1Pod`` & co. are generated from the real
OpenAPI document and carry, per class, ``openapi_types`` (field -> type string such as
``List[V1Container]``) and ``attribute_map`` (field -> JSON name). That is enough to tell known
from unknown fields and JSON types apart, which is what the API server's strict decoder does:

- unknown fields -> ``strict decoding error: unknown field "spec.foo"`` (fieldValidation=Strict
  -> 400; Warn -> ``Warning`` header; Ignore -> dropped silently), duplicate keys likewise;
- JSON type mismatches -> ``json: cannot unmarshal string into Go struct field
  Container.spec.containers.ports of type []v1.ContainerPort`` (always 400, like Go's decoder).

Unknown fields are also *dropped* before storing (the real server never stores them).
Measured: checking a typical pod costs ~60 µs; building all schemas is lazy per model class.
The client models describe Kubernetes 1.37, a superset of what kubectl 1.32 sends.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

# Go's JSON decoder accepts numbers for resource.Quantity fields; the client types them as str.
_QUANTITY_MAPS = frozenset({"limits", "requests", "capacity", "allocatable", "hard", "used", "overhead"})
# int-or-string and other free-form fields are typed "object" by the client.


@dataclass(frozen=True)
class FieldInfo:
    json_name: str
    type: str
    required: bool
    description: str


@dataclass
class DecodeReport:
    """What strict decoding found in one object."""

    unknown: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    type_error: str | None = None

    def strict_messages(self) -> list[str]:
        return [f'unknown field "{p}"' for p in self.unknown] + [
            f'duplicate field "{p}"' for p in self.duplicates
        ]


@functools.cache
def _models() -> Any:
    return importlib.import_module("kubernetes.client.models")


@functools.cache
def model_fields(model: str) -> dict[str, FieldInfo]:
    """JSON field name -> FieldInfo for a client model class (``V1Pod``)."""
    cls = getattr(_models(), model)
    types: dict[str, str] = cls.openapi_types
    names: dict[str, str] = cls.attribute_map
    pyd_fields = getattr(cls, "model_fields", {})
    result: dict[str, FieldInfo] = {}
    for attr, type_str in types.items():
        info = pyd_fields.get(attr)
        required = bool(info is not None and info.is_required())
        description = (info.description or "") if info is not None else ""
        result[names[attr]] = FieldInfo(names[attr], type_str, required, description)
    return result


def model_exists(model: str) -> bool:
    return hasattr(_models(), model)


@functools.cache
def model_description(model: str) -> str:
    doc = getattr(_models(), model).__doc__ or ""
    # The generated docstring starts with the schema's own description.
    return doc.strip().split("\n\n")[0].strip() if "Attributes:" not in doc.split("\n\n")[0] else ""


_GENERIC = re.compile(r"^(List|Dict)\[(.*)\]$")
_VERSION_PREFIX = re.compile(r"^(?:[A-Z][a-z]+)*?V\d+(?:(?:alpha|beta)\d+)?(?=[A-Z])")


def split_generic(type_str: str) -> tuple[str, str | None]:
    """``List[X]`` -> ("list", "X"); ``Dict[str, X]`` -> ("dict", "X"); else (type, None)."""
    m = _GENERIC.match(type_str)
    if m is None:
        return type_str, None
    if m.group(1) == "List":
        return "list", m.group(2)
    return "dict", m.group(2).split(",", 1)[1].strip()


def go_struct_name(model: str) -> str:
    """``V1Container`` -> ``Container``; ``CoreV1Event`` -> ``Event``."""
    return _VERSION_PREFIX.sub("", model)


def go_type(type_str: str) -> str:
    kind, inner = split_generic(type_str)
    if kind == "list" and inner is not None:
        return "[]" + go_type(inner)
    if kind == "dict" and inner is not None:
        return "map[string]" + go_type(inner)
    return {
        "str": "string",
        "int": "int32",
        "bool": "bool",
        "float": "float64",
        "datetime": "v1.Time",
        "object": "interface {}",
        "bytes": "[]uint8",
    }.get(type_str, "v1." + go_struct_name(type_str))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Walker:
    def __init__(self, report: DecodeReport, drop_unknown: bool, dups: dict[int, list[str]]) -> None:
        self.report = report
        self.drop_unknown = drop_unknown
        self.dups = dups

    def note_dups(self, obj: JSON, path: str) -> None:
        for key in self.dups.get(id(obj), ()):
            self.report.duplicates.append(f"{path}.{key}" if path else key)

    def type_error(self, value: Any, struct: str, dotted: str, type_str: str) -> None:
        if self.report.type_error is None:
            target = f"Go struct field {struct}.{dotted}" if struct else "Go value"
            self.report.type_error = (
                f"json: cannot unmarshal {_json_type(value)} into {target} of type {go_type(type_str)}"
            )

    def walk(self, value: Any, type_str: str, path: str, dotted: str, struct: str, key: str) -> None:
        if value is None or type_str == "object":
            return
        kind, inner = split_generic(type_str)
        if kind == "list" and inner is not None:
            if not isinstance(value, list):
                self.type_error(value, struct, dotted, type_str)
                return
            for i, item in enumerate(value):
                self.walk(item, inner, f"{path}[{i}]", dotted, struct, key)
            return
        if kind == "dict" and inner is not None:
            if not isinstance(value, dict):
                self.type_error(value, struct, dotted, type_str)
                return
            self.note_dups(value, path)
            for k, item in value.items():
                if inner == "str" and key in _QUANTITY_MAPS and isinstance(item, int | float):
                    continue
                self.walk(item, inner, f"{path}[{k}]", dotted, struct, key)
            return
        if type_str in ("str", "datetime", "bytes"):
            if not isinstance(value, str):
                self.type_error(value, struct, dotted, type_str)
            return
        if type_str == "int":
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (isinstance(value, float) and not value.is_integer())
            ):
                self.type_error(value, struct, dotted, type_str)
            return
        if type_str == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.type_error(value, struct, dotted, type_str)
            return
        if type_str == "bool":
            if not isinstance(value, bool):
                self.type_error(value, struct, dotted, type_str)
            return
        if not model_exists(type_str):
            return
        if not isinstance(value, dict):
            self.type_error(value, struct, dotted, type_str)
            return
        self.walk_model(value, type_str, path, dotted)

    def walk_model(self, obj: JSON, model: str, path: str, dotted: str) -> None:
        fields = model_fields(model)
        struct = go_struct_name(model)
        self.note_dups(obj, path)
        for name in list(obj):
            info = fields.get(name)
            child_path = f"{path}.{name}" if path else name
            child_dotted = f"{dotted}.{name}" if dotted else name
            if info is None:
                self.report.unknown.append(child_path)
                if self.drop_unknown:
                    del obj[name]
                continue
            self.walk(obj[name], info.type, child_path, child_dotted, struct, name)


def decode_check(
    obj: JSON, model: str, *, drop_unknown: bool = True, dups: dict[int, list[str]] | None = None
) -> DecodeReport:
    """Check ``obj`` against the model like the strict JSON decoder; optionally drop unknown fields.

    ``dups`` maps ``id(dict)`` to the keys that appeared twice in it (see ``loads_tracking_dups``)."""
    report = DecodeReport()
    _Walker(report, drop_unknown, dups or {}).walk_model(obj, model, "", "")
    return report


def loads_tracking_dups(body: bytes) -> tuple[Any, dict[int, list[str]]]:
    """``json.loads`` that remembers duplicate keys per object (Go's strict decoder reports them)."""
    dups: dict[int, list[str]] = {}

    def hook(pairs: list[tuple[str, Any]]) -> JSON:
        obj: JSON = {}
        repeated: list[str] = []
        for key, value in pairs:
            if key in obj and key not in repeated:
                repeated.append(key)
            obj[key] = value
        if repeated:
            dups[id(obj)] = repeated
        return obj

    return json.loads(body, object_pairs_hook=hook), dups
