"""Objects as kubectl prints them with ``-o yaml`` and ``-o json``, to the character.

``-o yaml``: sigs.k8s.io/yaml, i.e. JSON -> go-yaml v2. Map keys in go-yaml's order (its sorter
compares digit runs as numbers and puts non-letters before letters), strings double-quoted when
go-yaml would read them back as something else (``"True"``, ``"80"``, ``"y"``, timestamps), text
with newlines as literal blocks, lines folded at 80 columns (libyaml's emitter, which PyYAML ports).

``-o json``: Go's ``json.MarshalIndent(obj, "", "    ")``: ``<``, ``>``, ``&``, U+2028 and U+2029
escaped. ``kubectl get`` prints unstructured maps, whose keys Go sorts; ``kubectl run`` prints a
typed Pod, whose fields come in Go struct order (``pod_field_order.json``, taken from kubectl
v1.32; fields it does not list, and map keys, are sorted).
"""

from __future__ import annotations

import functools
import json
import re
from datetime import date
from importlib import resources
from typing import Any

import yaml

from podbot.core.kubeyaml import STR_TAG, plain_tag

# --- YAML ----------------------------------------------------------------------------------------

_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?$"
)


def _is_timestamp(text: str) -> bool:
    """go-yaml v2's parseTimestamp: RFC 3339 with short date fields, date-time with a space, a date."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return False
    year, month, day = (int(g) for g in match.groups()[:3])
    clock = [int(g) for g in match.groups()[3:] if g is not None]
    try:
        date(year, month, day)
    except ValueError:
        return False
    return not clock or (clock[0] < 24 and clock[1] < 60 and clock[2] < 60)


def needs_quotes(text: str) -> bool:
    """go-yaml v2 quotes a string that would not read back as that string when written plain."""
    return plain_tag(text) != STR_TAG or _is_timestamp(text) or bool(_BASE60_FLOAT.match(text))


def _go_yaml_less(a: str, b: str) -> bool:
    """go-yaml v2's keyList.Less for two string keys."""
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        a_letter, b_letter = a[i].isalpha(), b[i].isalpha()
        if a_letter and b_letter:
            return a[i] < b[i]
        if a_letter or b_letter:
            return b_letter
        an = bn = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = an * 10 + ord(a[ai]) - 48
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = bn * 10 + ord(b[bi]) - 48
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return a[i] < b[i]
    return len(a) < len(b)


def _compare(a: str, b: str) -> int:
    return -1 if _go_yaml_less(a, b) else (1 if _go_yaml_less(b, a) else 0)


_YAML_KEY = functools.cmp_to_key(_compare)


def _yaml_ordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _yaml_ordered(value[k]) for k in sorted(value, key=lambda k: _YAML_KEY(str(k)))}
    if isinstance(value, list):
        return [_yaml_ordered(v) for v in value]
    return value


class _GoRepresenter(yaml.representer.SafeRepresenter):
    def represent_go_str(self, data: str) -> yaml.ScalarNode:
        style = "|" if "\n" in data else ('"' if needs_quotes(data) else None)
        return self.represent_scalar(STR_TAG, data, style=style)

    def represent_go_float(self, data: float) -> yaml.ScalarNode:
        # strconv.FormatFloat(f, 'g', -1, 64) for the usual values; integral ones have no fraction
        text = str(int(data)) if data.is_integer() and abs(data) < 1e21 else repr(data)
        return self.represent_scalar("tag:yaml.org,2002:float", text)


_GoRepresenter.add_representer(str, _GoRepresenter.represent_go_str)
_GoRepresenter.add_representer(float, _GoRepresenter.represent_go_float)


class _GoResolver(yaml.resolver.BaseResolver):
    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return plain_tag(value)
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]


class _GoDumper(yaml.emitter.Emitter, yaml.serializer.Serializer, _GoRepresenter, _GoResolver):
    def __init__(self, stream: Any, **kwargs: Any) -> None:
        yaml.emitter.Emitter.__init__(self, stream, allow_unicode=True)
        yaml.serializer.Serializer.__init__(self)
        _GoRepresenter.__init__(self, default_flow_style=False, sort_keys=False)
        _GoResolver.__init__(self)


def yaml_text(obj: Any) -> str:
    """``kubectl ... -o yaml`` of ``obj`` (JSON-compatible data)."""
    return str(yaml.dump(_yaml_ordered(obj), Dumper=_GoDumper))


# --- JSON ----------------------------------------------------------------------------------------

_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_HTML = re.compile("[<>&\u2028\u2029]")


@functools.cache
def _pod_fields() -> dict[str, list[tuple[str, str]]]:
    """Go type -> [(JSON field, its Go type or "")] in struct order (kubectl v1.32's core/v1)."""
    raw = json.loads(resources.files("podbot.core").joinpath("pod_field_order.json").read_text("utf-8"))
    return {name: [(f, t) for f, t in fields] for name, fields in raw["types"].items()}


def _go_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


def _struct_ordered(value: Any, type_name: str) -> Any:
    """``value`` with the fields of Go type ``type_name`` in struct order, maps sorted."""
    if isinstance(value, list):
        return [_struct_ordered(v, type_name) for v in value]
    if not isinstance(value, dict):
        return value
    fields = _pod_fields().get(type_name) if type_name else None
    if fields is None:
        return {k: _struct_ordered(value[k], "") for k in sorted(value)}
    ordered = {name: _struct_ordered(value[name], child) for name, child in fields if name in value}
    for key in sorted(k for k in value if k not in ordered):
        ordered[key] = _struct_ordered(value[key], "")
    return ordered


def json_text(obj: Any, *, typed_pod: bool = False) -> str:
    """``kubectl ... -o json`` of ``obj``; ``typed_pod``: a Pod kubectl decoded into its Go type
    (``kubectl run``), whose fields print in struct order instead of sorted."""
    data = _go_numbers(_struct_ordered(obj, "Pod") if typed_pod else obj)
    text = json.dumps(data, indent=4, ensure_ascii=False, sort_keys=not typed_pod)
    return _HTML.sub(lambda m: _HTML_ESCAPES[m.group(0)], text) + "\n"
