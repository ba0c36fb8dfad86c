"""What the API server does to objects, independent of HTTP: the registry strategies.

Create (decode, defaulting, admission, validation, dryRun, generateName), update and patch (with
optimistic concurrency and the status subresource), delete (graceful pods, finalizers,
preconditions), namespace lifecycle (Terminating, then its contents and itself are removed) and
the bootstrap objects a fresh kubeadm cluster has. Errors are ``SimApiError`` with the real
``Status`` reasons and messages.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import yaml

from podbot.sim.clock import SimClock
from podbot.sim.objects import admission, fields, protobuf
from podbot.sim.objects import patch as patches
from podbot.sim.objects.apierrors import (
    MODIFIED_CONFLICT,
    ErrorType,
    FieldError,
    status_already_exists,
    status_bad_request,
    status_conflict,
    status_forbidden,
    status_invalid,
    status_not_found,
    status_unsupported_media_type,
)
from podbot.sim.objects.meta import SimApiError, stamp_new
from podbot.sim.objects.resources import ResourceRegistry, ResourceType
from podbot.sim.objects.schema import decode_check, loads_tracking_dups
from podbot.sim.objects.store import AlreadyExistsError, ConflictError, NotFoundError, ObjectStore, Stored
from podbot.sim.objects.validation import object_meta_errors, object_meta_update_errors

log = logging.getLogger(__name__)

JSON = dict[str, Any]

NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's utilrand alphabet
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
# NamespaceLifecycle's immortal namespaces: deleting one is Forbidden.
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
SERVER_MANAGED = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
    "generation",
)
NOT_AN_OBJECT = (
    "json: cannot unmarshal array into Go value of type struct { APIVersion string "
    '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
)
NOT_A_MAP_PATCH = "error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}"
STATUS_RESET_ON_CREATE = frozenset({"pods", "services", "persistentvolumeclaims", "deployments.apps"})


class Rest:
    """The storage layer behind every resource handler."""

    def __init__(self, store: ObjectStore, clock: SimClock, registry: ResourceRegistry) -> None:
        self.store = store
        self.clock = clock
        self.registry = registry
        self._random = random.Random()
        # Set by podbot.sim.objects.controllers: what the controller-manager does when namespaces come and go.
        self.on_namespace_created: Callable[[str], None] | None = None
        self.on_namespace_deleting: Callable[[str], None] | None = None

    # --- bootstrap -----------------------------------------------------------------------------
    def register(self) -> None:
        for rt in self.registry.all:
            if not rt.virtual:
                self.store.register(rt.storage, rt.indexer)

    # --- reads ---------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> Stored:
        try:
            return self.store.get(rt.storage, namespace, name)
        except NotFoundError:
            raise status_not_found(rt.plural, name, rt.group) from None

    # --- decoding ------------------------------------------------------------------------------
    def decode(
        self, rt: ResourceType, body: bytes, content_type: str, field_validation: str
    ) -> tuple[JSON, list[str]]:
        """Body -> object, like the API server's decoder with fieldValidation (Strict/Warn/Ignore).

        Returns the object (unknown fields dropped) and the warnings to send back."""
        media = content_type.split(";", maxsplit=1)[0].strip().lower()
        dups: dict[int, list[str]] = {}
        try:
            if media in ("application/yaml", "application/apply-patch+yaml"):
                obj = yaml.safe_load(body)
            elif media in ("", "application/json", "*/*"):
                obj, dups = loads_tracking_dups(body)
            elif media == protobuf.PROTOBUF:
                obj = protobuf.decode(body, rt.kind)
            else:
                raise status_unsupported_media_type(
                    media, ("application/json", "application/yaml", protobuf.PROTOBUF)
                )
        except (ValueError, yaml.YAMLError) as e:
            summary = body[:30].decode(errors="replace")
            raise status_bad_request(
                f"{unrecognized(rt.kind)}json parse error: {go_json_error(e, body)} ({summary})"
            ) from None
        if not isinstance(obj, dict):
            summary = body[:30].decode(errors="replace")
            raise status_bad_request(f"{unrecognized(rt.kind)}json parse error: {NOT_AN_OBJECT} ({summary})")
        kind = obj.get("kind") or rt.kind
        api_version = obj.get("apiVersion") or rt.api_version
        version = api_version.rsplit("/", 1)[-1]
        if api_version != rt.api_version:
            raise status_bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})"
            )
        if kind != rt.kind:
            raise status_bad_request(
                f'{kind} in version "{version}" cannot be handled as a {rt.kind}: converting '
                f"({version}.{kind}) to ({version}.{rt.kind}): unknown conversion"
            )
        obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
        report = decode_check(obj, rt.model, drop_unknown=True, dups=dups)
        prefix = f'{rt.kind} in version "{version}" cannot be handled as a {rt.kind}: '
        if report.type_error:
            raise status_bad_request(prefix + report.type_error)
        strict = report.strict_messages()
        warnings: list[str] = []
        if strict:
            if field_validation == "Strict":
                raise status_bad_request(prefix + "strict decoding error: " + ", ".join(strict))
            if field_validation == "Warn":
                warnings = strict
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        return obj, warnings

    # --- create --------------------------------------------------------------------------------
    def create(
        self,
        rt: ResourceType,
        namespace: str,
        obj: JSON,
        *,
        dry_run: bool = False,
        manager: str = "",
        applied: JSON | None = None,
    ) -> JSON:
        """Create ``obj``; ``applied`` is the configuration when the create is a server-side apply."""
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise status_bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
            self._check_namespace_open(rt, namespace, meta.get("name") or meta.get("generateName") or "")
        for key in SERVER_MANAGED:
            meta.pop(key, None)
        if rt.storage in STATUS_RESET_ON_CREATE:
            obj.pop("status", None)  # PrepareForCreate: clients cannot create status
        if rt.storage == "pods":
            self._admit_pod(obj, namespace)
        elif rt.hooks.default is not None:
            rt.hooks.default(obj)
        if rt.storage == "services":
            self._allocate_service(obj)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(rt, namespace, meta["generateName"])
        errors: list[FieldError] = object_meta_errors(meta, rt.namespaced, rt.hooks.name_check)
        if rt.hooks.validate is not None:
            errors += rt.hooks.validate(obj)
        if errors:
            raise status_invalid(rt.kind, meta.get("name") or "", errors, rt.group)
        stamp_new(obj, self.clock)
        now = self.clock.timestamp()
        with_status = "status" not in rt.subresources  # reset fields are nobody's (PrepareForCreate)
        if applied is not None:
            paths = fields.field_set(applied, rt.model, with_status=False)
            meta["managedFields"] = [fields.entry(manager, "Apply", rt.api_version, now, paths)]
        elif manager:
            meta["managedFields"] = fields.on_create(
                obj, rt.model, manager, rt.api_version, now, with_status=with_status
            )
        if dry_run:
            if self._exists(rt, namespace, meta["name"]):
                raise status_already_exists(rt.plural, meta["name"], rt.group)
            return obj
        try:
            created = self.store.create(rt.storage, obj)
        except AlreadyExistsError:
            raise status_already_exists(rt.plural, meta["name"], rt.group) from None
        if rt.storage == "namespaces" and self.on_namespace_created is not None:
            self.on_namespace_created(meta["name"])
        return created

    def _exists(self, rt: ResourceType, namespace: str, name: str) -> bool:
        try:
            self.store.get(rt.storage, namespace if rt.namespaced else "", name)
        except NotFoundError:
            return False
        return True

    def _check_namespace_open(self, rt: ResourceType, namespace: str, name: str) -> None:
        try:
            ns = self.store.get("namespaces", "", namespace).load()
        except NotFoundError:
            raise status_not_found("namespaces", namespace) from None
        if ns["metadata"].get("deletionTimestamp"):
            raise status_forbidden(
                rt.plural,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
                rt.group,
                causes=[
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    def _generate_name(self, rt: ResourceType, namespace: str, prefix: str) -> str:
        base = prefix[: 63 - 5] if len(prefix) > 58 else prefix
        for _ in range(8):
            candidate = base + "".join(self._random.choice(NAME_SUFFIX_CHARS) for _ in range(5))
            if not self._exists(rt, namespace, candidate):
                return candidate
        raise SimApiError(
            409,
            "AlreadyExists",
            f'{rt.plural} "{base}" already exists, '
            "the server was not able to generate a unique name for the object",
            {"name": base, "kind": rt.plural, "retryAfterSeconds": 1},
        )

    def _admit_pod(self, pod: JSON, namespace: str) -> None:
        """Defaulting plus the ServiceAccount admission plugin: the pod's SA must exist."""
        spec = pod.setdefault("spec", {})
        name = pod["metadata"].get("name") or pod["metadata"].get("generateName") or ""
        sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        try:
            sa = self.store.get("serviceaccounts", namespace, sa_name).load()
        except NotFoundError:
            why = f'error looking up service account {namespace}/{sa_name}: serviceaccount "{sa_name}" not found'  # noqa: E501
            raise status_forbidden("pods", name, why) from None
        admission.default_pod(pod, service_account=sa)

    def _allocate_service(self, svc: JSON) -> None:
        spec = svc.setdefault("spec", {})
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            if spec.get("clusterIP") == "None":
                spec["clusterIPs"] = ["None"]
            return
        if not spec.get("clusterIP"):
            items, _, _ = self.store.list("services")
            used = {s.load().get("spec", {}).get("clusterIP") for s in items}
            hosts = SERVICE_CIDR.num_addresses
            while True:
                candidate = str(SERVICE_CIDR[self._random.randrange(10, hosts - 1)])
                if candidate not in used:
                    break
            spec["clusterIP"] = candidate
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or ():
                port.setdefault("nodePort", self._random.randrange(30000, 32768))

    # --- update and patch ----------------------------------------------------------------------
    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        obj: JSON,
        *,
        dry_run: bool = False,
        subresource: str = "",
        manager: str = "",
    ) -> JSON:
        ns = namespace if rt.namespaced else ""
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise status_bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise status_bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        expected = meta.get("resourceVersion") or None
        for _ in range(10):
            current = self.get(rt, ns, name)
            if expected and expected != str(current.rv):
                raise status_conflict(rt.plural, name, MODIFIED_CONFLICT, rt.group)
            try:
                return self._commit_update(
                    rt, current, obj, dry_run=dry_run, subresource=subresource, manager=manager
                )
            except _Retry:
                continue  # written meanwhile: an unconditional update simply goes again
        raise status_conflict(rt.plural, name, MODIFIED_CONFLICT, rt.group)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        body: bytes,
        *,
        dry_run: bool = False,
        subresource: str = "",
        field_validation: str = "Strict",
        manager: str = "",
        force: bool = False,
    ) -> tuple[JSON, list[str]]:
        media = content_type.split(";", maxsplit=1)[0].strip().lower()
        if media not in PATCH_TYPES:
            raise status_unsupported_media_type(media, PATCH_TYPES)
        is_apply = media == "application/apply-patch+yaml"
        if is_apply and not manager:
            error = FieldError(ErrorType.REQUIRED, "fieldManager", detail="is required for apply patch")
            raise status_invalid("PatchOptions", "", [error], "meta.k8s.io")
        ns = namespace if rt.namespaced else ""
        for _ in range(10):
            try:
                current = self.get(rt, ns, name)
            except SimApiError:
                if is_apply and not subresource:
                    obj, warnings = self.decode(rt, body, media, field_validation)
                    obj["metadata"].setdefault("name", name)
                    applied = copy.deepcopy(obj)
                    created = self.create(
                        rt, namespace, obj, dry_run=dry_run, manager=manager, applied=applied
                    )
                    return created, warnings
                raise
            original = current.load()
            managed: list[JSON] | None = None
            if is_apply:
                applied, _ = self.decode(rt, body, media, field_validation)
                try:
                    patched, managed = fields.apply(
                        original,
                        applied,
                        original["metadata"].get("managedFields") or [],
                        rt.model,
                        manager,
                        rt.api_version,
                        self.clock.timestamp(),
                        force=force,
                    )
                except fields.ApplyConflicts as e:
                    details = {"causes": fields.conflict_causes(e.conflicts)}
                    raise SimApiError(409, "Conflict", str(e), details) from None
            else:
                patched = self._apply_patch(rt, media, original, body)
            if not isinstance(patched, dict):
                raise status_bad_request("the patch did not produce an object")
            as_bytes = json.dumps(patched).encode()
            patched, warnings = self.decode(rt, as_bytes, "application/json", field_validation)
            expected = (patched.get("metadata") or {}).get("resourceVersion")
            if expected and expected != original["metadata"].get("resourceVersion"):
                raise status_conflict(rt.plural, name, MODIFIED_CONFLICT, rt.group)
            try:
                return self._commit_update(
                    rt,
                    current,
                    patched,
                    dry_run=dry_run,
                    subresource=subresource,
                    manager=manager,
                    managed=managed,
                ), warnings
            except _Retry:
                continue
        raise status_conflict(rt.plural, name, MODIFIED_CONFLICT, rt.group)

    def _apply_patch(self, rt: ResourceType, media: str, original: JSON, body: bytes) -> Any:
        try:
            doc = yaml.safe_load(body) if media == "application/apply-patch+yaml" else json.loads(body)
        except (ValueError, yaml.YAMLError) as e:
            raise status_bad_request(f"error decoding patch: {go_json_error(e, body)}") from None
        try:
            if media == "application/json-patch+json":
                return patches.json_patch(original, doc)
            if media == "application/merge-patch+json":
                if not isinstance(doc, dict):
                    raise status_bad_request(NOT_A_MAP_PATCH)
                return patches.merge_patch(original, doc)
            if not isinstance(doc, dict):
                raise status_bad_request(NOT_A_MAP_PATCH)
            return patches.strategic_merge(original, doc, rt.model)
        except patches.PatchError as e:
            if e.code == 400:
                raise status_bad_request(str(e)) from None
            raise SimApiError(422, "Invalid", str(e)) from None

    def _commit_update(
        self,
        rt: ResourceType,
        current: Stored,
        obj: JSON,
        *,
        dry_run: bool,
        subresource: str,
        manager: str = "",
        managed: list[JSON] | None = None,
    ) -> JSON:
        old = current.load()
        new = copy.deepcopy(obj)
        new["kind"], new["apiVersion"] = rt.kind, rt.api_version
        meta = new.setdefault("metadata", {})
        old_meta = old["metadata"]
        # Server-managed fields are never taken from the client.
        for key in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta.pop("resourceVersion", None)
        meta.pop("managedFields", None)
        meta["namespace"] = old_meta.get("namespace", "")
        if not rt.namespaced:
            meta.pop("namespace", None)
        if subresource == "status":
            # The status subresource changes status only.
            new = {**old, "status": new.get("status")}
            if new["status"] is None:
                new.pop("status")
        elif "status" in rt.subresources or rt.storage == "namespaces":
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if rt.storage == "secrets":
            admission.default_secret(new)
        if rt.storage == "services":
            spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
            for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"):
                if key not in spec and key in old_spec:
                    spec[key] = old_spec[key]
            for port in spec.get("ports") or ():
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
        if rt.storage == "deployments.apps":
            admission.default_pod_template_spec(
                new.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
            )
            if new.get("spec") != old.get("spec"):
                meta["generation"] = int(old_meta.get("generation") or 1) + 1
        if managed is None and manager:
            managed = fields.on_update(
                old_meta.get("managedFields") or [],
                old,
                new,
                rt.model,
                manager,
                rt.api_version,
                self.clock.timestamp(),
                subresource,
            )
        if managed is not None:
            new["metadata"]["managedFields"] = managed
        elif old_meta.get("managedFields"):
            new["metadata"]["managedFields"] = old_meta["managedFields"]
        errors = object_meta_update_errors(meta, old_meta)
        if rt.hooks.validate_update is not None and subresource != "status":
            errors += rt.hooks.validate_update(new, old)
        elif rt.hooks.validate is not None and subresource != "status":
            errors += rt.hooks.validate(new)
        if errors:
            raise status_invalid(rt.kind, old_meta.get("name", ""), errors, rt.group)
        old_cmp = {k: v for k, v in old.items()}
        old_cmp["metadata"] = {k: v for k, v in old_meta.items() if k != "resourceVersion"}
        if new == old_cmp:
            return old  # a no-op update does not bump the resourceVersion
        finished = bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") and rt.storage != "pods"
        if dry_run:
            meta["resourceVersion"] = old_meta.get("resourceVersion")
            return new
        try:
            if finished:
                # The last finalizer is gone from an object being deleted: it goes now.
                return self.store.delete(
                    rt.storage, old_meta.get("namespace", ""), old_meta["name"], expected_rv=str(current.rv)
                )
            return self.store.update(rt.storage, new, expected_rv=str(current.rv))
        except ConflictError:
            raise _Retry() from None
        except NotFoundError:
            raise status_not_found(rt.plural, old_meta["name"], rt.group) from None

    # --- delete --------------------------------------------------------------------------------
    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: JSON, *, dry_run: bool = False
    ) -> tuple[JSON, bool]:
        """Delete (or start deleting) an object. Returns (object, finished): finished is False
        when the object is only marked (graceful pod deletion, finalizers, namespace)."""
        ns = namespace if rt.namespaced else ""
        current = self.get(rt, ns, name)
        obj = current.load()
        meta = obj["metadata"]
        preconditions = options.get("preconditions") or {}
        want_uid = preconditions.get("uid")
        if want_uid and want_uid != meta.get("uid"):
            raise status_conflict(
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {want_uid}, "
                f"UID in object meta: {meta.get('uid', '')}",
                rt.group,
            )
        want_rv = preconditions.get("resourceVersion")
        if want_rv and want_rv != meta.get("resourceVersion"):
            raise status_conflict(
                rt.plural,
                name,
                f"Precondition failed: ResourceVersion in precondition: {want_rv}, ResourceVersion in object "
                f"meta: {meta.get('resourceVersion', '')}",
                rt.group,
            )
        if rt.storage == "namespaces":
            if name in IMMORTAL_NAMESPACES:  # the NamespaceLifecycle admission plugin, dry run or not
                raise status_forbidden("namespaces", name, "this namespace may not be deleted")
            return self._delete_namespace(obj, current, dry_run=dry_run), False
        grace = self._grace_period(rt, obj, options)
        if grace > 0 or meta.get("finalizers"):
            return self._mark_deleting(rt, obj, current, grace, dry_run=dry_run), False
        if dry_run:
            return obj, True
        try:
            return self.store.delete(rt.storage, ns, name, expected_rv=str(current.rv)), True
        except (ConflictError, NotFoundError):
            raise status_conflict(rt.plural, name, MODIFIED_CONFLICT, rt.group) from None

    def _grace_period(self, rt: ResourceType, obj: JSON, options: JSON) -> int:
        if rt.storage != "pods":
            return 0
        spec = obj.get("spec") or {}
        requested = options.get("gracePeriodSeconds")
        grace = (
            int(requested) if requested is not None else int(spec.get("terminationGracePeriodSeconds", 30))
        )
        if not spec.get("nodeName"):
            return 0  # never scheduled: nothing runs, delete at once
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        return max(grace, 0)

    def _mark_deleting(
        self, rt: ResourceType, obj: JSON, current: Stored, grace: int, *, dry_run: bool
    ) -> JSON:
        meta = obj["metadata"]
        deadline = self.clock.time() + grace
        existing = meta.get("deletionTimestamp")
        if (
            existing
            and meta.get("deletionGracePeriodSeconds") is not None
            and int(meta["deletionGracePeriodSeconds"]) <= grace
        ):
            return obj  # already being deleted at least as soon
        meta["deletionTimestamp"] = datetime.fromtimestamp(deadline, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["deletionGracePeriodSeconds"] = grace
        if dry_run:
            return obj
        try:
            return self.store.update(rt.storage, obj, expected_rv=str(current.rv))
        except (ConflictError, NotFoundError):
            raise status_conflict(rt.plural, meta["name"], MODIFIED_CONFLICT, rt.group) from None

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, items: list[Stored], options: JSON, *, dry_run: bool
    ) -> list[JSON]:
        deleted: list[JSON] = []
        for stored in items:
            try:
                obj, _ = self.delete(rt, stored.namespace, stored.name, options, dry_run=dry_run)
            except SimApiError as e:
                if e.code == 404:
                    continue
                raise
            deleted.append(obj)
        return deleted

    # --- namespaces ----------------------------------------------------------------------------
    def _delete_namespace(self, ns: JSON, current: Stored, *, dry_run: bool) -> JSON:
        meta = ns["metadata"]
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = self.clock.timestamp()
            ns["status"] = {"phase": "Terminating"}
        if dry_run:
            return ns
        name = meta["name"]
        try:
            updated = self.store.update("namespaces", ns, expected_rv=str(current.rv))
        except ConflictError:
            raise status_conflict("namespaces", name, MODIFIED_CONFLICT) from None
        if self.on_namespace_deleting is not None:
            self.on_namespace_deleting(name)
        return updated

    # --- helpers for other layers --------------------------------------------------------------
    def list_objects(self, storage: str, namespace: str | None) -> list[JSON]:
        """Parsed objects of a resource (used by the RBAC authorizer)."""
        items, _, _ = self.store.list(storage, namespace)
        return [s.load() for s in items]


class _Retry(Exception):
    """The object changed between read and write: run the update again (GuaranteedUpdate)."""


def unrecognized(kind: str) -> str:
    return f"the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; "


def go_json_error(error: Exception, body: bytes) -> str:
    """Word a JSON syntax error the way Go's encoding/json does."""
    pos = getattr(error, "pos", None)
    if pos is None or pos >= len(body.rstrip()):
        return "unexpected end of JSON input"
    ch = body[pos : pos + 1].decode(errors="replace")
    return f"invalid character '{ch}' looking for beginning of value"
