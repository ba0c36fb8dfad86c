"""OpenAPI v3 documents (``/openapi/v3`` and ``/openapi/v3/<group-version>``) for kubectl.

What kubectl 1.32 needs them for (measured with ``kubectl -v=8``):

- ``create -f`` / ``apply -f`` with the default ``--validate=strict``: kubectl looks in the
  group-version document for a PATCH operation of the object's GVK that takes the
  ``fieldValidation`` query parameter; if found it leaves validation to the server (our strict
  decoder). Without ``/openapi/v3`` it falls back to ``/openapi/v2`` (protobuf only) and fails with
  "failed to download openapi".
- ``apply`` computes strategic merge patches from the schemas' ``x-kubernetes-patch-merge-key`` /
  ``x-kubernetes-patch-strategy`` (we advertise exactly ``patch.MERGE_KEYS``, which the server
  applies), and ``explain`` prints the schemas.

Schemas are generated from the official client's models (``schema.model_fields``), with real
definition names (``io.k8s.api.core.v1.Pod``) so ``kubectl explain`` reads naturally.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from podbot.sim.objects.patch import MERGE_KEYS
from podbot.sim.objects.resources import ResourceRegistry, ResourceType
from podbot.sim.objects.schema import (
    go_struct_name,
    model_description,
    model_exists,
    model_fields,
    split_generic,
)

JSON = dict[str, Any]

_META_MODELS = {
    "V1ObjectMeta",
    "V1ListMeta",
    "V1LabelSelector",
    "V1LabelSelectorRequirement",
    "V1OwnerReference",
    "V1ManagedFieldsEntry",
    "V1Status",
    "V1StatusDetails",
    "V1StatusCause",
    "V1DeleteOptions",
    "V1Preconditions",
    "V1Condition",
}
_PACKAGES = {
    "": "io.k8s.api.core.v1",
    "apps": "io.k8s.api.apps.v1",
    "coordination.k8s.io": "io.k8s.api.coordination.v1",
    "authorization.k8s.io": "io.k8s.api.authorization.v1",
    "authentication.k8s.io": "io.k8s.api.authentication.v1",
    "rbac.authorization.k8s.io": "io.k8s.api.rbac.v1",
}
META_PACKAGE = "io.k8s.apimachinery.pkg.apis.meta.v1"


def _bare(model: str) -> str:
    return go_struct_name(model)


class OpenAPI:
    """Builds and caches one document per group-version."""

    def __init__(self, registry: ResourceRegistry) -> None:
        self.registry = registry
        self._names: dict[str, str] = {}
        self._docs: dict[str, bytes] = {}
        for rt in registry.all:  # core kinds first: their nested types live in core/v1
            self._claim(rt.model, _PACKAGES.get(rt.group, "io.k8s.api." + rt.group.split(".")[0] + ".v1"))

    def _claim(self, model: str, package: str) -> None:
        stack = [model]
        while stack:
            current = stack.pop()
            if current in self._names or not model_exists(current):
                continue
            self._names[current] = f"{META_PACKAGE if current in _META_MODELS else package}.{_bare(current)}"
            for info in model_fields(current).values():
                _, inner = split_generic(info.type)
                for candidate in (info.type, inner):
                    if candidate and model_exists(candidate):
                        stack.append(candidate)

    def name_of(self, model: str) -> str:
        return self._names.get(model) or f"io.k8s.api.core.v1.{_bare(model)}"

    # --- documents -----------------------------------------------------------------------------
    def group_versions(self) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        for rt in self.registry.all:
            if (rt.group, rt.version) not in seen:
                seen.append((rt.group, rt.version))
        return seen

    @staticmethod
    def gv_path(group: str, version: str) -> str:
        return f"api/{version}" if not group else f"apis/{group}/{version}"

    def root(self) -> JSON:
        paths = {}
        for group, version in self.group_versions():
            path = self.gv_path(group, version)
            digest = hashlib.sha512(self.document(group, version)).hexdigest()[:128].upper()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
        return {"paths": paths}

    def document(self, group: str, version: str) -> bytes:
        key = self.gv_path(group, version)
        cached = self._docs.get(key)
        if cached is None:
            cached = json.dumps(self._build(group, version), separators=(",", ":")).encode()
            self._docs[key] = cached
        return cached

    def _build(self, group: str, version: str) -> JSON:
        schemas: JSON = {}
        paths: JSON = {}
        for rt in self.registry.in_group_version(group, version):
            self._schema_closure(rt.model, schemas)
            top = schemas[self.name_of(rt.model)]
            top["x-kubernetes-group-version-kind"] = [
                {"group": rt.group, "kind": rt.kind, "version": rt.version}
            ]
            paths.update(self._paths(rt))
        for extra in ("V1DeleteOptions", "V1Status"):
            self._schema_closure(extra, schemas)
        schemas[f"{META_PACKAGE}.Patch"] = {
            "type": "object",
            "description": (
                "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."
            ),
        }
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}
                },
            },
        }

    def _ref(self, model: str) -> JSON:
        return {"$ref": f"#/components/schemas/{self.name_of(model)}"}

    def _type_schema(self, type_str: str, description: str) -> JSON:
        kind, inner = split_generic(type_str)
        schema: JSON
        if kind == "list" and inner is not None:
            schema = {"type": "array", "items": self._type_schema(inner, "")}
        elif kind == "dict" and inner is not None:
            schema = {"type": "object", "additionalProperties": self._type_schema(inner, "")}
        elif type_str in ("str", "bytes"):
            schema = {"type": "string"} if type_str == "str" else {"type": "string", "format": "byte"}
        elif type_str == "int":
            schema = {"type": "integer", "format": "int32"}
        elif type_str == "float":
            schema = {"type": "number", "format": "double"}
        elif type_str == "bool":
            schema = {"type": "boolean"}
        elif type_str == "datetime":
            schema = {"type": "string", "format": "date-time"}
        elif model_exists(type_str):
            schema = {"allOf": [self._ref(type_str)]} if description else self._ref(type_str)
        else:
            schema = {"x-kubernetes-preserve-unknown-fields": True}
        if description:
            schema = {**schema, "description": description}
        return schema

    def _schema_closure(self, model: str, out: JSON) -> None:
        stack = [model]
        while stack:
            current = stack.pop()
            name = self.name_of(current)
            if name in out or not model_exists(current):
                continue
            properties: JSON = {}
            required: list[str] = []
            for field, info in model_fields(current).items():
                prop = self._type_schema(info.type, info.description)
                strategy, merge_key = MERGE_KEYS.get((current, field), ("", ""))
                if strategy:
                    prop["x-kubernetes-patch-strategy"] = strategy
                if merge_key:
                    prop["x-kubernetes-patch-merge-key"] = merge_key
                if split_generic(info.type)[0] == "list" and not strategy:
                    prop["x-kubernetes-list-type"] = "atomic"
                properties[field] = prop
                if info.required:
                    required.append(field)
                _, inner = split_generic(info.type)
                for candidate in (info.type, inner):
                    if candidate and model_exists(candidate):
                        stack.append(candidate)
            schema: JSON = {"type": "object", "properties": properties}
            description = model_description(current)
            if description:
                schema["description"] = description
            if required:
                schema["required"] = sorted(required)
            out[name] = schema

    def _paths(self, rt: ResourceType) -> JSON:
        prefix = f"/api/{rt.version}" if not rt.group else f"/apis/{rt.group}/{rt.version}"
        scope = "/namespaces/{namespace}" if rt.namespaced else ""
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        ref = {"content": {"application/json": {"schema": self._ref(rt.model)}}}
        ok = {"200": {"description": "OK", **ref}}
        write_params = [
            _query("dryRun"),
            _query("fieldManager"),
            _query("fieldValidation"),
        ]

        def op(
            action: str, op_id: str, params: list[JSON], responses: JSON, body: JSON | None = None
        ) -> JSON:
            result: JSON = {
                "tags": [rt.group or "core_v1"],
                "operationId": op_id,
                "parameters": params,
                "responses": responses,
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
            }
            if body is not None:
                result["requestBody"] = body
            return result

        collection: JSON = {}
        item: JSON = {}
        body = {"content": {"*/*": {"schema": self._ref(rt.model)}}, "required": True}
        kind = rt.kind
        if "create" in rt.verbs:
            collection["post"] = op(
                "post", f"create{kind}", write_params, {**ok, "201": {"description": "Created", **ref}}, body
            )
        if "list" in rt.verbs:
            collection["get"] = op(
                "list",
                f"list{kind}",
                [
                    _query(p)
                    for p in (
                        "labelSelector",
                        "fieldSelector",
                        "limit",
                        "continue",
                        "resourceVersion",
                        "watch",
                    )
                ],
                {"200": {"description": "OK"}},
            )
        if "deletecollection" in rt.verbs:
            collection["delete"] = op(
                "deletecollection",
                f"deletecollection{kind}",
                [_query("dryRun")],
                {"200": {"description": "OK"}},
            )
        if "get" in rt.verbs:
            item["get"] = op("get", f"read{kind}", [], ok)
        if "update" in rt.verbs:
            item["put"] = op("put", f"replace{kind}", write_params, ok, body)
        if "patch" in rt.verbs:
            patch_body = {
                "content": {
                    media: {"schema": {"$ref": f"#/components/schemas/{META_PACKAGE}.Patch"}}
                    for media in (
                        "application/apply-patch+yaml",
                        "application/json-patch+json",
                        "application/merge-patch+json",
                        "application/strategic-merge-patch+json",
                    )
                },
                "required": True,
            }
            item["patch"] = op("patch", f"patch{kind}", [*write_params, _query("force")], ok, patch_body)
        if "delete" in rt.verbs:
            item["delete"] = op(
                "delete", f"delete{kind}", [_query("dryRun"), _query("gracePeriodSeconds")], ok
            )
        name_param = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
        ns_param = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
        paths: JSON = {}
        base = f"{prefix}{scope}/{rt.plural}"
        if collection:
            paths[base] = {**collection, "parameters": [ns_param] if rt.namespaced else []}
        if item:
            paths[f"{base}/{{name}}"] = {
                **item,
                "parameters": ([ns_param] if rt.namespaced else []) + [name_param],
            }
        return paths


def _query(name: str) -> JSON:
    return {"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
