"""An in-memory fake of the ``podbot.k8s.api.Kube`` port, for unit tests of the action layer.

It answers GET, POST, DELETE and lists of core/v1 objects (and SelfSubjectAccessReviews) from a
dictionary, and fails the way the API server does: the same Status messages, turned into podbot's
errors by the real client's own mapping (``error_from_status``). Paging (``list_all``,
``list_pages``) is the real client's code running on the fake's pages. Every call is recorded.

Deliberately small: no watch, PATCH or PUT; no admission, defaulting or schema beyond the checks
below; pod Tables have three columns (Name, Status, and Node at priority 1), enough for the
action layer's column handling. Whether the real server answers the same way is what the
integration tests against ``podbot.sim`` and the simulator's kubectl tests check.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from podbot.core.errors import NotFound, PodbotError
from podbot.k8s.api import JSON, Identity, Query
from podbot.k8s.client import KubeClient, error_from_status

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
PODBOT = "system:serviceaccount:podbot:podbot"  # who the fake says podbot itself is, in 403s
CREATED_AT = "2026-03-01T12:00:00Z"
KINDS = {
    "pods": "Pod",
    "secrets": "Secret",
    "events": "Event",
    "namespaces": "Namespace",
    "serviceaccounts": "ServiceAccount",
}
FIELDS = {  # the field selectors the API server supports, per resource (and metadata.* for all)
    "pods": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "reason",
        "type",
    ),
    "secrets": ("type",),
    "namespaces": ("status.phase",),
}
TOP_LEVEL = {"apiVersion", "kind", "metadata", "spec", "status", "data", "stringData", "type", "immutable"}
METADATA = {
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "uid",
    "resourceVersion",
    "creationTimestamp",
}
_PATH = re.compile(
    r"^/api/v1(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[a-z]+))?$"
)


@dataclass(frozen=True)
class Call:
    """One request as the fake received it (``body`` decoded, whether sent as JSON or raw text)."""

    method: str
    path: str
    query: tuple[tuple[str, str | int | bool], ...]
    body: Any
    accept: str
    as_user: Identity | None

    def param(self, key: str) -> str | int | bool | None:
        return next((value for name, value in self.query if name == key), None)

    @property
    def dry_run(self) -> bool:
        return self.param("dryRun") == "All"


@dataclass(frozen=True)
class _Target:
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None


class FakeKube:
    """One cluster's API, in memory. Seed it with ``add``; refuse with ``forbid``; break with ``fail``."""

    def __init__(
        self, context: str = "fake", default_namespace: str = "default", *, page_limit: int | None = None
    ) -> None:
        self.context = context
        self.default_namespace = default_namespace
        self.objects: dict[tuple[str, str, str], JSON] = {}  # (plural, namespace, name) -> object
        self.logs: dict[tuple[str, str, str, bool], str] = {}  # (namespace, pod, container, previous)
        self.calls: list[Call] = []
        self._page_limit = page_limit  # a server may return fewer items than asked for
        self._version = 100
        self._forbidden: list[tuple[str, str, str | None, str | None]] = []
        self._failures: list[tuple[str, str, PodbotError]] = []
        for namespace in ("default", "kube-system", default_namespace):
            self._ensure_namespace(namespace)

    # --- arranging the world ----------------------------------------------------------------------
    def add(self, obj: JSON) -> JSON:
        """Store an object as the server would hold it (uid, resourceVersion stamped when missing)."""
        plural = next(p for p, kind in KINDS.items() if kind == obj["kind"])
        meta = obj.setdefault("metadata", {})
        namespace = "" if plural == "namespaces" else meta.setdefault("namespace", self.default_namespace)
        if namespace:
            self._ensure_namespace(namespace)
        stored = self._stamp(copy.deepcopy(obj))
        self.objects[(plural, namespace, meta["name"])] = stored
        return copy.deepcopy(stored)

    def _ensure_namespace(self, name: str) -> None:
        """A namespace, with the "default" ServiceAccount the controller gives every namespace."""
        if ("namespaces", "", name) not in self.objects:
            self.objects[("namespaces", "", name)] = self._stamp(_namespace(name))
            account = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": name},
            }
            self.objects[("serviceaccounts", name, "default")] = self._stamp(account)

    def stored(self, plural: str, name: str, namespace: str | None = None) -> JSON | None:
        namespace = "" if plural == "namespaces" else namespace or self.default_namespace
        found = self.objects.get((plural, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def set_log(
        self, pod: str, container: str, text: str, *, previous: bool = False, namespace: str = ""
    ) -> None:
        self.logs[(namespace or self.default_namespace, pod, container, previous)] = text

    def forbid(
        self, verb: str, plural: str, namespace: str | None = None, *, user: str | None = None
    ) -> None:
        """RBAC says no: ``verb`` ("get", "list", "create", "delete"; "*") on ``plural`` ("pods/log")."""
        self._forbidden.append((verb, plural, namespace, user))

    def fail(self, method: str, path: str, error: PodbotError) -> None:
        """The next ``method`` on ``path`` raises ``error`` (an outage, a timeout) instead of answering."""
        self._failures.append((method, path, error))

    def writes(self) -> list[Call]:
        """The calls that would have changed something, dry runs included."""
        return [c for c in self.calls if c.method != "GET"]

    # --- the port ---------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: JSON | list[Any] | None = None,
        raw_body: str | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        as_user: Identity | None = None,
        timeout: float | None = None,
    ) -> JSON:
        if raw_body is not None:
            try:
                body = json.loads(raw_body)
            except ValueError as exc:
                self._record(method, path, query, raw_body, accept, as_user)
                raise self._status(400, "BadRequest", f"error decoding the body: {exc}") from exc
        self._record(method, path, query, body, accept, as_user)
        self._maybe_fail(method, path)
        if path == "/version":
            return {"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake"}
        if path == REVIEWS and method == "POST":
            return self._review(body, as_user)
        target = self._parse(path)
        params = dict(query)
        if method == "GET" and target.name is None:
            return self._list(target, params, accept, as_user)
        if method == "GET":
            return self._get(target, accept, as_user)
        if method == "POST" and target.name is None:
            return self._create(target, body, params, as_user)
        if method == "DELETE" and target.name is not None:
            return self._delete(target, body or {}, params, as_user)
        raise self._status(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )

    get = KubeClient.get
    list_all = KubeClient.list_all
    list_pages = KubeClient.list_pages

    def text(self, path: str, *, query: Query = (), as_user: Identity | None = None) -> str:
        """Pod logs: the text set with ``set_log``, after ``tailLines`` and ``limitBytes``."""
        self._record("GET", path, query, None, "text/plain, */*", as_user)
        self._maybe_fail("GET", path)
        target = self._parse(path)
        if target.subresource != "log":
            raise self._status(404, "NotFound", "the server could not find the requested resource")
        self._authorize("get", "pods/log", target, as_user)
        pod = self._existing(target)
        params = dict(query)
        spec = pod["spec"]
        names = [c["name"] for c in [*spec.get("initContainers", ()), *spec["containers"]]]
        container = str(params.get("container") or "")
        if not container and len(spec["containers"]) == 1:
            container = spec["containers"][0]["name"]
        elif not container:
            choices = " ".join(c["name"] for c in spec["containers"])
            raise self._status(
                400,
                "BadRequest",
                f"a container name must be specified for pod {target.name}, choose one of: [{choices}]",
            )
        if container not in names:
            raise self._status(400, "BadRequest", f"container {container} is not valid for pod {target.name}")
        if not spec.get("nodeName"):
            return ""  # no kubelet to ask yet: the API server answers with an empty log
        previous = str(params.get("previous", "false")).lower() == "true"
        key = (str(target.namespace), str(target.name), container, previous)
        if key not in self.logs:
            if previous:
                raise self._status(
                    400,
                    "BadRequest",
                    f'previous terminated container "{container}" in pod "{target.name}" not found',
                )
            return ""
        text = self.logs[key]
        if "tailLines" in params:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[len(lines) - int(params["tailLines"]) :]) if int(params["tailLines"]) else ""
        if "limitBytes" in params:
            text = text.encode()[: int(params["limitBytes"])].decode(errors="ignore")
        return text

    def version(self) -> JSON:
        return self.request("GET", "/version")

    # --- the verbs ----------------------------------------------------------------------------------
    def _get(self, target: _Target, accept: str, as_user: Identity | None) -> JSON:
        self._authorize("get", target.plural, target, as_user)
        obj = copy.deepcopy(self._existing(target))
        if _wants_table(accept):
            return self._table(target.plural, [obj], "Object", {})
        return obj

    def _list(self, target: _Target, params: dict[str, Any], accept: str, as_user: Identity | None) -> JSON:
        self._authorize("list", target.plural, target, as_user)
        items = sorted(
            (
                obj
                for (plural, ns, _), obj in self.objects.items()
                if plural == target.plural and (target.namespace is None or ns == target.namespace)
            ),
            key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
        )
        items = [o for o in items if _labels_match(o, params.get("labelSelector", ""))]
        terms = self._field_terms(target.plural, params.get("fieldSelector", ""))
        items = [o for o in items if all((_field(o, f) == v) != negated for f, v, negated in terms)]
        start = int(params.get("continue") or 0)
        limit = int(params.get("limit") or 0) or len(items)
        if self._page_limit:
            limit = min(limit, self._page_limit)
        page = [copy.deepcopy(o) for o in items[start : start + limit]]
        meta: JSON = {"resourceVersion": str(self._version)}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
            meta["remainingItemCount"] = len(items) - start - limit
        if _wants_table(accept):
            return self._table(target.plural, page, str(params.get("includeObject", "Metadata")), meta)
        for item in page:  # items of a list carry no kind
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return {"kind": f"{KINDS[target.plural]}List", "apiVersion": "v1", "metadata": meta, "items": page}

    def _create(self, target: _Target, body: Any, params: dict[str, Any], as_user: Identity | None) -> JSON:
        self._authorize("create", target.plural, target, as_user)
        if not isinstance(body, dict):
            raise self._status(400, "BadRequest", "the body of the request was not a JSON object")
        kind = KINDS.get(target.plural, "")
        sent = body.get("kind")
        if sent != kind:
            raise self._status(
                400,
                "BadRequest",
                f'{sent} in version "v1" cannot be handled as a {kind}: '
                f"converting (v1.{sent}) to (v1.{kind}): unknown conversion",
            )
        if params.get("fieldValidation") == "Strict":
            unknown = sorted(set(body) - TOP_LEVEL) + [
                f"metadata.{k}" for k in sorted(set(body.get("metadata") or {}) - METADATA)
            ]
            if unknown:
                raise self._status(
                    400,
                    "BadRequest",
                    f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: '
                    + ", ".join(f'unknown field "{f}"' for f in unknown),
                )
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        namespace = str(target.namespace)
        if meta.get("namespace", namespace) != namespace:
            raise self._status(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        if ("namespaces", "", namespace) not in self.objects:
            raise self._status(
                404, "NotFound", f'namespaces "{namespace}" not found', name=namespace, kind="namespaces"
            )
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if not meta.get("name"):
            raise self._status(
                422,
                "Invalid",
                f'{kind} "" is invalid: metadata.name: Required value: name or generateName is required',
                causes=[
                    {"reason": "FieldValueRequired", "message": "Required value", "field": "metadata.name"}
                ],
            )
        meta["namespace"] = namespace
        key = (target.plural, namespace, meta["name"])
        if key in self.objects:
            raise self._status(
                409,
                "AlreadyExists",
                f'{target.plural} "{meta["name"]}" already exists',
                name=meta["name"],
                kind=target.plural,
            )
        meta.pop("uid", None)
        meta.pop("resourceVersion", None)
        if kind == "Pod":
            obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        stamped = self._stamp(obj)
        if params.get("dryRun") != "All":
            self.objects[key] = stamped
        return copy.deepcopy(stamped)

    def _delete(
        self, target: _Target, options: JSON, params: dict[str, Any], as_user: Identity | None
    ) -> JSON:
        self._authorize("delete", target.plural, target, as_user)
        obj = self._existing(target)
        meta = obj["metadata"]
        preconditions = options.get("preconditions") or {}
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field)
            if wanted and wanted != meta.get(field):
                raise self._status(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {target.plural} "{target.name}": Precondition failed: '
                    f"{label} in precondition: {wanted}, {label} in object meta: {meta.get(field, '')}",
                    name=str(target.name),
                    kind=target.plural,
                )
        if params.get("dryRun") != "All":
            del self.objects[(target.plural, str(target.namespace or ""), str(target.name))]
        if target.plural == "pods":
            return copy.deepcopy(obj)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": target.name, "kind": target.plural, "uid": meta.get("uid", "")},
        }

    def _review(self, body: Any, as_user: Identity | None) -> JSON:
        """A SelfSubjectAccessReview: may the caller do it? (Everyone may ask.)"""
        attributes = ((body or {}).get("spec") or {}).get("resourceAttributes") or {}
        target = _Target(
            attributes.get("resource", ""), attributes.get("namespace"), attributes.get("name"), None
        )
        try:
            self._authorize(attributes.get("verb", ""), target.plural, target, as_user)
            allowed = True
        except PodbotError:
            allowed = False
        return {
            **copy.deepcopy(body),
            "metadata": {"creationTimestamp": None},
            "status": {"allowed": allowed},
        }

    # --- plumbing ---------------------------------------------------------------------------------
    def _record(
        self, method: str, path: str, query: Query, body: Any, accept: str, as_user: Identity | None
    ) -> None:
        self.calls.append(Call(method, path, tuple(query), copy.deepcopy(body), accept, as_user))

    def _maybe_fail(self, method: str, path: str) -> None:
        for i, (m, p, error) in enumerate(self._failures):
            if m == method and p == path:
                del self._failures[i]
                raise error

    def _parse(self, path: str) -> _Target:
        match = _PATH.match(path)
        if match is None or match["plural"] not in KINDS:
            raise NotFound("the server could not find the requested resource")
        namespace = unquote(match["ns"]) if match["ns"] else None
        if match["plural"] == "namespaces":
            namespace = ""
        name = unquote(match["name"]) if match["name"] else None
        return _Target(match["plural"], namespace, name, match["sub"])

    def _existing(self, target: _Target) -> JSON:
        obj = self.objects.get((target.plural, str(target.namespace or ""), str(target.name)))
        if obj is None:
            raise self._status(
                404,
                "NotFound",
                f'{target.plural} "{target.name}" not found',
                name=str(target.name),
                kind=target.plural,
            )
        return obj

    def _authorize(self, verb: str, resource: str, target: _Target, as_user: Identity | None) -> None:
        user = as_user.user if as_user is not None else PODBOT
        for rule_verb, rule_resource, rule_namespace, rule_user in self._forbidden:
            if rule_verb not in (verb, "*") or rule_resource != resource:
                continue
            if rule_namespace is not None and rule_namespace != target.namespace:
                continue
            if rule_user is not None and rule_user != user:
                continue
            where = f'in the namespace "{target.namespace}"' if target.namespace else "at the cluster scope"
            base = resource.partition("/")[0]
            what = f'{base} "{target.name}"' if target.name and verb != "create" else base
            raise self._status(
                403,
                "Forbidden",
                f'{what} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
                f'in API group "" {where}',
            )

    def _field_terms(self, plural: str, selector: str) -> list[tuple[str, str, bool]]:
        """``(field, value, negated)`` per term; an unsupported field is a 400, as on the server."""
        terms = []
        for term in filter(None, (t.strip() for t in selector.split(","))):
            negated = "!=" in term
            field, _, wanted = term.replace("!=", "=").replace("==", "=").partition("=")
            if field not in ("metadata.name", "metadata.namespace", *FIELDS.get(plural, ())):
                raise self._status(400, "BadRequest", f"field label not supported: {field}")
            terms.append((field, wanted, negated))
        return terms

    def _table(self, plural: str, objects: Iterable[JSON], include: str, meta: JSON) -> JSON:
        if plural != "pods":
            raise self._status(406, "NotAcceptable", "the fake serves Tables of pods only")
        rows = []
        for obj in objects:
            row: JSON = {
                "cells": [
                    obj["metadata"]["name"],
                    (obj.get("status") or {}).get("phase", ""),
                    (obj.get("spec") or {}).get("nodeName"),
                ]
            }
            if include == "Object":
                row["object"] = obj
            elif include == "Metadata":
                row["object"] = {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                }
            rows.append(row)
        return {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "columnDefinitions": [
                {"name": "Name", "type": "string", "format": "name", "priority": 0},
                {"name": "Status", "type": "string", "format": "", "priority": 0},
                {"name": "Node", "type": "string", "format": "", "priority": 1},
            ],
            "rows": rows,
        }

    def _stamp(self, obj: JSON) -> JSON:
        self._version += 1
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta["resourceVersion"] = str(self._version)
        meta.setdefault("creationTimestamp", CREATED_AT)
        return obj

    def _status(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str = "",
        kind: str = "",
        causes: list[JSON] | None = None,
    ) -> PodbotError:
        details: JSON = {k: v for k, v in (("name", name), ("kind", kind)) if v}
        if causes:
            details["causes"] = causes
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details,
            "code": code,
        }
        return error_from_status(code, json.dumps(status).encode(), self.context)


class FakeClusters:
    """``KubeClusters`` over fakes, by context name; an unknown context fails like ``Clusters.get``."""

    def __init__(self, *kubes: FakeKube) -> None:
        self._kubes = {k.context: k for k in kubes or (FakeKube(),)}
        self.default_context = next(iter(self._kubes))

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(self._kubes)

    def get(self, context: str | None = None) -> FakeKube:
        name = context or self.default_context
        if name not in self._kubes:
            raise NotFound(f"no cluster context named {name!r}; known contexts: {', '.join(self._kubes)}")
        return self._kubes[name]

    def __iter__(self) -> Iterator[FakeKube]:
        return iter(self._kubes.values())


def _namespace(name: str) -> JSON:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name},
        "status": {"phase": "Active"},
    }


def _field(obj: JSON, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return str(value)


def _wants_table(accept: str) -> bool:
    return accept.startswith("application/json;as=Table")


def _labels_match(obj: JSON, selector: str) -> bool:
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, wanted = term.split("!=", 1)
            if labels.get(key.strip()) == wanted.strip():
                return False
        elif "=" in term:
            key, wanted = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != wanted.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True
