"""The only code in podbot that talks to a Kubernetes API server.

The official ``kubernetes`` client supplies what is hard to get right — kubeconfig and in-cluster
loading, TLS, client certificates, exec/OIDC token refresh — and its urllib3 pool. Bodies go over
the wire as raw JSON, never through the client's generated models: version 37 builds pydantic
models that reject unknown fields client-side (a user's manifest must reach the server unchanged
so that the *server* validates it), and typed deserialization of a 3,000-pod list costs ~5x the
raw path. So we sign requests with the client's auth settings and send them ourselves.

Every API ``Status`` error becomes a ``podbot.core.errors`` exception carrying the server's message;
transport failures become ``ClusterUnavailable``. urllib3/kubernetes exceptions never leak upward.

Reads (GET) are retried by urllib3's ``Retry`` on 429 and 5xx (honouring ``Retry-After``, as
kube-apiserver's priority-and-fairness sends it) and on connection errors, with backoff: a read is
idempotent, and one overloaded moment of the API server should not fail a command. Writes are never
retried here: a POST or DELETE whose answer was lost may have taken effect, so only the caller, with
its uid preconditions and intents, can decide what to do next.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from urllib3._collections import HTTPHeaderDict

from podbot import metrics
from podbot.core.errors import (
    AlreadyExists,
    ApiError,
    Cause,
    ClusterUnavailable,
    ConfigError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    NotPermitted,
    PodbotError,
)
from podbot.k8s import wire
from podbot.k8s.api import JSON, Identity, Query

log = logging.getLogger(__name__)

USER_AGENT = "podbot/0.1"

READ_RETRIES = urllib3.Retry(
    total=4,
    connect=2,
    read=1,
    status=3,
    other=0,
    allowed_methods=frozenset({"GET"}),
    status_forcelist=frozenset({429, 500, 502, 503, 504}),
    backoff_factor=0.25,  # urllib3 2: no wait before the first retry, then 0.5 s, 1 s
    backoff_max=5.0,
    respect_retry_after_header=True,
    raise_on_status=False,  # the last answer is mapped to podbot's errors below
)


class Gone(PodbotError):
    """410: a watch or continue token is too old; the caller must list again."""


def error_from_status(code: int, body: bytes, context: str) -> PodbotError:
    """Turn an API server error response into podbot's error hierarchy (message from the server)."""
    status: JSON = {}
    try:
        decoded = json.loads(body or b"{}")
        if isinstance(decoded, dict):
            status = decoded
    except ValueError:
        pass
    message = str(status.get("message") or body[:300].decode(errors="replace") or f"HTTP {code}")
    reason = status.get("reason", "")
    details = status.get("details") or {}
    if code == 404:
        return NotFound(message)
    if code == 409 and reason == "AlreadyExists":
        return AlreadyExists(message)
    if code == 409:
        return Conflict(message)
    if code in (400, 422):
        causes = tuple(
            Cause(
                field=str(c.get("field", "")),
                message=str(c.get("message", "")),
                reason=str(c.get("reason", "")),
            )
            for c in details.get("causes") or ()
        )
        return Invalid(message, causes)
    if code == 403:
        return Forbidden(message)
    if code == 401:
        return NotPermitted(f"cluster {context!r} rejected podbot's credentials ({message})").said(
            "k8s.credentials_rejected", context=context, detail=message
        )
    if code == 410:
        return Gone(message)
    if code == 429 or code >= 500:
        return ClusterUnavailable(f"cluster {context!r} is unavailable: {message}").said(
            "k8s.unavailable", context=context, detail=message
        )
    return ApiError(message, code)


