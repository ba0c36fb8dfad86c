"""The HTTP server's stop: every connection closed, and nothing raised on its loop thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from podbot.server.wsgi import WebServer


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def test_stop_with_open_keep_alive_connections_raises_nothing_on_the_server_thread() -> None:
    """Issue 14: closing the sockets from the stopping thread while waitress's loop sat in select()
    on them made that thread die with "OSError: [Errno 9] Bad file descriptor" (most stops did)."""
    errors: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        for _ in range(20):
            server = WebServer(hello, "127.0.0.1", 0, threads=2).start()
            clients = []
            for _ in range(3):  # idle keep-alive connections, as Slack's and a browser's are
                client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                client.sendall(b"GET / HTTP/1.1\r\nHost: podbot\r\n\r\n")
                answer = b""
                while not answer.endswith(b"\r\n\r\nok"):
                    answer += client.recv(1000)
                assert answer.startswith(b"HTTP/1.1 200")
                clients.append(client)
            server.stop(timeout=5)
            for client in clients:
                assert client.recv(1000) == b""  # closed by the server
                client.close()
    finally:
        threading.excepthook = previous
    assert errors == []


def test_a_request_running_at_stop_gets_its_answer_before_the_connection_closes() -> None:
    """A stop closed every connection at once, the one of a request still being handled too: its
    answer was lost, and its worker then woke waitress's loop through a closed pipe (a file number
    another file of the process may have by then; the test above failed on it now and then)."""
    entered, release = threading.Event(), threading.Event()

    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        entered.set()
        release.wait(5)
        return hello(environ, start_response)

    server = WebServer(slow, "127.0.0.1", 0, threads=2).start()
    client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    client.sendall(b"GET / HTTP/1.1\r\nHost: podbot\r\n\r\n")
    assert entered.wait(5)
    raised: list[BaseException] = []

    def stop() -> None:
        try:
            server.stop(timeout=5)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            raised.append(exc)

    stopper = threading.Thread(target=stop)
    stopper.start()
    stopper.join(0.2)  # the stop waits for the running request
    release.set()
    answer = b""
    while chunk := client.recv(1000):
        answer += chunk
    client.close()
    stopper.join(5)
    assert not stopper.is_alive() and raised == []
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\nok")
