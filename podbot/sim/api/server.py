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
from typing import Any

import yaml

from podbot.sim.api import discovery, listing
from podbot.sim.api.admin import admin
from podbot.sim.api.exchange import (
    RequestInfo,
    error_response,
    flag,
    int_param,
    json_response,
    warning_headers,
)
from podbot.sim.api.faults import Faults, sleep
from podbot.sim.api.openapi import OpenAPI
from podbot.sim.api.reviews import review
from podbot.sim.api.subresources import LogSource, pod_logs, scale
from podbot.sim.api.watch import WatchRequest, WatchStream, default_timeout, error_event, too_old
from podbot.sim.auth.impersonation import impersonate
from podbot.sim.auth.rbac import (
    RBAC_STORAGE,
    Attributes,
    Authenticator,
    Authorizer,
    Policy,
    RbacSource,
    UserInfo,
    forbidden,
)
from podbot.sim.clock import SimClock
from podbot.sim.objects.apierrors import (
    not_supported,
    status_bad_request,
    status_internal,
    status_invalid,
    status_method_not_allowed,
    status_path_not_found,
    status_success,
    status_unauthorized,
)
from podbot.sim.objects.controllers import Controllers
from podbot.sim.objects.meta import SimApiError
from podbot.sim.objects.resources import ResourceRegistry, ResourceType, builtin_resources
from podbot.sim.objects.rest import Rest
from podbot.sim.objects.store import ObjectStore, WatchEvent
from podbot.sim.objects.table import build_table, build_table_stored
from podbot.sim.wire.tls import self_signed
from podbot.sim.wire.transport import (
    HttpServer,
    Request,
    ResetConnection,
    Response,
    StreamResponse,
    server_context,
)

__all__ = ["ApiServer", "LogSource"]

log = logging.getLogger(__name__)