class KubeClient:
    """One cluster (one kubeconfig context), spoken to in raw JSON: the ``api.Kube`` port over HTTP."""

    def __init__(
        self,
        configuration: k8s_client.Configuration,
        context: str,
        *,
        default_namespace: str = "default",
        timeout: float = 15.0,
    ) -> None:
        self.context = context
        self.default_namespace = default_namespace
        self.timeout = timeout
        self._api = k8s_client.ApiClient(configuration)
        self._host = configuration.host.rstrip("/")

    def close(self) -> None:
        self._api.rest_client.pool_manager.clear()

    # --- plumbing ------------------------------------------------------------------------------
    def _headers(
        self, method: str, path: str, accept: str, content_type: str | None, as_user: Identity | None
    ) -> HTTPHeaderDict:
        plain: dict[str, str] = {}
        query: list[tuple[str, str]] = []
        # Lets the client refresh exec/OIDC tokens and apply its bearer token, as its own calls do.
        self._api.update_params_for_auth(plain, query, ["BearerToken"], path, method, None)
        headers = HTTPHeaderDict(plain)
        headers["Accept"] = accept
        headers["User-Agent"] = USER_AGENT
        if content_type:
            headers["Content-Type"] = content_type
        if as_user is not None:
            headers["Impersonate-User"] = as_user.user
            for group in as_user.groups:
                # One header line per group: a comma-joined value would be read as ONE group name.
                headers.add("Impersonate-Group", group)
        return headers

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: bytes | None = None,
        accept: str = "application/json",
        content_type: str | None = None,
        as_user: Identity | None = None,
        timeout: float | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        url = self._host + path
        if query:
            url += "?" + urlencode([(k, _query_value(v)) for k, v in query])
        headers = self._headers(method, path, accept, content_type, as_user)
        started = time.monotonic()
        read_timeout = timeout if timeout is not None else self.timeout
        try:
            response = self._api.rest_client.pool_manager.request(
                method,
                url,
                body=body,
                headers=headers,
                preload_content=not stream,
                timeout=urllib3.Timeout(connect=min(5.0, read_timeout), read=read_timeout),
                retries=READ_RETRIES if method == "GET" and not stream else False,
            )
        except urllib3.exceptions.HTTPError as exc:
            metrics.KUBE_ERRORS.labels(kind="unreachable").inc()
            metrics.KUBE_SECONDS.labels(method=method, code="none").observe(time.monotonic() - started)
            raise ClusterUnavailable(
                f"cannot reach the Kubernetes API of cluster {self.context!r} ({type(exc).__name__})"
            ).said("k8s.unreachable", context=self.context, error=type(exc).__name__) from exc
        metrics.KUBE_SECONDS.labels(method=method, code=str(response.status)).observe(
            time.monotonic() - started
        )
        retried = response.retries.history if response.retries is not None else ()
        for attempt in retried:
            metrics.KUBE_RETRIES.labels(reason=str(attempt.status or "connection")).inc()
        if retried:
            log.info("GET %s on %s: answered after %d retries", path, self.context, len(retried))
        if response.status >= 400:
            data = response.data if not stream else response.read()
            response.release_conn()
            error = error_from_status(response.status, data, self.context)
            metrics.KUBE_ERRORS.labels(kind=type(error).__name__).inc()
            raise error
        return response

    # --- requests ------------------------------------------------------------------------------
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
        """One API call; the decoded JSON answer, or a podbot error.

        ``raw_body`` is sent byte for byte (a user's manifest must reach the server unchanged)."""
        if raw_body is not None:
            payload: bytes | None = raw_body.encode()
        else:
            payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        response = self._send(
            method,
            path,
            query=query,
            body=payload,
            accept=accept,
            content_type=content_type if payload is not None else None,
            as_user=as_user,
            timeout=timeout,
        )
        try:
            decoded = json.loads(response.data or b"{}")
        except ValueError as exc:
            raise ApiError(
                f"cluster {self.context!r} sent a response that is not JSON", response.status
            ).said("k8s.not_json", context=self.context) from exc
        if not isinstance(decoded, dict):
            raise ApiError(f"cluster {self.context!r} sent an unexpected response", response.status).said(
                "k8s.unexpected", context=self.context
            )
        return decoded

    def get(
        self,
        path: str,
        *,
        query: Query = (),
        accept: str = "application/json",
        as_user: Identity | None = None,
    ) -> JSON:
        return self.request("GET", path, query=query, accept=accept, as_user=as_user)

    def text(self, path: str, *, query: Query = (), as_user: Identity | None = None) -> str:
        """A plain-text endpoint (pod logs)."""
        response = self._send("GET", path, query=query, accept="text/plain, */*", as_user=as_user)
        return bytes(response.data).decode("utf-8", errors="replace")

    def list_all(
        self, path: str, *, query: Query = (), page_size: int = 500, as_user: Identity | None = None
    ) -> tuple[list[JSON], str]:
        """Every item of a (paginated) list, and the list's resourceVersion."""
        items: list[JSON] = []
        version = ""
        for page, page_version in self.list_pages(path, query=query, page_size=page_size, as_user=as_user):
            items.extend(page)
            version = page_version
        return items, version

    def list_pages(
        self, path: str, *, query: Query = (), page_size: int = 500, as_user: Identity | None = None
    ) -> Iterator[tuple[list[JSON], str]]:
        """A paginated list one page at a time (decoded), each with the list's resourceVersion.

        The watch cache uses ``list_page_bytes`` instead (its own decoding, the next page fetched
        while one is summarized)."""
        token = ""
        while True:
            page_query = [*query, ("limit", page_size)] + ([("continue", token)] if token else [])
            page = self.get(path, query=page_query, as_user=as_user)
            meta = page.get("metadata") or {}
            token = meta.get("continue") or ""
            yield list(page.get("items") or ()), str(meta.get("resourceVersion", ""))
            if not token:
                return

    def list_page_bytes(
        self, path: str, *, query: Query = (), page_size: int = 500, as_user: Identity | None = None
    ) -> Iterator[bytes]:
        """A paginated list one page of JSON bytes at a time; the next page is being fetched
        while the caller works on this one (the socket read releases the interpreter lock).

        The watch cache decodes a page and drops it before taking the next, so a list of
        50,000 pods never holds more than two pages of raw JSON."""

        def fetch(token: str) -> bytes:
            page_query = [*query, ("limit", page_size)] + ([("continue", token)] if token else [])
            return bytes(self._send("GET", path, query=page_query, as_user=as_user).data)

        fetcher = ThreadPoolExecutor(1, thread_name_prefix=f"list-{self.context}")
        try:
            pending = fetcher.submit(fetch, "")
            while True:
                data = pending.result()
                try:
                    token = wire.continue_token(data)
                except wire.DecodeError as exc:
                    raise ApiError(f"cluster {self.context!r} sent a list that is not JSON", 200) from exc
                if token:
                    pending = fetcher.submit(fetch, token)
                yield data
                if not token:
                    return
        finally:
            fetcher.shutdown(wait=False, cancel_futures=True)

    def watch(
        self,
        path: str,
        *,
        query: Query = (),
        timeout_seconds: int = 300,
        as_user: Identity | None = None,
        cancel: WatchCancel | None = None,
    ) -> Iterator[JSON]:
        """Watch events as decoded JSON objects until the server ends the stream.

        Raises ``Gone`` when the server answers (or streams) 410 for the resourceVersion.
        ``cancel.cancel()`` from another thread ends a stream that is waiting for data."""
        for line in self.watch_lines(
            path, query=query, timeout_seconds=timeout_seconds, as_user=as_user, cancel=cancel
        ):
            event = json.loads(line)
            obj = event.get("object") or {}
            if event.get("type") == "ERROR":
                raise self.watch_error(json.dumps(obj).encode())
            yield event

    def watch_error(self, status: bytes) -> PodbotError:
        """The error an ``ERROR`` watch event's Status object stands for."""
        try:
            decoded = json.loads(status)
        except ValueError:
            decoded = {}
        code = int((decoded.get("code") if isinstance(decoded, dict) else None) or 500)
        return error_from_status(code, status, self.context)

    def watch_lines(
        self,
        path: str,
        *,
        query: Query = (),
        timeout_seconds: int = 300,
        as_user: Identity | None = None,
        cancel: WatchCancel | None = None,
    ) -> Iterator[bytes]:
        """The raw lines of a watch stream (one JSON event each), until the server ends it."""
        watch_query = [*query, ("watch", "true"), ("timeoutSeconds", timeout_seconds)]
        response = self._send(
            "GET", path, query=watch_query, as_user=as_user, timeout=timeout_seconds + 15, stream=True
        )
        if cancel is not None:
            cancel.attach(response)
        try:
            yield from _lines(response)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if cancel is not None and cancel.cancelled:
                return
            metrics.KUBE_ERRORS.labels(kind="watch_dropped").inc()
            raise ClusterUnavailable(f"the watch on cluster {self.context!r} was interrupted").said(
                "k8s.watch_interrupted", context=self.context
            ) from exc
        finally:
            if cancel is not None:
                cancel.detach(response)
            response.release_conn()

    def follow(
        self, path: str, *, query: Query = (), as_user: Identity | None = None, timeout: float = 300
    ) -> Iterator[str]:
        """Lines of a streaming text endpoint (``logs --follow``)."""
        response = self._send(
            "GET",
            path,
            query=[*query, ("follow", "true")],
            accept="text/plain, */*",
            as_user=as_user,
            timeout=timeout,
            stream=True,
        )
        try:
            for line in _lines(response):
                yield line.decode("utf-8", errors="replace")
        finally:
            response.release_conn()

    def version(self) -> JSON:
        """``/version``: a cheap reachability check for /readyz."""
        return self.get("/version")


