"""A strict JSON checker that reports errors the way Slack's validator does.

The vocabulary (``Str``, ``Int``, ``Bool``, ``Text``, ``Arr``, ``Obj``, ``Union``) describes a
JSON schema whose objects forbid unknown keys (``additionalProperties: false``). The messages
are those of Slack's open-source hack-json-schema library, with which Slack checks Block Kit:
``invalid additional property: X``, ``missing required field: X``, ``must provide a string``,
``must be less than N characters``, ``no more than N items allowed``, ``unsupported type: X``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class BlockError:
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} [json-pointer:{self.pointer}]"


def error_body(code: str, errors: Sequence[BlockError]) -> JsonDict:
    """Slack's response for a schema failure: ``errors`` plus ``response_metadata.messages``."""
    texts = [str(e) for e in errors]
    return {
        "ok": False,
        "error": code,
        "errors": texts,
        "response_metadata": {"messages": [f"[ERROR] {t}" for t in texts]},
    }


@dataclass(frozen=True)
class Str:
    max: int | None = None
    min: int = 0
    enum: tuple[str, ...] = ()
    pattern: str = ""


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class Int:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Text:
    """A text composition object (``plain_text`` and/or ``mrkdwn``) whose ``text`` has a limit."""

    max: int
    kinds: tuple[str, ...] = ("plain_text", "mrkdwn")


@dataclass(frozen=True)
class Arr:
    item: Spec
    max: int | None = None
    min: int = 0


Check = Callable[["Walker", Mapping[str, Any], str], None]


@dataclass(frozen=True)
class Obj:
    """An object with exactly these keys allowed (Slack: ``additionalProperties: false``)."""

    fields: Mapping[str, Spec]
    required: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()  # at least one of these keys (e.g. image_url or slack_file)
    check: Check | None = None  # a rule across fields (unique action_ids, submit with inputs)


@dataclass(frozen=True)
class Union:
    """Objects told apart by their ``type``, as in every block or element position."""

    types: Mapping[str, Obj]
    not_modelled: frozenset[str] = frozenset()  # real Slack types this model refuses explicitly


Spec = Str | Bool | Int | Text | Arr | Obj | Union


class Walker:
    """Collects every error of one value against one spec (Slack reports them all)."""

    def __init__(self) -> None:
        self.errors: list[BlockError] = []

    def err(self, pointer: str, message: str) -> None:
        self.errors.append(BlockError(pointer, message))

    def check(self, value: Any, spec: Spec, pointer: str) -> None:
        if isinstance(spec, Str):
            self.string(value, spec, pointer)
        elif isinstance(spec, Bool):
            if not isinstance(value, bool):
                self.err(pointer, "must be a boolean")
        elif isinstance(spec, Int):
            self.integer(value, spec, pointer)
        elif isinstance(spec, Text):
            self.text(value, spec, pointer)
        elif isinstance(spec, Arr):
            self.array(value, spec, pointer)
        elif isinstance(spec, Obj):
            self.obj(value, spec, pointer)
        else:
            self.union(value, spec, pointer)

    def string(self, value: Any, spec: Str, pointer: str) -> None:
        if not isinstance(value, str):
            self.err(pointer, "must provide a string")
        elif spec.max is not None and len(value) > spec.max:
            self.err(pointer, f"must be less than {spec.max + 1} characters")
        elif len(value) < spec.min:
            self.err(pointer, f"must be more than {spec.min - 1} characters")
        elif spec.enum and value not in spec.enum:
            self.err(pointer, "must be a valid enum value")
        elif spec.pattern and not re.search(spec.pattern, value):
            self.err(pointer, f"input must match regex pattern: {spec.pattern}")

    def integer(self, value: Any, spec: Int, pointer: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.err(pointer, "must provide an integer")
        elif spec.max is not None and value > spec.max:
            self.err(pointer, f"must be less than {spec.max}")  # Slack's wording, sic
        elif spec.min is not None and value < spec.min:
            self.err(pointer, f"must be greater than {spec.min}")

    def array(self, value: Any, spec: Arr, pointer: str) -> None:
        if not isinstance(value, list):
            self.err(pointer, "must provide an array")
            return
        if spec.max is not None and len(value) > spec.max:
            self.err(pointer, f"no more than {spec.max} items allowed")
        elif len(value) < spec.min:
            self.err(pointer, f"must provide at least {spec.min} items")
        for i, item in enumerate(value):
            self.check(item, spec.item, f"{pointer}/{i}")

    def obj(self, value: Any, spec: Obj, pointer: str) -> None:
        if not isinstance(value, Mapping):
            self.err(pointer, "must provide an object")
            return
        for key in spec.required:
            if key not in value:
                self.err(pointer, f"missing required field: {key}")
        if spec.any_of and not any(key in value for key in spec.any_of):
            self.err(pointer, f"missing required field: {spec.any_of[0]}")
        for key, item in value.items():
            item_spec = spec.fields.get(key)
            if item_spec is None:
                self.err(pointer, f"invalid additional property: {key}")
            else:
                self.check(item, item_spec, f"{pointer}/{key}")
        if spec.check is not None:
            spec.check(self, value, pointer)

    def union(self, value: Any, spec: Union, pointer: str) -> None:
        if not isinstance(value, Mapping):
            self.err(pointer, "must provide an object")
            return
        if "type" not in value:
            self.err(pointer, "missing required field: type")
            return
        kind = value["type"]
        if not isinstance(kind, str):
            self.err(pointer + "/type", "must provide a string")
        elif kind in spec.not_modelled:
            self.err(pointer + "/type", f"unsupported type: {kind} (not modelled by podbot.localslack)")
        elif kind not in spec.types:
            self.err(pointer + "/type", f"unsupported type: {kind}")
        else:
            self.obj(value, spec.types[kind], pointer)

    def text(self, value: Any, spec: Text, pointer: str) -> None:
        """A text object; Slack reports its errors after an allOf line for the object itself."""
        inner = Walker()
        if not isinstance(value, Mapping):
            inner.err(pointer, "must provide an object")
        elif "type" not in value:
            inner.err(pointer, "missing required field: type")
        elif not isinstance(value["type"], str):
            inner.err(pointer + "/type", "must provide a string")
        elif value["type"] not in spec.kinds:
            if len(spec.kinds) == 1:  # a single schema: its type is an enum of one
                inner.err(pointer + "/type", "must be a valid enum value")
            else:
                inner.err(pointer + "/type", f"unsupported type: {value['type']}")
        else:
            flag = "emoji" if value["type"] == "plain_text" else "verbatim"
            schema = Obj({"type": Str(), "text": Str(max=spec.max, min=1), flag: Bool()}, required=("text",))
            inner.obj(value, schema, pointer)
        if inner.errors:
            self.err(pointer, "failed to match all allowed schemas")
            self.errors.extend(inner.errors)
