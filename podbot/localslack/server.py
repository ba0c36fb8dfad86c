"""The emulator's HTTP face on 127.0.0.1: Web API, upload URLs, response_urls, private files.

Routes (all on one ephemeral port):
- ``/api/<method>``  Web API (POST form, JSON or multipart; GET with a query string)
- ``/upload/v1/<id>``  the upload URL handed out by files.getUploadURLExternal
- ``/commands/<team>/<n>/<secret>``, ``/actions/<team>/<n>/<secret>``  response_urls
- ``/files-pri/<team>-<file>/<name>``  url_private (needs the bot token, like Slack)

Every Web API call is recorded (method, arguments without the token, HTTP status, error) so
tests can assert on retries and on what the app actually sent.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import logging
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from podbot.localslack import methods_chat, methods_directory, methods_files, methods_views
from podbot.localslack.api import Core, Method
from podbot.localslack.traffic import Fault, Faults, RateLimits
from podbot.localslack.wire import ApiError, ApiRequest

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]

METHODS: dict[str, Method] = {
    **methods_chat.METHODS,
    **methods_directory.METHODS,
    **methods_views.METHODS,
    **methods_files.METHODS,
}


@dataclass(frozen=True)
class ApiCall:
    """One recorded request to the emulator (Web API, upload or response_url)."""

    method: str
    args: Mapping[str, Any]
    status: int
    ok: bool
    error: str
    at: float


class _BadBody(Exception):
    pass


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[name] = data if part.get_filename() else data.decode("utf-8", errors="replace")
    return fields


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], bool]:
    """Arguments from a request body; returns (args, is_json)."""
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if not body:
        return {}, kind == "application/json"
    try:
        if kind == "application/json":
            data = json.loads(body)
            if not isinstance(data, dict):
                raise _BadBody("invalid_json")
            return data, True
        if kind == "multipart/form-data":
            return _parse_multipart(content_type, body), False
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), False
    except (ValueError, UnicodeDecodeError):
        raise _BadBody("invalid_json" if kind == "application/json" else "invalid_form_data") from None


class PromptShutdown(socketserver.TCPServer):
    """A socketserver whose ``shutdown()`` returns at once: the stdlib's ``serve_forever`` notices
    a shutdown only at its next poll, and every stop (so every test's teardown) waited for it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._wake_recv, self._wake_send = socket.socketpair()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        super().__init__(*args, **kwargs)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                selector.register(self._wake_recv, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    ready = {key.fileobj for key, _ in selector.select(poll_interval)}
                    if self._stopping.is_set():
                        break
                    if self._wake_recv in ready:
                        self._wake_recv.recv(64)
                    if self.socket in ready:
                        self._handle_request_noblock()  # type: ignore[attr-defined]  # the stdlib loop's own step
                    self.service_actions()
        finally:
            self._stopping.clear()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop ``serve_forever`` (running on another thread) and wait until it has returned."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_send.send(b"\0")
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake_recv.close()
        self._wake_send.close()


class _HttpServer(PromptShutdown, ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 makes bursts of concurrent requests wait for a SYN retry (1 s)
    request_queue_size = 128


class LocalSlackServer:
    """A threaded HTTP server on loopback serving one emulated workspace."""

    def __init__(
        self, core: Core, faults: Faults, rate_limits: RateLimits, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the Slack emulator only listens on loopback")
        self.core = core
        self.faults = faults
        self.rate_limits = rate_limits
        self._calls: list[ApiCall] = []
        self._calls_lock = threading.Lock()
        self._httpd = _HttpServer((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None
        port = self._httpd.server_address[1]
        self.url = f"http://{host}:{port}"
        core.workspace.origin = self.url

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="localslack-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def record(self, call: ApiCall) -> None:
        with self._calls_lock:
            self._calls.append(call)

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._calls_lock:
            return [c for c in self._calls if method is None or c.method == method]

    # --- Web API -----------------------------------------------------------------------------
    def token_kind(self, token: str) -> str:
        ws = self.core.workspace
        if not token:
            return "none"
        if token == ws.bot_token:
            return "bot"
        if token == ws.app_token:
            return "app"
        return "invalid"

    def call(
        self,
        method_name: str,
        args: dict[str, Any],
        token: str,
        json_body: bool,
        charset: bool,
        from_header: bool,
    ) -> tuple[int, JsonDict, dict[str, str]]:
        """Run one Web API method; returns (HTTP status, JSON body, extra headers)."""
        method = METHODS.get(method_name)
        if method is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method_name}, {}
        if method.header_token and not from_header:
            token = ""  # Slack refuses this method's token as a POST parameter
        kind = self.token_kind(token)
        if kind not in method.tokens:
            if kind == "none":
                return 200, {"ok": False, "error": "not_authed"}, {}
            if kind == "invalid":
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
        granted = self.core.workspace.scopes
        if kind == "bot" and method.scope and method.scope not in granted:
            missing: JsonDict = {
                "ok": False,
                "error": "missing_scope",
                "needed": method.scope,
                "provided": ",".join(sorted(granted)),
            }
            return 200, missing, {}
        retry_after = self.rate_limits.check(method_name, self._rate_key(method_name, args))
        if retry_after is None:
            retry_after = self.core.history_limits.check(method_name)
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        request = ApiRequest(method_name, args, kind, json_body)
        try:
            result = method.handler(self.core, request)
        except ApiError as e:
            return e.status, e.body(), e.headers
        body: JsonDict = {"ok": True, **result.data}
        warnings = list(result.warnings)
        if json_body and not charset:
            warnings.append("missing_charset")  # Slack warns when a JSON body names no charset
        if warnings:
            body["warning"] = ",".join(warnings)
            metadata = dict(body.get("response_metadata") or {})
            metadata["warnings"] = warnings
            body["response_metadata"] = metadata
        return 200, body, {}

    def _rate_key(self, method: str, args: Mapping[str, Any]) -> str:
        ref = args.get("channel")
        if not isinstance(ref, str):
            return ""
        channel = self.core.workspace.find_channel(ref)
        return channel.id if channel else ref


def _fault_response(fault: Fault) -> tuple[int, JsonDict, dict[str, str]]:
    headers = {"Retry-After": str(fault.retry_after)} if fault.kind == "ratelimited" else {}
    return fault.status, {"ok": False, "error": fault.error}, headers


def _handler_class(server: LocalSlackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "localslack/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # paths carry response_url secrets; calls are recorded instead

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        # --- plumbing ------------------------------------------------------------------------
        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def _send(
            self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, body: JsonDict, headers: Mapping[str, str] | None = None) -> None:
            self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

        def _late_json(self, status: int, body: JsonDict, headers: Mapping[str, str] | None = None) -> None:
            """An answer held back by a ``stall`` fault: the client may have hung up meanwhile."""
            try:
                self._json(status, body, headers)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _drop(self) -> None:
            self.close_connection = True  # no response at all: the client sees the connection close

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            body = self._body() if self.command == "POST" else b""
            try:
                if path.startswith("/api/"):
                    self._api(path[len("/api/") :], parts.query, body)
                elif path.startswith("/upload/v1/"):
                    self._upload(path, body)
                elif path.startswith(("/commands/", "/actions/")):
                    self._response_url(path, body)
                elif path.startswith("/files-pri/"):
                    self._private_file(path)
                else:
                    self._send(404, b"not found", "text/plain")
            except Exception:
                log.exception("localslack: unexpected error serving %s", path.split("/")[1:2])
                self._json(500, {"ok": False, "error": "internal_error"})

        # --- routes --------------------------------------------------------------------------
        def _api(self, method: str, query: str, body: bytes) -> None:
            fault = server.faults.take(method)
            content_type = self.headers.get("Content-Type") or "application/x-www-form-urlencoded"
            try:
                args, is_json = parse_body(content_type, body)
            except _BadBody as e:
                self._json(200, {"ok": False, "error": str(e)})
                return
            args = {**dict(parse_qsl(query, keep_blank_values=True)), **args}
            auth = self.headers.get("Authorization") or ""
            token = (
                auth[len("Bearer ") :].strip()
                if auth.startswith("Bearer ")
                else str(args.pop("token", "") or "")
            )
            args.pop("token", None)
            if fault is not None and not fault.after_effect:
                if fault.kind == "disconnect":
                    server.record(ApiCall(method, args, 0, False, "disconnect", time.time()))
                    self._drop()
                    return
                status, payload, headers = _fault_response(fault)
            else:
                charset = "charset=" in content_type.lower()
                from_header = auth.startswith("Bearer ")
                status, payload, headers = server.call(method, args, token, is_json, charset, from_header)
            server.record(
                ApiCall(
                    method, args, status, bool(payload.get("ok")), str(payload.get("error", "")), time.time()
                )
            )
            if fault is None or not fault.after_effect:
                self._json(status, payload, headers)
            elif fault.kind == "stall":
                time.sleep(fault.delay)
                self._late_json(status, payload, headers)
            elif fault.kind == "disconnect":
                self._drop()
            else:
                self._json(*_fault_response(fault))

        def _upload(self, path: str, body: bytes) -> None:
            fault = server.faults.take("upload")
            if fault is not None and fault.kind == "disconnect":
                self._drop()
                return
            if fault is not None:
                self._send(fault.status if fault.status != 200 else 500, fault.error.encode(), "text/plain")
                return
            content_type = self.headers.get("Content-Type") or ""
            if content_type.lower().startswith("multipart/form-data"):
                # Some clients send the bytes as a multipart form with one file field.
                parts = _parse_multipart(content_type, body)
                body = next((v for v in parts.values() if isinstance(v, bytes)), b"")
            try:
                stored = server.core.workspace.files.receive(path, body)
            except ApiError as e:
                server.record(ApiCall("upload", {}, e.status, False, e.code, time.time()))
                self._send(e.status, e.code.encode(), "text/plain")
                return
            server.record(
                ApiCall("upload", {"file": stored.id, "bytes": len(body)}, 200, True, "", time.time())
            )
            self._send(200, f"OK - {len(body)}".encode(), "text/plain; charset=utf-8")

        def _response_url(self, path: str, body: bytes) -> None:
            fault = server.faults.take("response_url")
            if fault is not None and not fault.after_effect:
                if fault.kind == "disconnect":
                    server.record(ApiCall("response_url", {}, 0, False, "disconnect", time.time()))
                    self._drop()
                else:
                    status, payload, headers = _fault_response(fault)
                    server.record(ApiCall("response_url", {}, status, False, fault.error, time.time()))
                    self._json(status, payload, headers)
                return
            core = server.core
            try:
                data, _ = parse_body(self.headers.get("Content-Type") or "application/json", body)
                if "payload" in data and isinstance(data["payload"], str):
                    data = json.loads(data["payload"])
                with core.workspace.lock:
                    url = core.workspace.interactions.check_response_url(path)
                    core.messaging.respond(url, data)
                    url.uses += 1
            except ApiError as e:
                server.record(ApiCall("response_url", {}, e.status, False, e.code, time.time()))
                self._json(e.status, e.body())
                return
            except (_BadBody, ValueError):
                server.record(ApiCall("response_url", {}, 400, False, "invalid_payload", time.time()))
                self._json(400, {"ok": False, "error": "invalid_payload"})
                return
            server.record(ApiCall("response_url", dict(data), 200, True, "", time.time()))
            if fault is None:
                self._json(200, {"ok": True})
            elif fault.kind == "stall":
                time.sleep(fault.delay)
                self._late_json(200, {"ok": True})
            elif fault.kind == "disconnect":
                self._drop()
            else:
                self._json(*_fault_response(fault))

        def _private_file(self, path: str) -> None:
            auth = self.headers.get("Authorization") or ""
            if server.token_kind(auth.removeprefix("Bearer ").strip()) != "bot":
                # Slack serves its sign-in page (HTTP 200, HTML) to requests without a valid token.
                self._send(200, b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>", "text/html")
                return
            segment = path.split("/")[2] if path.count("/") >= 2 else ""
            file_id = segment.split("-", 1)[1] if "-" in segment else ""
            stored = server.core.workspace.files.get(file_id)
            if stored is None or stored.content is None:
                self._send(404, b"file not found", "text/plain")
                return
            self._send(200, stored.content, stored.mimetype())

    return Handler