JSON = dict[str, Any]
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})
MAX_REQUEST_BODY = 3 * 1024 * 1024  # the API server's maxRequestBodyBytes
VERBS_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch"}
# Pod subresources that need a container runtime: served with a clear "not supported" error after
# authentication and authorization (so `kubectl auth can-i` and the answer agree).
STREAMING = {
    "exec": "exec into a container",
    "attach": "attach to a container",
    "portforward": "forward a port",
    "ephemeralcontainers": "add an ephemeral container (kubectl debug)",
}


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
        self.controllers = Controllers(self.rest)
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
        self.controllers.bootstrap()

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
        verdict = self.faults.check(req.method, req.path, flag(req.param("watch")) or "/watch/" in req.path)
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
            return admin(req, path, user, self.faults, self.clock)
        if user is not None:
            user = impersonate(req.headers, user, self.authorizer)
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
        watch = watch_prefix or flag(req.param("watch"))
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
        if sub in STREAMING and method in ("GET", "POST") and name:
            # Both the WebSocket (GET) and the SPDY (POST) upgrade need "create", as in 1.32.
            return RequestInfo("create", rt, namespace, name, sub, False)
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
            return json_response(200, discovery.version_info())
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
            return json_response(200, discovery.api_versions(host))
        if path == "/apis":
            return json_response(200, discovery.api_group_list(self.registry))
        if parts[0] == "api" and len(parts) == 2:
            doc = discovery.api_resource_list(self.registry, "", parts[1])
            if doc is not None:
                return json_response(200, doc)
        if parts[0] == "apis" and len(parts) == 2:
            group_doc = discovery.api_group(self.registry, parts[1])
            if group_doc is not None:
                return json_response(200, group_doc)
        if parts[0] == "apis" and len(parts) == 3:
            doc = discovery.api_resource_list(self.registry, parts[1], parts[2])
            if doc is not None:
                return json_response(200, doc)
        if parts[:2] == ["openapi", "v3"]:
            return self._openapi(parts[2:])
        raise status_path_not_found()

    def _openapi(self, rest: list[str]) -> Response:
        if not rest:
            return json_response(200, self.openapi.root())
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

    # --- resource endpoints --------------------------------------------------------------------
    def _resource(
        self, req: Request, info: RequestInfo, user: UserInfo, expire_watch: bool
    ) -> Response | StreamResponse:
        rt = info.rt
        if rt.virtual:
            return review(req, info, user, self.rest, self.authorizer)
        if info.subresource == "log":
            return pod_logs(req, info, self.rest, self.logs)
        if info.subresource in STREAMING:
            self.rest.get(rt, info.namespace, info.name)  # a missing pod is still NotFound
            raise status_bad_request(
                f"podbot.sim cannot {STREAMING[info.subresource]}: it simulates containers but runs no "
                f"processes, so pods/{info.subresource} is not supported (kubectl logs shows the output)"
            )
        if info.subresource == "scale":
            return scale(req, info, self.rest, self._dry_run(req))
        dry_run = self._dry_run(req)
        field_validation = self._field_validation(req)
        manager = self._field_manager(req)
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
            created = self.rest.create(rt, namespace, obj, dry_run=dry_run, manager=manager)
            return self._render_obj(req, rt, created, 201, warnings)
        if info.verb == "update":
            obj, warnings = self.rest.decode(
                rt, req.body, req.headers.get("Content-Type") or "", field_validation
            )
            updated = self.rest.update(
                rt,
                namespace,
                info.name,
                obj,
                dry_run=dry_run,
                subresource=info.subresource,
                manager=manager,
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
                manager=req.param("fieldManager")
                if "apply-patch" in (req.headers.get("Content-Type") or "")
                else manager,
                force=flag(req.param("force")),
            )
            return self._render_obj(req, rt, patched, 200, warnings)
        if info.verb == "delete":
            options = self._delete_options(req)
            dry_run = self._delete_dry_run(options, dry_run)
            obj, finished = self.rest.delete(rt, namespace, info.name, options, dry_run=dry_run)
            if finished and not rt.return_deleted:
                details = {"name": info.name, "kind": rt.plural, "uid": obj["metadata"].get("uid", "")}
                if rt.group:
                    details["group"] = rt.group
                return json_response(200, status_success(details))
            return self._render_obj(req, rt, obj, 200, [])
        if info.verb == "deletecollection":
            options = self._delete_options(req)
            dry_run = self._delete_dry_run(options, dry_run)
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
            return json_response(200, body)
        raise status_method_not_allowed()

    @staticmethod
    def _options_kind(req: Request) -> str:
        """The options type whose validation failed, as the real handlers name it."""
        return {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions"}.get(
            req.method, "DeleteOptions"
        )

    def _dry_run(self, req: Request) -> bool:
        values = req.query.get("dryRun") or []
        if any(value != "All" for value in values):
            error = not_supported("dryRun", values, ("All",))
            raise status_invalid(self._options_kind(req), "", [error], "meta.k8s.io")
        return bool(values)

    @staticmethod
    def _delete_dry_run(options: JSON, from_query: bool) -> bool:
        """DeleteOptions.dryRun, where kubectl puts it (the body), or the query parameter."""
        values = options.get("dryRun") or []
        if not isinstance(values, list) or any(value != "All" for value in values):
            error = not_supported("dryRun", values, ("All",))
            raise status_invalid("DeleteOptions", "", [error], "meta.k8s.io")
        return from_query or bool(values)

    @staticmethod
    def _field_manager(req: Request) -> str:
        """fieldManager, or (for updates) the User-Agent up to its first "/", as upstream."""
        return (req.param("fieldManager") or (req.headers.get("User-Agent") or "").split("/")[0])[:128]

    def _field_validation(self, req: Request) -> str:
        value = req.param("fieldValidation")
        if value not in ("", "Strict", "Warn", "Ignore"):
            error = not_supported("fieldValidation", value, ("", "Ignore", "Strict", "Warn"))
            raise status_invalid(self._options_kind(req), "", [error], "meta.k8s.io")
        return value or "Warn"  # the server's default since 1.25

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
        grace = int_param(req, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if req.param("propagationPolicy"):
            options["propagationPolicy"] = req.param("propagationPolicy")
        return options

    # --- rendering -----------------------------------------------------------------------------
    def _render_one(self, req: Request, rt: ResourceType, raw: bytes, status: int) -> Response:
        output = listing.negotiate(req.headers.get("Accept"))
        if output.form == "json":
            return Response(status, raw + b"\n", "application/json")  # encoding/json's Encoder ends with one
        return self._render_obj(req, rt, json.loads(raw), status, [])

    def _render_obj(
        self, req: Request, rt: ResourceType, obj: JSON, status: int, warnings: list[str]
    ) -> Response:
        output = listing.negotiate(req.headers.get("Accept"))
        headers = warning_headers(warnings)
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
            return json_response(status, table, headers)
        if output.form == "metadata":
            api_version = f"meta.k8s.io/{output.version}"
            return json_response(
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
        return json_response(status, obj, headers)

    def _list(self, req: Request, info: RequestInfo) -> Response:
        rt = info.rt
        output = listing.negotiate(req.headers.get("Accept"))
        selection = listing.parse_selection(rt, req.param("labelSelector"), req.param("fieldSelector"))
        limit = int_param(req, "limit")
        token = req.param("continue")
        if req.param("resourceVersion") == "0" and not token:
            limit = None  # "any version" is served from the watch cache, which (in 1.32) does not paginate
        namespace: str | None = info.namespace if rt.namespaced and info.namespace else None
        if not rt.namespaced:
            namespace = None
        start_after: tuple[str, str] | None = None
        snapshot_rv: int | None = None
        if token:
            if req.param("resourceVersion") not in ("", "0"):
                raise status_bad_request("specifying resource version is not allowed when using continue")
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
        remaining = None
        if last is not None and selection.empty:  # with a selector the count is unknown, as upstream
            remaining = self.store.count_after(rt.storage, namespace, last)
        meta = listing.list_meta(list_rv, next_token, remaining)
        if output.form == "table":
            include = listing.table_options(req.param("includeObject"))
            with listing.gc_paused():
                table = build_table_stored(
                    rt.table,
                    items,
                    self.clock.now(),
                    version=output.version,
                    include_object=include,
                    list_meta=meta,
                )
                return json_response(200, table)
        if output.form == "metadata":
            with listing.gc_paused():
                body = listing.metadata_list_body(items, meta, output.version)
            return Response(200, body + b"\n", "application/json")
        if output.form == "yaml":
            body = json.loads(listing.list_body(rt, items, meta))
            return Response(200, yaml.safe_dump(body, sort_keys=False).encode(), "application/yaml")
        return Response(200, listing.list_body(rt, items, meta) + b"\n", "application/json")

    def _watch(self, req: Request, info: RequestInfo, expire: bool) -> StreamResponse:
        rt = info.rt
        output = listing.negotiate(req.headers.get("Accept"))
        selection = listing.parse_selection(rt, req.param("labelSelector"), req.param("fieldSelector"))
        timeout = int_param(req, "timeoutSeconds")
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
            bookmarks=flag(req.param("allowWatchBookmarks")),
            send_initial_events=flag(req.param("sendInitialEvents")),
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
