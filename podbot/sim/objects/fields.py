"""Managed fields (``metadata.managedFields``) and server-side apply, as kube-apiserver's
fieldmanager keeps them (k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager with
structured-merge-diff).

A field set is a set of paths; a path is a tuple of FieldsV1 segments: ``f:<field>``,
``k:{"name":"app"}`` for an element of a list with a merge key, and ``.`` for "the map or list
element itself". Free-form maps (labels, data) and keyed list elements own ``.``; structs do not;
other lists are atomic (one leaf), sets of scalars included (upstream tracks ``v:`` members).

- Every write records who changed which fields: ``Update`` entries per manager (and subresource).
- ``apply`` (application/apply-patch+yaml) checks the applied fields against the other managers:
  a different value in a field someone else owns is a conflict (409) unless ``force``; fields the
  applier applied before and no longer applies are removed when no one else owns them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from podbot.sim.objects.patch import MERGE_KEYS, _child_model, strategic_merge

JSON = dict[str, Any]
Path = tuple[str, ...]
_MISSING = object()

# Fields no manager owns (fieldmanager's stripMeta).
IGNORED: frozenset[Path] = frozenset(
    ("f:metadata", f"f:{name}")
    for name in (
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "resourceVersion",
        "generation",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    )
) | {("f:apiVersion",), ("f:kind",)}


class ApplyConflicts(Exception):
    """Applied fields that other managers own with other values: (manager entry, path) pairs."""

    def __init__(self, conflicts: list[tuple[JSON, Path]]) -> None:
        super().__init__(conflict_message(conflicts))
        self.conflicts = conflicts


# --- field sets -----------------------------------------------------------------------------------
def field_set(obj: JSON, model: str | None, *, with_status: bool = True) -> set[Path]:
    paths: set[Path] = set()
    _walk(obj, model, (), paths, struct=True)
    paths = {p for p in paths if not any(p[: len(i)] == i for i in IGNORED)}
    if not with_status:
        paths = {p for p in paths if p[:1] != ("f:status",)}
    # A struct left with no owned fields (metadata of an object with only a name) drops out.
    return {p for p in paths if p != ("f:metadata",)}


def _walk(value: Any, model: str | None, prefix: Path, out: set[Path], *, struct: bool) -> None:
    if isinstance(value, dict) and value:
        if prefix and not struct:
            out.add((*prefix, "."))
        for key, child in value.items():
            child_model, kind = _child_model(model, key) if struct else (model, None)
            path = (*prefix, f"f:{key}")
            merge_key = MERGE_KEYS.get((model or "", key), ("", ""))[1] if struct else ""
            if isinstance(child, list) and merge_key and all(isinstance(i, dict) for i in child):
                for item in child:
                    element = (*path, _key_segment(merge_key, item))
                    out.add((*element, "."))
                    _walk(item, child_model, element, out, struct=True)
                    out.discard(element)
                if not child:
                    out.add(path)
            elif isinstance(child, dict) and child:
                # A model-typed value is a struct; a dict-typed one (labels, data) is a free-form map.
                nested_struct = struct and kind != "dict" and (child_model is not None or model is None)
                _walk(child, child_model, path, out, struct=nested_struct)
            else:
                out.add(path)
    elif prefix:
        out.add(prefix)


def _key_segment(merge_key: str, item: JSON) -> str:
    return "k:" + json.dumps({merge_key: item.get(merge_key)}, separators=(",", ":"))


def to_fields_v1(paths: Iterable[Path]) -> JSON:
    root: JSON = {}
    for path in sorted(paths):
        node = root
        for segment in path:
            node = node.setdefault(segment, {})
    return root


def from_fields_v1(fields: JSON, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for segment, child in fields.items():
        path = (*prefix, segment)
        if child:
            out |= from_fields_v1(child, path)
        else:
            out.add(path)
    return out


def path_text(path: Path) -> str:
    """A path as conflicts print it: ``.spec.replicas``, ``.spec.containers[name="app"].image``."""
    text = ""
    for segment in path:
        if segment.startswith("f:"):
            text += "." + segment[2:]
        elif segment.startswith("k:"):
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(segment[2:]).items()) + "]"
    return text


def _value_at(obj: Any, path: Path) -> Any:
    node = obj
    for segment in path:
        if segment == ".":
            return node
        if segment.startswith("f:") and isinstance(node, dict):
            node = node.get(segment[2:], _MISSING)
        elif segment.startswith("k:") and isinstance(node, list):
            want = json.loads(segment[2:])
            node = next(
                (i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in want.items())),
                _MISSING,
            )
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _remove_at(obj: Any, path: Path) -> None:
    if path and path[-1] == ".":
        path = path[:-1]
    if not path:
        return
    parent = _value_at(obj, path[:-1])
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        want = json.loads(last[2:])
        parent[:] = [
            i for i in parent if not (isinstance(i, dict) and all(i.get(k) == v for k, v in want.items()))
        ]


# --- managedFields entries -----------------------------------------------------------------------
def entry(
    manager: str, operation: str, api_version: str, now: str, paths: set[Path], subresource: str = ""
) -> JSON:
    out: JSON = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(paths),
    }
    if subresource:
        out["subresource"] = subresource
    return out


def _same_owner(a: JSON, manager: str, operation: str, subresource: str) -> bool:
    return (
        a.get("manager") == manager
        and a.get("operation") == operation
        and a.get("subresource", "") == subresource
    )


def on_create(
    obj: JSON, model: str | None, manager: str, api_version: str, now: str, *, with_status: bool
) -> list[JSON]:
    paths = field_set(obj, model, with_status=with_status)
    return [entry(manager, "Update", api_version, now, paths)] if paths else []


def on_update(
    entries: list[JSON],
    old: JSON,
    new: JSON,
    model: str | None,
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
) -> list[JSON]:
    """The entries after an Update by ``manager``: it owns what it changed; others lose that."""
    before, after = field_set(old, model), field_set(new, model)
    changed = {
        p for p in after if p not in before or (p[-1] != "." and _value_at(old, p) != _value_at(new, p))
    }
    removed = before - after
    result: list[JSON] = []
    mine: JSON | None = None
    for item in entries:
        if _same_owner(item, manager, "Update", subresource):
            mine = item
            continue
        paths = from_fields_v1(item.get("fieldsV1") or {}) - removed - changed
        if paths:
            result.append({**item, "fieldsV1": to_fields_v1(paths)})
    owned = (from_fields_v1(mine.get("fieldsV1") or {}) if mine else set()) - removed
    if mine is not None and not changed and owned == from_fields_v1(mine.get("fieldsV1") or {}):
        result.append(mine)  # nothing new: the entry (and its time) stays as it was
    elif owned | changed:
        result.append(entry(manager, "Update", api_version, now, owned | changed, subresource))
    return result


def apply(
    live: JSON,
    applied: JSON,
    entries: list[JSON],
    model: str | None,
    manager: str,
    api_version: str,
    now: str,
    *,
    force: bool,
) -> tuple[JSON, list[JSON]]:
    """Server-side apply of ``applied`` by ``manager``: (merged object, new managedFields)."""
    wanted = field_set(applied, model, with_status=False)
    conflicts: list[tuple[JSON, Path]] = []
    for item in entries:
        if _same_owner(item, manager, "Apply", ""):
            continue
        for path in sorted(from_fields_v1(item.get("fieldsV1") or {}) & wanted):
            if path[-1] != "." and _value_at(live, path) != _value_at(applied, path):
                conflicts.append((item, path))
    if conflicts and not force:
        raise ApplyConflicts(conflicts)
    taken = {path for _, path in conflicts}
    previous: set[Path] = set()
    others: list[JSON] = []
    for item in entries:
        if _same_owner(item, manager, "Apply", ""):
            previous = from_fields_v1(item.get("fieldsV1") or {})
            continue
        paths = from_fields_v1(item.get("fieldsV1") or {}) - taken
        if paths:
            others.append({**item, "fieldsV1": to_fields_v1(paths)})
    merged = strategic_merge(live, applied, model)
    owned_by_others = set().union(*(from_fields_v1(i["fieldsV1"]) for i in others)) if others else set()
    for path in sorted(previous - wanted, key=len, reverse=True):
        base = path[:-1] if path[-1] == "." else path
        if not any(p[: len(base)] == base for p in owned_by_others | wanted):
            _remove_at(merged, path)
    return merged, [*others, entry(manager, "Apply", api_version, now, wanted)]


def conflict_message(conflicts: list[tuple[JSON, Path]]) -> str:
    """fieldmanager's getConflictMessage."""
    if len(conflicts) == 1:
        owner, path = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {_manager_text(owner)}: {path_text(path)}"
    by_manager: dict[str, list[Path]] = {}
    for owner, path in conflicts:
        by_manager.setdefault(_manager_text(owner), []).append(path)
    lines = []
    for manager in sorted(by_manager):
        lines.append(f"conflicts with {manager}:")
        lines += [f"- {path_text(p)}" for p in by_manager[manager]]
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def _manager_text(owner: JSON) -> str:
    text = json.dumps(owner.get("manager", ""))
    if owner.get("subresource"):
        text += f" with subresource {json.dumps(owner['subresource'])}"
    if owner.get("operation") == "Update":
        text += f" using {owner.get('apiVersion', '')}"
    return text


def conflict_causes(conflicts: list[tuple[JSON, Path]]) -> list[JSON]:
    return [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {_manager_text(o)}",
            "field": path_text(p),
        }
        for o, p in conflicts
    ]
