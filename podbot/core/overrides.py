"""``kubectl run --overrides`` with ``--override-type=json|merge|strategic``, applied to a Pod.

* merge: RFC 7386 JSON merge patch (a null deletes a key, lists are replaced);
* json: RFC 6902 JSON patch (add, remove, replace, move, copy, test on JSON pointers);
* strategic: Kubernetes' strategic merge patch for core/v1 Pod: maps merge, lists with a merge key
  (containers by name, env by name, ports by containerPort, ...) merge item by item, other lists
  are replaced; ``$patch: delete|replace`` directives on maps and list items. Less common
  directives (``$retainKeys``, ``$setElementOrder``, ``$deleteFromPrimitiveList``) are refused.

Pure: every failure is ``OverrideError`` with a plain reason, which the caller turns into a message.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from podbot.core.model import OverrideType

JSON = Any


class OverrideError(ValueError):
    """The overrides cannot be applied; ``str()`` says why."""


def merge_patch(target: JSON, patch: JSON) -> JSON:
    """RFC 7386 JSON merge patch (what ``kubectl run --overrides`` applies by default)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902 ------------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise OverrideError(f'"{path}" is not a JSON pointer (it must start with "/")')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(part: str, size: int, *, adding: bool) -> int:
    if part == "-" and adding:
        return size
    if not part.isdigit() or (part != "0" and part.startswith("0")):
        raise OverrideError(f'"{part}" is not an array index')
    index = int(part)
    if index > size or (index == size and not adding):
        raise OverrideError(f"index {index} is out of range")
    return index


def _parent(doc: JSON, path: str) -> tuple[JSON, str]:
    tokens = _pointer(path)
    if not tokens:
        raise OverrideError("the whole document cannot be the target")
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), adding=False)]
        else:
            raise OverrideError(f'the path "{path}" does not exist')
    return node, tokens[-1]


def _get(doc: JSON, path: str) -> JSON:
    node = doc
    for token in _pointer(path):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), adding=False)]
        else:
            raise OverrideError(f'the path "{path}" does not exist')
    return node


def _add(doc: JSON, path: str, value: JSON) -> None:
    parent, last = _parent(doc, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), adding=True), value)
    else:
        raise OverrideError(f'the path "{path}" does not exist')


def _remove(doc: JSON, path: str) -> JSON:
    parent, last = _parent(doc, path)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(last, len(parent), adding=False))
    raise OverrideError(f'the path "{path}" does not exist')


def json_patch(doc: JSON, operations: JSON) -> JSON:
    """RFC 6902: apply ``operations`` (a list) to a copy of ``doc``."""
    if not isinstance(operations, list):
        raise OverrideError("a JSON patch is a list of operations")
    result = copy.deepcopy(doc)
    for number, op in enumerate(operations, 1):
        if (
            not isinstance(op, dict)
            or not isinstance(op.get("op"), str)
            or not isinstance(op.get("path"), str)
        ):
            raise OverrideError(f'operation {number} needs "op" and "path"')
        name, path = op["op"], op["path"]
        if name in ("add", "replace", "test") and "value" not in op:
            raise OverrideError(f'operation {number} ({name}) needs a "value"')
        if name == "add":
            _add(result, path, copy.deepcopy(op["value"]))
        elif name == "remove":
            _remove(result, path)
        elif name == "replace":
            _remove(result, path)
            _add(result, path, copy.deepcopy(op["value"]))
        elif name in ("move", "copy"):
            source = op.get("from")
            if not isinstance(source, str):
                raise OverrideError(f'operation {number} ({name}) needs "from"')
            value = _remove(result, source) if name == "move" else copy.deepcopy(_get(result, source))
            _add(result, path, value)
        elif name == "test":
            if _get(result, path) != op["value"]:
                raise OverrideError(f'operation {number} (test) failed at "{path}"')
        else:
            raise OverrideError(f'operation {number} has an unknown op "{name}"')
    return result


# --- strategic merge patch (core/v1 Pod) ----------------------------------------------------------

# (Go type, field) -> merge key ("" for a list of scalars merged as a set); from the patchStrategy /
# patchMergeKey tags of k8s.io/api/core/v1 and apimachinery's ObjectMeta.
_MERGE_KEYS: dict[tuple[str, str], str] = {
    ("ObjectMeta", "ownerReferences"): "uid",
    ("ObjectMeta", "finalizers"): "",
    ("PodSpec", "volumes"): "name",
    ("PodSpec", "initContainers"): "name",
    ("PodSpec", "containers"): "name",
    ("PodSpec", "ephemeralContainers"): "name",
    ("PodSpec", "imagePullSecrets"): "name",
    ("PodSpec", "hostAliases"): "ip",
    ("PodSpec", "topologySpreadConstraints"): "topologyKey",
    ("PodSpec", "schedulingGates"): "name",
    ("PodSpec", "resourceClaims"): "name",
    ("PodStatus", "conditions"): "type",
    ("PodStatus", "podIPs"): "ip",
    ("PodStatus", "hostIPs"): "ip",
    **{
        (kind, field): key
        for kind in ("Container", "EphemeralContainer")
        for field, key in (
            ("ports", "containerPort"),
            ("env", "name"),
            ("volumeMounts", "mountPath"),
            ("volumeDevices", "devicePath"),
        )
    },
}
_CHILD_TYPES = {
    ("Pod", "metadata"): "ObjectMeta",
    ("Pod", "spec"): "PodSpec",
    ("Pod", "status"): "PodStatus",
    ("PodSpec", "initContainers"): "Container",
    ("PodSpec", "containers"): "Container",
    ("PodSpec", "ephemeralContainers"): "EphemeralContainer",
}
_PATCH = "$patch"


