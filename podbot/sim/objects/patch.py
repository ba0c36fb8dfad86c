"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge patch follows k8s.io/apimachinery/pkg/util/strategicpatch: lists with a
``patchMergeKey`` merge element-wise by that key, ``merge`` lists of scalars are unions, other
lists are replaced; directives ``$patch`` (replace/delete/merge), ``$retainKeys``,
``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>`` are honoured, as
``kubectl apply``/``edit``/``label`` send them. The merge keys come from ``MERGE_KEYS`` (copied
from the ``patchStrategy``/``patchMergeKey`` struct tags of the real types); the OpenAPI document
served to kubectl advertises the same keys, so client and server agree.
"""

from __future__ import annotations

import copy
from typing import Any

from podbot.sim.objects.schema import model_exists, model_fields, split_generic

JSON = dict[str, Any]


class PatchError(ValueError):
    """The patch cannot be applied; ``code`` is the HTTP status the API server uses."""

    def __init__(self, message: str, code: int = 422) -> None:
        super().__init__(message)
        self.code = code


# (client model, JSON field) -> (patch strategy, merge key or "")
MERGE_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    ("V1ObjectMeta", "finalizers"): ("merge", ""),
    ("V1ObjectMeta", "ownerReferences"): ("merge", "uid"),
    ("V1PodSpec", "containers"): ("merge", "name"),
    ("V1PodSpec", "initContainers"): ("merge", "name"),
    ("V1PodSpec", "ephemeralContainers"): ("merge", "name"),
    ("V1PodSpec", "volumes"): ("merge,retainKeys", "name"),
    ("V1PodSpec", "imagePullSecrets"): ("merge", "name"),
    ("V1PodSpec", "hostAliases"): ("merge", "ip"),
    ("V1PodSpec", "topologySpreadConstraints"): ("merge", "topologyKey"),
    ("V1PodSpec", "resourceClaims"): ("merge,retainKeys", "name"),
    ("V1PodSpec", "schedulingGates"): ("merge", "name"),
    ("V1Container", "ports"): ("merge", "containerPort"),
    ("V1Container", "env"): ("merge", "name"),
    ("V1Container", "volumeMounts"): ("merge", "mountPath"),
    ("V1Container", "volumeDevices"): ("merge", "devicePath"),
    ("V1EphemeralContainer", "env"): ("merge", "name"),
    ("V1EphemeralContainer", "volumeMounts"): ("merge", "mountPath"),
    ("V1PodStatus", "conditions"): ("merge", "type"),
    ("V1PodStatus", "podIPs"): ("merge", "ip"),
    ("V1NodeStatus", "conditions"): ("merge", "type"),
    ("V1NodeStatus", "addresses"): ("merge", "type"),
    ("V1NodeSpec", "taints"): ("merge", "key"),
    ("V1DeploymentSpec", "strategy"): ("retainKeys", ""),
    ("V1DeploymentStatus", "conditions"): ("merge", "type"),
    ("V1ServiceSpec", "ports"): ("merge", "port"),
    ("V1ServiceAccount", "secrets"): ("merge", "name"),
    ("V1NamespaceStatus", "conditions"): ("merge", "type"),
    ("V1PersistentVolumeClaimStatus", "conditions"): ("merge", "type"),
}


# --- JSON merge patch --------------------------------------------------------------------------
def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- JSON patch --------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer must be empty or start with a "/": {path}')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: Any, parts: list[str], op: str, path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    return node


def _get(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    node = _container(doc, parts, op, path)
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        return node[last]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node[int(last)]
    raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')


def _remove(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    node = _container(doc, parts, op, path)
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        return node.pop(last)
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        return node.pop(int(last))
    raise PatchError(f"{op} operation does not apply: doc is missing key: {path}: missing value")


def _add(doc: Any, path: str, value: Any, op: str, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    node = _container(doc, parts, op, path)
    last = parts[-1]
    if isinstance(node, dict):
        if replace and last not in node:
            raise PatchError(f"replace operation does not apply: doc is missing key: {path}: missing value")
        node[last] = value
    elif isinstance(node, list):
        if last == "-" and not replace:
            node.append(value)
        elif last.isdigit() and int(last) <= len(node) - (1 if replace else 0):
            if replace:
                node[int(last)] = value
            else:
                node.insert(int(last), value)
        else:
            raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    else:
        raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 on a deep copy of ``doc``."""
    if not isinstance(operations, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch", 400)
    result = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict):
            raise PatchError("json: cannot unmarshal into Go value of type jsonpatch.Operation", 400)
        op = operation.get("op")
        path = str(operation.get("path", ""))
        if op == "add":
            result = _add(result, path, copy.deepcopy(operation.get("value")), op)
        elif op == "remove":
            _remove(result, path, op)
        elif op == "replace":
            result = _add(result, path, copy.deepcopy(operation.get("value")), op, replace=True)
        elif op == "move":
            value = _remove(result, str(operation.get("from", "")), op)
            result = _add(result, path, value, op)
        elif op == "copy":
            value = copy.deepcopy(_get(result, str(operation.get("from", "")), op))
            result = _add(result, path, value, op)
        elif op == "test":
            if _get(result, path, op) != operation.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {op}")
    return result


