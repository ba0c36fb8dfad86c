"""Loopback helpers: ports, GETs, and HTTP servers that stop at once, for tests and benches."""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    """A loopback port that nothing listens on right now (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body) of a GET; (0, "") when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


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


class QuickHTTPServer(PromptShutdown, ThreadingHTTPServer):
    """``ThreadingHTTPServer`` for a test's own endpoint; its ``shutdown()`` is immediate."""

    daemon_threads = True
