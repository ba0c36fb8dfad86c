"""The simulated kube-apiserver: routing, authentication, impersonation, authorization, handlers.

Request path, as in the real server's filter chain: fault injection -> authentication (bearer
token) -> impersonation -> RequestInfo -> authorization (RBAC) -> handler. Handlers serve
discovery, OpenAPI v3, CRUD + list/watch for every resource in the table, ``pods/log``,
``/status`` and ``/scale`` subresources, access reviews, and the ``/_sim/`` admin endpoints
(faults, time). Every error is a ``Status`` object with the real reason and message.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from podbot.sim import discovery, listing
from podbot.sim import patch as patches
from podbot.sim.apierrors import (
    invalid,
    not_supported,
    status_bad_request,
    status_body,
    status_internal,
    status_invalid,
    status_method_not_allowed,
    status_path_not_found,
    status_success,
    status_unauthorized,
)
from podbot.sim.clock import SimClock
from podbot.sim.faults import FaultError, Faults, sleep
from podbot.sim.meta import SimApiError
from podbot.sim.openapi import OpenAPI
from podbot.sim.rbac import (
    ANONYMOUS,
    MASTERS,
    RBAC_STORAGE,
    SA_PREFIX,
    Attributes,
    Authenticator,
    Authorizer,
    Policy,
    RbacSource,
    UserInfo,
    forbidden,
    service_account_groups,
    with_authenticated,
)
from podbot.sim.resources import ResourceRegistry, ResourceType, builtin_resources
from podbot.sim.rest import Rest
from podbot.sim.store import ObjectStore, WatchEvent
from podbot.sim.table import build_table
from podbot.sim.tls import self_signed
from podbot.sim.transport import (
    HttpServer,
    Request,
    ResetConnection,
    Response,
    StreamResponse,
    server_context,
)
from podbot.sim.watch import WatchRequest, WatchStream, default_timeout, error_event, too_old

log = logging.getLogger(__name__)

JSON = dict[str, Any]
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})
MAX_REQUEST_BODY = 3 * 1024 * 1024  # the API server's maxRequestBodyBytes
VERBS_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch"}


class LogSource(Protocol):
    """What the API server needs from the kubelets (``podbot.sim.kubelet.KubeletPool``)."""

    def logs(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        *,
        previous: bool = False,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
    ) -> list[str]: ...

    def follow_logs(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        *,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
        stop: threading.Event,
    ) -> Iterator[str]: ...


@dataclass(frozen=True)
class RequestInfo:
    """k8s RequestInfo: what a path + method means."""

    verb: str
    rt: ResourceType
    namespace: str
    name: str
    subresource: str
    watch: bool


def _json(status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(
        status, json.dumps(body, separators=(",", ":")).encode(), "application/json", headers or []
    )


def error_response(error: SimApiError, headers: list[tuple[str, str]] | None = None) -> Response:
    extra = list(headers or [])
    retry = error.details.get("retryAfterSeconds") if error.details else None
    if error.code == 429:
        extra.append(("Retry-After", str(retry or 1)))
    return _json(error.code, status_body(error), extra)


def _bool(value: str) -> bool:
    return value.lower() in ("true", "1", "yes")


def _int_param(req: Request, name: str) -> int | None:
    text = req.param(name)
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise status_bad_request(f'{name}: Invalid value: "{text}": must be an integer') from None


class ApiServer:
    """Serves the API for one ObjectStore + SimClock on loopback HTTP."""

    def __init__(
        self,
        store: ObjectStore,
        clock: SimClock,
        *,
        admin_token: str,
        logs: LogSource | None = None,
        policy: Policy | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        registry: ResourceRegistry | None = None,
        bookmark_interval: float = 10.0,
        tls: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.logs = logs
        self.registry = registry or ResourceRegistry(builtin_resources())
        self.rest = Rest(store, clock, self.registry)
        self.policy = policy if policy is not None else Policy.load(None)
        self.authenticator = Authenticator(admin_token, self.policy)
        self.rbac_objects = RbacSource(self.rest.list_objects)
        self.authorizer = Authorizer(self.policy, self.rbac_objects)
        store.add_listener(self._on_store_event)
        self.faults = faults if faults is not None else Faults(store)
        self.openapi = OpenAPI(self.registry)
        self.bookmark_interval = bookmark_interval
        self.ca_pem = b""
        context = None
        if tls:
            hosts = ["127.0.0.1", "localhost", "::1"] + ([host] if host not in ("0.0.0.0", "::", "") else [])
            self.ca_pem, key_pem = self_signed(hosts)
            context = server_context(self.ca_pem, key_pem)
        self.http = HttpServer(self.handle, host, port, context)
        self.faults.attach(self._listen)
        self._streams: set[WatchStream] = set()
        self._streams_lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------------
    def _on_store_event(self, event: WatchEvent) -> None:
        # Runs under the store lock: only cheap bookkeeping here.
        if event.resource in RBAC_STORAGE:
            self.rbac_objects.invalidate()

    def prepare(self) -> None:
        """Register the resources in the store and create the bootstrap objects."""
        self.rest.register()
        self.rest.bootstrap()

    def start(self) -> None:
        self.http.start()

    def stop(self) -> None:
        self.http.stop()
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()

    @property
    def url(self) -> str:
        return self.http.url

    def _listen(self, on: bool) -> None:
        if on:
            self.http.start()
        else:
            self.http.pause()

    # --- entry point ---------------------------------------------------------------------------
    def handle(self, req: Request) -> Response | StreamResponse:
        headers = [("Audit-Id", str(uuid.uuid4())), ("Cache-Control", "no-cache, private")]
        verdict = self.faults.check(req.method, req.path, _bool(req.param("watch")) or "/watch/" in req.path)
        sleep(verdict.delay)
        if verdict.reset:
            raise ResetConnection()
        if verdict.status is not None:
            return error_response(SimApiError(verdict.status, verdict.reason, verdict.message), headers)
        try:
            if len(req.body) > MAX_REQUEST_BODY:
                raise SimApiError(
                    413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_REQUEST_BODY}"
                )
            response = self._handle(req, verdict.expire_watch)
        except SimApiError as e:
            return error_response(e, headers)
        except Exception as e:
            log.exception("podbot.sim: unexpected error for %s %s", req.method, req.path)
            return error_response(status_internal(f"{type(e).__name__}: {e}"), headers)
        response.headers[:0] = headers
        return response

    def _handle(self, req: Request, expire_watch: bool) -> Response | StreamResponse:
        path = req.path.rstrip("/") or "/"
        user = self._authenticate(req, path)
        if path.startswith("/_sim/"):
            return self._admin(req, path, user)
        if user is not None:
            user = self._impersonate(req, user)
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis") or not self._is_resource_path(parts):
            if user is not None:
                attrs = Attributes(user, req.method.lower() if req.method != "GET" else "get", path=path)
                if not self.authorizer.authorize(attrs).allowed:
                    raise forbidden(attrs)
            return self._non_resource(req, path, parts)
        info = self._request_info(req, parts)
        assert user is not None
        self._authorize(user, info)
        return self._resource(req, info, user, expire_watch)

    # --- authentication and impersonation ------------------------------------------------------
    def _authenticate(self, req: Request, path: str) -> UserInfo | None:
        user = self.authenticator.authenticate(req.headers.get("Authorization"))
        if user is None:
            if req.headers.get("Authorization"):
                raise status_unauthorized()
            if path in PUBLIC_PATHS:
                return None
            raise status_unauthorized()
        return user

    def _impersonate(self, req: Request, user: UserInfo) -> UserInfo:
        target = req.headers.get("Impersonate-User")
        groups = req.headers.get_all("Impersonate-Group") or []
        uid = req.headers.get("Impersonate-Uid")
        extras = [(k, v) for k, v in req.headers.items() if k.lower().startswith("impersonate-extra-")]
        if target is None:
            if groups or uid or extras:
                raise status_internal(
                    f"requested {[('Group', g) for g in groups]} without impersonating a user"
                )
            return user
        checks: list[Attributes] = []
        if target.startswith(SA_PREFIX):
            ns, _, name = target[len(SA_PREFIX) :].partition(":")
            checks.append(Attributes(user, "impersonate", "", "serviceaccounts", namespace=ns, name=name))
        else:
            checks.append(Attributes(user, "impersonate", "", "users", name=target))
        for group in groups:
            checks.append(Attributes(user, "impersonate", "", "groups", name=group))
        if uid:
            checks.append(Attributes(user, "impersonate", "authentication.k8s.io", "uids", name=uid))
        extra_map: dict[str, list[str]] = {}
        for key, value in extras:
            extra_key = key[len("Impersonate-Extra-") :].lower()
            extra_map.setdefault(extra_key, []).append(value)
            checks.append(
                Attributes(user, "impersonate", "authentication.k8s.io", "userextras", extra_key, name=value)
            )
        for attrs in checks:
            if not self.authorizer.authorize(attrs).allowed:
                raise forbidden(attrs)
        final_groups = list(groups)
        if target.startswith(SA_PREFIX) and not groups:
            final_groups = list(service_account_groups(target[len(SA_PREFIX) :].partition(":")[0]))
        impersonated = UserInfo(
            target, tuple(final_groups), uid or "", tuple((k, tuple(v)) for k, v in extra_map.items())
        )
        return with_authenticated(impersonated) if target != ANONYMOUS else impersonated

    # --- request info and authorization --------------------------------------------------------
    def _is_resource_path(self, parts: list[str]) -> bool:
        if parts[0] == "api":
            return len(parts) >= 3
        return len(parts) >= 4

    def _request_info(self, req: Request, parts: list[str]) -> RequestInfo:
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        watch_prefix = False
        if rest and rest[0] == "watch":
            watch_prefix, rest = True, rest[1:]
        namespace = ""
        if len(rest) >= 2 and rest[0] == "namespaces":
            namespace = rest[1]
            if len(rest) > 2 and rest[2] not in ("status", "finalize"):
                rest = rest[2:]
        if not rest:
            raise status_path_not_found()
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else ""), (rest[2] if len(rest) > 2 else "")
        if len(rest) > 3:
            raise status_path_not_found()
        rt = self.registry.lookup(group, version, plural)
        if rt is None:
            raise status_path_not_found()
        if sub and sub not in rt.subresources:
            raise status_path_not_found()
        if not rt.namespaced and plural != "namespaces" and namespace:
            raise status_path_not_found()
        watch = watch_prefix or _bool(req.param("watch"))
        method = req.method
        if method in ("GET", "HEAD"):
            verb = "watch" if watch else ("get" if name else "list")
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        elif method in VERBS_BY_METHOD:
            verb = VERBS_BY_METHOD[method]
        else:
            raise status_method_not_allowed()
        if rt.storage == "namespaces" and name:
            namespace = name
        base_verb = verb if not sub else ("get" if verb in ("get", "list") else verb)
        allowed = set(rt.verbs) | ({"get", "update", "patch"} if sub else set())
        if base_verb not in allowed:
            raise status_method_not_allowed()
        if (verb == "create" and name and rt.storage != "namespaces") or (
            verb in ("update", "patch") and not name
        ):
            raise status_method_not_allowed()
        return RequestInfo(verb, rt, namespace, name, sub, watch)

    def _authorize(self, user: UserInfo, info: RequestInfo) -> None:
        attrs = Attributes(
            user,
            info.verb,
            info.rt.group,
            info.rt.plural,
            info.subresource,
            info.namespace,
            info.name,
        )
        decision = self.authorizer.authorize(attrs)
        if not decision.allowed:
            raise forbidden(attrs, decision.reason)

    # --- non-resource endpoints ----------------------------------------------------------------
    def _non_resource(self, req: Request, path: str, parts: list[str]) -> Response:
        if req.method not in ("GET", "HEAD"):
            raise status_method_not_allowed()
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return _json(200, discovery.version_info())
        accept = req.headers.get("Accept") or ""
        aggregated_v2 = "as=APIGroupDiscoveryList" in accept and "v=v2;" in accept.replace(" ", "") + ";"
        aggregated_beta = "as=APIGroupDiscoveryList" in accept and "v=v2beta1" in accept
        if path in ("/api", "/apis") and (aggregated_v2 or aggregated_beta):
            first_v2 = accept.find("v=v2;") if "v=v2;" in accept else accept.find("v=v2,")
            use_v2 = aggregated_v2 and (not aggregated_beta or 0 <= first_v2 < accept.find("v=v2beta1"))
            api_version = "apidiscovery.k8s.io/v2" if use_v2 else "apidiscovery.k8s.io/v2beta1"
            body = discovery.aggregated(self.registry, path == "/api", api_version)
            media = discovery.AGGREGATED_V2 if use_v2 else discovery.AGGREGATED_V2BETA1
            return Response(
                200, json.dumps(body, separators=(",", ":")).encode(), media, [("Vary", "Accept")]
            )
        if path == "/api":
            host = req.headers.get("Host") or f"{self.http.host}:{self.http.port}"
            return _json(200, discovery.api_versions(host))
        if path == "/apis":
            return _json(200, discovery.api_group_list(self.registry))
        if parts[0] == "api" and len(parts) == 2:
            doc = discovery.api_resource_list(self.registry, "", parts[1])
            if doc is not None:
                return _json(200, doc)
        if parts[0] == "apis" and len(parts) == 2:
            group_doc = discovery.api_group(self.registry, parts[1])
            if group_doc is not None:
                return _json(200, group_doc)
        if parts[0] == "apis" and len(parts) == 3:
            doc = discovery.api_resource_list(self.registry, parts[1], parts[2])
            if doc is not None:
                return _json(200, doc)
        if parts[:2] == ["openapi", "v3"]:
            return self._openapi(parts[2:])
        raise status_path_not_found()

    def _openapi(self, rest: list[str]) -> Response:
        if not rest:
            return _json(200, self.openapi.root())
        gv = rest[1:]
        if rest[0] == "api" and len(gv) == 1:
            group, version = "", gv[0]
        elif rest[0] == "apis" and len(gv) == 2:
            group, version = gv[0], gv[1]
        else:
            raise status_path_not_found()
        if (group, version) not in self.openapi.group_versions():
            raise status_path_not_found()
        return Response(
            200,
            self.openapi.document(group, version),
            "application/json",
            [("Cache-Control", "public, immutable")],
        )

    # --- admin endpoints -----------------------------------------------------------------------
    def _admin(self, req: Request, path: str, user: UserInfo | None) -> Response:
        if user is None or MASTERS not in user.groups:
            raise forbidden(Attributes(user or UserInfo(ANONYMOUS), req.method.lower(), path=path))
        if path == "/_sim/faults":
            if req.method == "GET":
                return _json(200, {"rules": self.faults.rules(), "down": self.faults.down})
            if req.method == "DELETE":
                self.faults.clear()
                return _json(200, {"rules": [], "down": False})
            if req.method == "POST":
                try:
                    body = json.loads(req.body or b"{}")
                    if not isinstance(body, dict):
                        raise FaultError("the body must be a JSON object")
                    return _json(200, self.faults.apply_request(body))
                except (ValueError, FaultError) as e:
                    raise status_bad_request(str(e)) from None
            raise status_method_not_allowed()
        if path == "/_sim/advance":
            if req.method != "POST":
                raise status_method_not_allowed()
            try:
                seconds = float(req.param("seconds"))
            except ValueError:
                raise status_bad_request("seconds: must be a number of simulated seconds") from None
            if seconds < 0:
                raise status_bad_request("seconds: must not be negative")
            self.clock.advance(seconds)
            return _json(200, {"time": self.clock.timestamp()})
        if path == "/_sim/time" and req.method == "GET":
            return _json(200, {"time": self.clock.timestamp(), "speed": self.clock.speed})
        raise status_path_not_found()

    # --- resource endpoints --------------------------------------------------------------------
    def _resource(
        self, req: Request, info: RequestInfo, user: UserInfo, expire_watch: bool
    ) -> Response | StreamResponse:
        rt = info.rt
        if rt.virtual:
            return self._review(req, info, user)
        if info.subresource == "log":
            return self._logs(req, info)
        if info.subresource == "scale":
            return self._scale(req, info)
        dry_run = self._dry_run(req)
        field_validation = self._field_validation(req)
        namespace = info.namespace if rt.namespaced else ""
        if info.verb == "get":
            stored = self.rest.get(rt, namespace, info.name)
            return self._render_one(req, rt, stored.raw, 200)
        if info.verb == "list":
            return self._list(req, info)
        if info.verb == "watch":
            return self._watch(req, info, expire_watch)
        if info.verb == "create":
            obj, warnings = self.rest.decode(
                rt, req.body, req.headers.get("Content-Type") or "", field_validation
            )
            created = self.rest.create(rt, namespace, obj, dry_run=dry_run)
            return self._render_obj(req, rt, created, 201, warnings)
        if info.verb == "update":
            obj, warnings = self.rest.decode(
                rt, req.body, req.headers.get("Content-Type") or "", field_validation
            )
            updated = self.rest.update(
                rt, namespace, info.name, obj, dry_run=dry_run, subresource=info.subresource
            )
            return self._render_obj(req, rt, updated, 200, warnings)
        if info.verb == "patch":
            patched, warnings = self.rest.patch(
                rt,
                namespace,
                info.name,
                req.headers.get("Content-Type") or "",
                req.body,
                dry_run=dry_run,
                subresource=info.subresource,
                field_validation=field_validation,
            )
            return self._render_obj(req, rt, patched, 200, warnings)
        if info.verb == "delete":
            options = self._delete_options(req)
            obj, finished = self.rest.delete(rt, namespace, info.name, options, dry_run=dry_run)
            if finished and not rt.return_deleted:
                details = {"name": info.name, "kind": rt.plural, "uid": obj["metadata"].get("uid", "")}
                if rt.group:
                    details["group"] = rt.group
                return _json(200, status_success(details))
            return self._render_obj(req, rt, obj, 200, [])
        if info.verb == "deletecollection":
            options = self._delete_options(req)
            selection = listing.parse_selection(rt, req.param("labelSelector"), req.param("fieldSelector"))
            items, rv, _ = self.store.list(
                rt.storage, namespace if rt.namespaced else None, selection.predicate()
            )
            deleted = self.rest.delete_collection(rt, namespace, items, options, dry_run=dry_run)
            body = {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(rv)},
                "items": deleted,
            }
            return _json(200, body)
        raise status_method_not_allowed()

    def _dry_run(self, req: Request) -> bool:
        values = req.query.get("dryRun") or []
        for value in values:
            if value != "All":
                raise status_bad_request(str(not_supported("dryRun", value, ("All",))))
        return bool(values)

    def _field_validation(self, req: Request) -> str:
        value = req.param("fieldValidation") or "Warn"  # the server's default since 1.25
        if value not in ("Strict", "Warn", "Ignore"):
            raise status_bad_request(
                f'fieldValidation: Unsupported value: {value!r}: supported values: "Ignore", "Strict", "Warn"'
            )
        return value

    def _delete_options(self, req: Request) -> JSON:
        options: JSON = {}
        if req.body.strip():
            try:
                decoded = json.loads(req.body)
            except ValueError as e:
                raise status_bad_request(
                    f"the object provided is unrecognized (must be of type DeleteOptions): {e}"
                ) from None
            if isinstance(decoded, dict):
                options = decoded
        grace = _int_param(req, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if req.param("propagationPolicy"):
            options["propagationPolicy"] = req.param("propagationPolicy")
        return options

    # --- rendering -----------------------------------------------------------------------------
    def _warning_headers(self, warnings: list[str]) -> list[tuple[str, str]]:
        return [("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"') for w in warnings]

    def _render_one(self, req: Request, rt: ResourceType, raw: bytes, status: int) -> Response:
        output = listing.negotiate(req.headers.get("Accept"))
        if output.form == "json":
            return Response(status, raw, "application/json")
        return self._render_obj(req, rt, json.loads(raw), status, [])

    def _render_obj(
        self, req: Request, rt: ResourceType, obj: JSON, status: int, warnings: list[str]
    ) -> Response:
        output = listing.negotiate(req.headers.get("Accept"))
        headers = self._warning_headers(warnings)
        if output.form == "table":
            include = listing.table_options(req.param("includeObject"))
            table = build_table(
                rt.table,
                [obj],
                self.clock.now(),
                version=output.version,
                include_object=include,
                list_meta={"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")},
            )
            return _json(status, table, headers)
        if output.form == "metadata":
            api_version = f"meta.k8s.io/{output.version}"
            return _json(
                status,
                {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": api_version,
                    "metadata": obj.get("metadata", {}),
                },
                headers,
            )
        if output.form == "yaml":
            return Response(
                status, yaml.safe_dump(obj, sort_keys=False).encode(), "application/yaml", headers
            )
        return _json(status, obj, headers)

    def _list(self, req: Request, info: RequestInfo) -> Response:
        rt = info.rt
        output = listing.negotiate(req.headers.get("Accept"))
        selection = listing.parse_selection(rt, req.param("labelSelector"), req.param("fieldSelector"))
        limit = _int_param(req, "limit")
        token = req.param("continue")
        namespace: str | None = info.namespace if rt.namespaced and info.namespace else None
        if not rt.namespaced:
            namespace = None
        start_after: tuple[str, str] | None = None
        snapshot_rv: int | None = None
        if token:
            snapshot_rv, start_after = listing.decode_continue(token)
            if snapshot_rv < self.store.compacted_resource_version:
                raise listing.gone_continue(token)
        items, rv, last = self.store.list(
            rt.storage,
            namespace,
            selection.predicate(),
            start_after=start_after,
            limit=limit if limit and limit > 0 else None,
        )
        list_rv = snapshot_rv if snapshot_rv is not None else rv
        next_token = listing.encode_continue(list_rv, last) if last is not None else None
        meta = listing.list_meta(list_rv, next_token)
        if output.form == "table":
            include = listing.table_options(req.param("includeObject"))
            with listing.gc_paused():
                table = build_table(
                    rt.table,
                    [s.load() for s in items],
                    self.clock.now(),
                    version=output.version,
                    include_object=include,
                    list_meta=meta,
                )
                return _json(200, table)
        if output.form == "metadata":
            with listing.gc_paused():
                body = listing.metadata_list_body(items, meta, output.version)
            return Response(200, body, "application/json")
        if output.form == "yaml":
            body = json.loads(listing.list_body(rt, items, meta))
            return Response(200, yaml.safe_dump(body, sort_keys=False).encode(), "application/yaml")
        return Response(200, listing.list_body(rt, items, meta), "application/json")

    def _watch(self, req: Request, info: RequestInfo, expire: bool) -> StreamResponse:
        rt = info.rt
        output = listing.negotiate(req.headers.get("Accept"))
        selection = listing.parse_selection(rt, req.param("labelSelector"), req.param("fieldSelector"))
        timeout = _int_param(req, "timeoutSeconds")
        namespace = info.namespace if rt.namespaced and info.namespace else None
        if expire:
            rv = self.store.resource_version
            error = too_old(int(req.param("resourceVersion") or rv), rv)
            return StreamResponse(200, iter([error_event(error)]))
        watch_req = WatchRequest(
            rt=rt,
            namespace=namespace,
            selection=selection,
            resource_version=req.param("resourceVersion"),
            timeout=float(timeout) if timeout is not None and timeout > 0 else default_timeout(),
            bookmarks=_bool(req.param("allowWatchBookmarks")),
            send_initial_events=_bool(req.param("sendInitialEvents")),
            output=output,
            include_object=listing.table_options(req.param("includeObject"))
            if output.form == "table"
            else "Metadata",
        )
        stream = WatchStream(self.store, watch_req, self.clock.now, self.bookmark_interval)
        with self._streams_lock:
            self._streams.add(stream)

        def close() -> None:
            stream.close()
            with self._streams_lock:
                self._streams.discard(stream)

        return StreamResponse(200, iter(stream), "application/json", close=close)

    # --- pods/log --------------------------------------------------------------------------------
    def _logs(self, req: Request, info: RequestInfo) -> Response | StreamResponse:
        if info.verb != "get":
            raise status_method_not_allowed()
        self.rest.get(info.rt, info.namespace, info.name)  # 404 for a missing pod, as the server does
        if self.logs is None:
            raise SimApiError(503, "ServiceUnavailable", "no kubelet is running in this simulator")
        errors = []
        tail = _int_param(req, "tailLines")
        if tail is not None and tail < 0:
            errors.append(invalid("tailLines", tail, "must be greater than or equal to 0"))
        since = _int_param(req, "sinceSeconds")
        if since is not None and since < 1:
            errors.append(invalid("sinceSeconds", since, "must be greater than 0"))
        limit_bytes = _int_param(req, "limitBytes")
        if limit_bytes is not None and limit_bytes < 1:
            errors.append(invalid("limitBytes", limit_bytes, "must be greater than 0"))
        if errors:
            raise status_invalid("PodLogOptions", "", errors)
        container = req.param("container") or None
        timestamps = _bool(req.param("timestamps"))
        previous = _bool(req.param("previous"))
        if _bool(req.param("follow")) and not previous:
            stop = threading.Event()
            lines = self.logs.follow_logs(
                info.namespace,
                info.name,
                container,
                tail_lines=tail,
                since_seconds=since,
                timestamps=timestamps,
                stop=stop,
            )
            first = next(lines, None)  # errors (container not found ...) surface before streaming

            def chunks() -> Iterator[bytes]:
                if first is not None:
                    yield (first + "\n").encode()
                for line in lines:
                    yield (line + "\n").encode()

            return StreamResponse(200, chunks(), "text/plain", close=stop.set)
        text = "".join(
            line + "\n"
            for line in self.logs.logs(
                info.namespace,
                info.name,
                container,
                previous=previous,
                tail_lines=tail,
                since_seconds=since,
                timestamps=timestamps,
            )
        )
        body = text.encode()
        if limit_bytes is not None:
            body = body[:limit_bytes]
        return Response(200, body, "text/plain")

    # --- deployments/scale ---------------------------------------------------------------------
    def _scale(self, req: Request, info: RequestInfo) -> Response:
        rt = info.rt
        stored = self.rest.get(rt, info.namespace, info.name)
        obj = stored.load()
        if info.verb in ("update", "patch"):
            try:
                body = json.loads(req.body or b"{}")
            except ValueError as e:
                raise status_bad_request(f"error decoding scale: {e}") from None
            if info.verb == "patch":
                current = self._scale_obj(rt, obj)
                media = (req.headers.get("Content-Type") or "").split(";")[0]
                if media == "application/json-patch+json":
                    body = patches.json_patch(current, body)
                else:
                    body = patches.merge_patch(current, body)
            replicas = (body.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise status_invalid(
                    "Scale",
                    info.name,
                    [invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
                    "autoscaling",
                )
            obj["spec"]["replicas"] = replicas
            obj = self.rest.update(rt, info.namespace, info.name, obj, dry_run=self._dry_run(req))
        return _json(200, self._scale_obj(rt, obj))

    @staticmethod
    def _scale_obj(rt: ResourceType, obj: JSON) -> JSON:
        meta = obj["metadata"]
        selector = (obj.get("spec") or {}).get("selector") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()),
            },
        }

    # --- access reviews ------------------------------------------------------------------------
    def _review(self, req: Request, info: RequestInfo, user: UserInfo) -> Response:
        rt = info.rt
        if info.verb != "create":
            raise status_method_not_allowed()
        obj, _ = self.rest.decode(rt, req.body, req.headers.get("Content-Type") or "", "Strict")
        spec = obj.get("spec") or {}
        if rt.kind == "SelfSubjectReview":
            user_info: JSON = {"username": user.name, "groups": list(user.groups)}
            if user.uid:
                user_info["uid"] = user.uid
            if user.extra:
                user_info["extra"] = {k: list(v) for k, v in user.extra}
            return _json(
                201, {**obj, "metadata": {"creationTimestamp": None}, "status": {"userInfo": user_info}}
            )
        if rt.kind == "SelfSubjectRulesReview":
            namespace = spec.get("namespace") or ""
            obj["status"] = {
                "resourceRules": self.authorizer.rules_for(user, namespace),
                "nonResourceRules": [
                    {
                        "verbs": ["get"],
                        "nonResourceURLs": [
                            "/api",
                            "/api/*",
                            "/apis",
                            "/apis/*",
                            "/healthz",
                            "/livez",
                            "/openapi",
                            "/openapi/*",
                            "/readyz",
                            "/version",
                            "/version/",
                        ],
                    }
                ],
                "incomplete": False,
            }
            obj["metadata"] = {"creationTimestamp": None}
            return _json(201, obj)
        subject = user
        if rt.kind == "SubjectAccessReview":
            if not spec.get("user") and not spec.get("groups"):
                raise status_invalid(
                    rt.kind,
                    "",
                    [invalid("spec.user", "", "at least one of user or group must be specified")],
                    rt.group,
                )
            subject = UserInfo(spec.get("user") or "", tuple(spec.get("groups") or ()), spec.get("uid") or "")
        resource = spec.get("resourceAttributes")
        non_resource = spec.get("nonResourceAttributes")
        if bool(resource) == bool(non_resource):
            raise status_invalid(
                rt.kind,
                "",
                [
                    invalid(
                        "spec.resourceAttributes",
                        resource or "null",
                        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                    )
                ],
                rt.group,
            )
        if resource:
            attrs = Attributes(
                subject,
                resource.get("verb") or "",
                resource.get("group") or "",
                resource.get("resource") or "",
                resource.get("subresource") or "",
                resource.get("namespace") or "",
                resource.get("name") or "",
            )
        else:
            assert non_resource is not None
            attrs = Attributes(subject, non_resource.get("verb") or "", path=non_resource.get("path") or "/")
        decision = self.authorizer.authorize(attrs)
        status: JSON = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        obj["status"] = status
        obj["metadata"] = {"creationTimestamp": None}
        return _json(201, obj)
