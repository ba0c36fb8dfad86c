"""HTTP/1.1 for the simulated API server, on the standard library.

Why ``http.server``: kubectl and client-go speak plain HTTP/1.1 to an ``http://`` server (HTTP/2
needs TLS), the official Python client uses urllib3 (HTTP/1.1), and what matters here is
keep-alive, chunked streaming for watches and ``logs -f``, and clean shutdown; a thread per
connection is plenty for tests and a laptop demo. No new dependency.

The server can stop listening and start again on the same port (fault injection: "API down"),
and closes every open connection on stop so tests leave no threads or sockets behind.
"""

from __future__ import annotations

import contextlib
import logging
import select
import selectors
import socket
import socketserver
import ssl
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path
    raw_path: str
    query: dict[str, list[str]]
    headers: Any  # email.message.Message: .get(), .get_all() keeps repeated header lines apart
    body: bytes
    client: tuple[str, int]

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class StreamResponse:
    """A chunked response; ``chunks`` may block; ``close`` runs when the stream ends either way."""

    status: int
    chunks: Iterator[bytes]
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: Callable[[], None] = lambda: None


class ResetConnection(Exception):
    """Raised by the application to answer with a TCP reset (fault injection)."""


App = Callable[[Request], "Response | StreamResponse"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "podbot-sim"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after five minutes
    # Headers and body are separate writes: with Nagle's algorithm the body waits for the client's
    # delayed ACK of the headers (measured: 44 ms for every small answer). kube-apiserver (Go)
    # sets TCP_NODELAY too.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(split.path),
            raw_path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
            client=self.client_address,
        )
        try:
            response = self.server.app(request)
        except ResetConnection:
            self._reset()
            return
        if isinstance(response, StreamResponse):
            self._stream(response)
        else:
            self._send(response)

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _stream(self, response: StreamResponse) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        done = threading.Event()
        threading.Thread(target=self._watch_client, args=(response, done), daemon=True).start()
        try:
            for chunk in response.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ValueError):
            self.close_connection = True  # the client went away
        finally:
            done.set()
            response.close()

    def _watch_client(self, response: StreamResponse, done: threading.Event) -> None:
        """End a stream whose client has gone, even while the stream has nothing to write.

        Mid-stream a client sends nothing (no HTTP pipelining from client-go or urllib3), so the
        socket turning readable means it was closed (FIN or TLS close_notify)."""
        while not done.wait(0.25):
            try:
                readable, _, _ = select.select([self.connection], [], [], 0)
            except (OSError, ValueError):
                readable = [self.connection]
            if readable:
                self.close_connection = True
                response.close()
                return

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class PromptShutdown(
    socketserver.TCPServer
):  # podbot.localslack.server has its twin: emulators share nothing
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


class _Server(PromptShutdown, ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, context: ssl.SSLContext | None) -> None:
        self.app = app
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)
        if context is not None:
            # The handshake happens on the connection's own thread, at its first read.
            self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.conn_lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A TLS server context for the PEMs (HTTP/1.1 only: no ALPN h2, so Go clients stay on 1.1)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="podbot-sim-tls-") as tmp:
        cert, key = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        cert.write_bytes(cert_pem)
        key.touch(mode=0o600)
        key.write_bytes(key_pem)
        context.load_cert_chain(cert, key)
    return context


class HttpServer:
    """Serves ``app`` on host:port (port 0 = pick one); can pause listening (API down)."""

    def __init__(
        self, app: App, host: str = "127.0.0.1", port: int = 0, context: ssl.SSLContext | None = None
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.context = context
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.context is not None else 'http'}://{host}:{self.port}"

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            server = _Server((self.host, self.port), self.app, self.context)
            self.port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, name=f"sim-http-{self.port}", daemon=True
            )
            self._thread.start()

    def pause(self) -> None:
        """Stop accepting and drop every open connection; the port stays reserved for ``start``."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def stop(self) -> None:
        self.pause()