# --- strategic merge patch ---------------------------------------------------------------------
_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def _child_model(model: str | None, field: str) -> tuple[str | None, str | None]:
    """(model of the field's value or of its list items, list kind) for a field of ``model``."""
    if model is None or not model_exists(model):
        return None, None
    info = model_fields(model).get(field)
    if info is None:
        return None, None
    kind, inner = split_generic(info.type)
    if kind in ("list", "dict") and inner is not None:
        return (inner if model_exists(inner) else None), kind
    return (info.type if model_exists(info.type) else None), None


def strategic_merge(original: Any, patch: Any, model: str | None) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(original, dict):
        original = {}
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise PatchError(f"Unknown patch type: {directive} in map: {patch}", 400)
    result = dict(original)
    retain = patch.get(_RETAIN)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN):
            continue
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = value if isinstance(value, list) else []
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        child, container = _child_model(model, key)
        strategy, merge_key = MERGE_KEYS.get((model or "", key), ("", ""))
        if isinstance(value, list):
            if "merge" in strategy and isinstance(result.get(key), list):
                result[key] = _merge_list(result[key], value, merge_key, child)
            else:
                result[key] = [
                    strategic_merge({}, v, child) if isinstance(v, dict) else copy.deepcopy(v)
                    for v in value
                    if not (isinstance(v, dict) and v.get(_DIRECTIVE) == "replace" and len(v) == 1)
                ]
        elif isinstance(value, dict):
            inner_model = child if container != "dict" else None
            if container == "dict":
                # Maps of scalars or objects (labels, data, limits) merge key by key.
                merged = strategic_merge(result.get(key), value, None)
            else:
                merged = strategic_merge(result.get(key), value, inner_model)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    for field, order in orders.items():
        strategy, merge_key = MERGE_KEYS.get((model or "", field), ("", ""))
        if isinstance(result.get(field), list):
            result[field] = _apply_order(result[field], order, merge_key)
    return result


def _merge_list(original: list[Any], patch: list[Any], merge_key: str, model: str | None) -> list[Any]:
    if any(isinstance(v, dict) and v.get(_DIRECTIVE) == "replace" for v in patch):
        return [copy.deepcopy(v) for v in patch if not (isinstance(v, dict) and _DIRECTIVE in v)]
    if not merge_key:
        # A merging list of scalars is a set union, keeping the original order first.
        merged = list(original)
        for value in patch:
            if value not in merged:
                merged.append(copy.deepcopy(value))
        return merged
    merged = [copy.deepcopy(v) for v in original]
    for element in patch:
        if not isinstance(element, dict):
            raise PatchError(f"map: {element} does not contain declared merge key: {merge_key}", 400)
        if merge_key not in element:
            raise PatchError(f"map: {element} does not contain declared merge key: {merge_key}", 400)
        key_value = element[merge_key]
        index = next(
            (i for i, o in enumerate(merged) if isinstance(o, dict) and o.get(merge_key) == key_value), None
        )
        if element.get(_DIRECTIVE) == "delete":
            if index is not None:
                merged.pop(index)
            continue
        if index is None:
            merged.append(strategic_merge({}, element, model))
        else:
            merged[index] = strategic_merge(merged[index], element, model)
    return merged


def _apply_order(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    def key_of(item: Any) -> Any:
        return item.get(merge_key) if merge_key and isinstance(item, dict) else item

    wanted = [o.get(merge_key) if merge_key and isinstance(o, dict) else o for o in order]
    ordered = [i for w in wanted for i in items if key_of(i) == w]
    rest = [i for i in items if key_of(i) not in wanted]
    return ordered + rest