def _check_directives(patch: dict[str, Any]) -> None:
    for key in patch:
        if key.startswith("$") and key != _PATCH:
            raise OverrideError(f'the directive "{key}" is not supported; use --override-type=merge or json')


def strategic_merge(original: JSON, patch: JSON, kind: str = "Pod") -> JSON:
    """A strategic merge patch of ``patch`` onto ``original`` (a Pod, or a part of type ``kind``)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    _check_directives(patch)
    directive = patch.get(_PATCH)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _PATCH}
    if directive is not None:
        raise OverrideError(f'"$patch: {directive}" is not supported on an object here')
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None or (isinstance(value, dict) and value.get(_PATCH) == "delete"):
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = strategic_merge(result.get(key), value, _CHILD_TYPES.get((kind, key), ""))
        elif isinstance(value, list) and (kind, key) in _MERGE_KEYS:
            result[key] = _merge_list(
                result.get(key), value, _MERGE_KEYS[(kind, key)], _CHILD_TYPES.get((kind, key), "")
            )
        else:
            result[key] = _without_directives(value)
    return result


def _without_directives(value: JSON) -> JSON:
    if isinstance(value, dict):
        _check_directives(value)
        return {k: _without_directives(v) for k, v in value.items() if k != _PATCH}
    if isinstance(value, list):
        return [_without_directives(v) for v in value]
    return value


def _merge_list(original: JSON, patch: list[Any], key: str, kind: str) -> list[Any]:
    """apimachinery's mergeSlice: merge item by item, then order the result as it does (the
    patch's items in patch order, the others where they stood relative to them)."""
    items = list(copy.deepcopy(original)) if isinstance(original, list) else []
    if not key:  # a set of scalars
        merged = list(dict.fromkeys(json_key(v) for v in items + patch))
        values = {json_key(v): v for v in items + patch}
        wanted = [json_key(v) for v in patch]
        in_patch = sorted((k for k in merged if k in wanted), key=wanted.index)
        result = _merge_sorted([k for k in merged if k not in wanted], in_patch, [json_key(v) for v in items])
        return [values[k] for k in result]
    if any(isinstance(p, dict) and p.get(_PATCH) == "replace" for p in patch):
        return [_without_directives(p) for p in patch if not (isinstance(p, dict) and p.get(_PATCH))]
    server_order = [item.get(key) if isinstance(item, dict) else None for item in items]
    wanted = []
    for element in patch:
        if not isinstance(element, dict) or key not in element:
            raise OverrideError(f'every item of this list needs its merge key "{key}"')
        position = next(
            (i for i, item in enumerate(items) if isinstance(item, dict) and item.get(key) == element[key]),
            None,
        )
        if element.get(_PATCH) == "delete":
            if position is not None:
                items.pop(position)
            continue
        wanted.append(element[key])
        if position is None:
            items.append(_without_directives(element))
        else:
            items[position] = strategic_merge(items[position], element, kind)
    by_key = {item.get(key): item for item in items if isinstance(item, dict)}
    in_patch = sorted((k for k in by_key if k in wanted), key=wanted.index)
    server_only = [item.get(key) for item in items if isinstance(item, dict) and item.get(key) not in wanted]
    return [by_key[k] for k in _merge_sorted(server_only, in_patch, server_order)]


def json_key(value: JSON) -> str:
    """A hashable identity for a JSON scalar (``1`` and ``"1"`` differ)."""
    return json.dumps(value, sort_keys=True)


def _merge_sorted(left: list[Any], right: list[Any], server_order: list[Any]) -> list[Any]:
    """apimachinery's mergeSortedSlice: insert the server-only ``left`` items into ``right``."""
    merged: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if j < len(right) and i < len(left):
            li = server_order.index(left[i]) if left[i] in server_order else -1
            ri = server_order.index(right[j]) if right[j] in server_order else -1
            take_left = li >= 0 and ri >= 0 and li < ri
        else:
            take_left = i < len(left)
        if take_left:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged


def apply(pod: JSON, overrides: JSON, kind: OverrideType) -> JSON:
    """The Pod with ``overrides`` (parsed JSON) applied the way ``--override-type`` says."""
    if kind is OverrideType.JSON:
        return json_patch(pod, overrides)
    if not isinstance(overrides, dict):
        raise OverrideError("the overrides must be a JSON object")
    if kind is OverrideType.STRATEGIC:
        return strategic_merge(pod, overrides)
    return merge_patch(pod, overrides)