class WatchCancel:
    """Lets one thread end another thread's watch stream at once (e.g. on shutdown).

    A watch blocks in a socket read until the server sends something; ``cancel`` shuts the
    socket's reading side down, so the read returns and the stream ends quietly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def attach(self, response: urllib3.BaseHTTPResponse) -> None:
        with self._lock:
            self._response = response
            cancelled = self._cancelled
        if cancelled:
            _shutdown(response)

    def detach(self, response: urllib3.BaseHTTPResponse) -> None:
        with self._lock:
            if self._response is response:
                self._response = None

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            response = self._response
        if response is not None:
            _shutdown(response)


def _shutdown(response: urllib3.BaseHTTPResponse) -> None:
    # ValueError/RuntimeError: already released or closed, so there is nothing to end.
    with contextlib.suppress(ValueError, RuntimeError, OSError):
        response.shutdown()


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _lines(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    pending = b""
    for chunk in response.stream(64 * 1024):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


class Clusters:
    """Every cluster podbot may talk to, by kubeconfig context name, created lazily."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        *,
        in_cluster: bool = False,
        default_context: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._kubeconfig = kubeconfig
        self._in_cluster = in_cluster
        self._timeout = timeout
        self._clients: dict[str, KubeClient] = {}
        self._namespaces: dict[str, str] = {}
        if in_cluster:
            self.default_context = default_context or "in-cluster"
            self.contexts: tuple[str, ...] = (self.default_context,)
            return
        try:
            contexts, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        except (k8s_config.ConfigException, OSError, ValueError) as exc:
            raise ConfigError(f"cannot read kubeconfig {kubeconfig or '~/.kube/config'}: {exc}") from exc
        self.contexts = tuple(c["name"] for c in contexts)
        self._namespaces = {
            c["name"]: (c.get("context") or {}).get("namespace") or "default" for c in contexts
        }
        chosen = default_context or (active or {}).get("name")
        if not chosen or chosen not in self.contexts:
            raise ConfigError(
                f"kubeconfig context {chosen!r} not found; contexts: {', '.join(self.contexts)}"
            )
        self.default_context = chosen

    def get(self, context: str | None = None) -> KubeClient:
        """The client for ``context`` (None = the default); unknown contexts are a clear error."""
        name = context or self.default_context
        if name not in self.contexts:
            raise NotFound(f"no cluster context named {name!r}; known contexts: {', '.join(self.contexts)}")
        client = self._clients.get(name)
        if client is None:
            configuration = k8s_client.Configuration()
            if self._in_cluster:
                k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                namespace = _in_cluster_namespace()
            else:
                k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=self._kubeconfig,
                    context=name,
                    client_configuration=configuration,
                    persist_config=False,
                )
                namespace = self._namespaces.get(name, "default")
            client = KubeClient(configuration, name, default_namespace=namespace, timeout=self._timeout)
            self._clients[name] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def _in_cluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"
