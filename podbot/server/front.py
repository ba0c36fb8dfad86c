"""The ack front: a small process in front of the bot that answers Slack at once.

    Slack --HTTP--> the front (checks, ack, forward) --private Unix socket--> the bot (web.PodbotWsgi)

Why a process of its own: Python threads share one interpreter lock. In one process the work after
an ack (the Kubernetes call, rendering, posting the answer: ~3 ms of CPU a command) competes with
the next acks for that lock, and under load the acks wait for it: p99 about 5x a bare bolt app's
(bench/slack_acks.py, README). The front does none of that work, so its acks wait only for each other.

What the front answers itself, after the same ``SlackGate`` checks the bot makes (signature, age,
replay, size): slash commands and button clicks, which podbot's listeners acknowledge with an empty
200 before they do anything else. The request then goes to the bot verbatim, with two headers more
(``X-Podbot-Acked``, and how long the ack took, for the bot's ``podbot_ack_seconds``): the bot
handles it as if Slack had sent it, and what it would have put in the ack (a usage error) goes by
the response_url instead. Everything else is passed through and answered with the bot's own answer:
modal submissions (their ack carries the form's errors), events (recorded before they are
acknowledged), Slack's ``ssl_check``, and /healthz, /readyz and /metrics (so a liveness probe
sees a bot that no longer answers).

``podbot serve`` starts the front as an interpreter of its own (``python -m podbot.server.front``),
which imports only waitress and this package's ``wsgi`` module (~14 MiB of its own; a fork of the
bot measured 32 MiB, as every page either process then wrote became a copy). It hands over the
bound public socket and, on the front's stdin, the signing secret (never on a command line); the
front ends on SIGTERM (after forwarding what it acknowledged) or when its stdin closes, i.e. when
the bot's process is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podbot.server.wsgi import SlackGate, WebServer, read_body, respond

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

ACKED_HEADER = "X-Podbot-Acked"
"""Set by the front on a request it has already acknowledged; the bot trusts it only behind a front."""
ACK_SECONDS_HEADER = "X-Podbot-Ack-Seconds"
"""How long the front took to acknowledge the request (the bot's podbot_ack_seconds records it)."""
QUEUE_LIMIT = 1000
"""Acknowledged requests waiting for the bot. When the bot falls this far behind, the front stops
acknowledging ahead of it and passes requests through (acks slow down instead of memory growing)."""
FORWARD_THREADS = 4
_FORWARDED_HEADERS = (
    "CONTENT_TYPE",
    "HTTP_X_SLACK_REQUEST_TIMESTAMP",
    "HTTP_X_SLACK_SIGNATURE",
    "HTTP_X_SLACK_RETRY_NUM",
    "HTTP_X_SLACK_RETRY_REASON",
)


def _header_name(environ_key: str) -> str:
    """HTTP_X_SLACK_SIGNATURE -> X-Slack-Signature; CONTENT_TYPE -> Content-Type."""
    return environ_key.removeprefix("HTTP_").replace("_", "-").title()


def acked_at_once(content_type: str, body: bytes) -> bool:
    """Whether podbot's listeners answer this request with an empty ack, whatever it says.

    Slash commands (not Slack's ``ssl_check``) and button clicks: yes. Modal submissions (the ack
    may carry errors or a new view), events and anything unknown: no, the bot's answer is needed.
    Only the field names are read (they are plain ASCII in Slack's forms), and the JSON of an
    interaction's ``payload``: this runs on every ack, and a full form parse costs more than the rest."""
    if content_type.startswith("application/json"):
        return False  # Events API
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    fields = dict(pair.partition("=")[::2] for pair in text.split("&"))
    if "payload" in fields:
        try:
            payload = json.loads(urllib.parse.unquote_plus(fields["payload"]))
        except ValueError:
            return False
        return isinstance(payload, dict) and payload.get("type") == "block_actions"
    return "command" in fields and "ssl_check" not in fields


@dataclass(frozen=True)
class Forward:
    """One request for the bot: what Slack sent, and the headers that go with it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    content_type: str
    body: bytes


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class Forwarder:
    """Sends requests to the bot over its Unix socket: at once (``send``) or after the ack (``enqueue``)."""

    def __init__(self, socket_path: str, *, threads: int = FORWARD_THREADS, limit: int = QUEUE_LIMIT) -> None:
        self._path = socket_path
        self._queue: queue.Queue[Forward | None] = queue.Queue(maxsize=limit)
        self._threads = [
            threading.Thread(target=self._drain, name=f"podbot-forward-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def send(self, request: Forward, timeout: float = 30.0) -> Reply:
        """The bot's answer to ``request``; ``OSError`` when the bot cannot be reached."""
        connection = _UnixConnection(self._path, timeout)
        try:
            connection.request(request.method, request.path, body=request.body, headers=request.headers)
            response = connection.getresponse()
            return Reply(
                response.status, response.reason, response.getheader("Content-Type") or "", response.read()
            )
        finally:
            connection.close()

    def enqueue(self, request: Forward) -> bool:
        """Queue an acknowledged request for the bot; False when the queue is full."""
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            return False
        return True

    def _drain(self) -> None:
        while (request := self._queue.get()) is not None:
            try:
                reply = self.send(request)
                if reply.status >= 400:
                    log.error(
                        "the bot answered %s to a request the front had acknowledged; its sender saw "
                        "no error (see the bot's log at the same time)",
                        reply.status,
                    )
            except OSError as exc:
                log.error("an acknowledged request was not delivered to the bot: %s", type(exc).__name__)
            finally:
                self._queue.task_done()

    def close(self, timeout: float) -> bool:
        """Deliver what is queued (True if all of it went within ``timeout``), then stop."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        finished = not self._queue.unfinished_tasks
        for _ in self._threads:
            try:
                self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                break
        return finished


class FrontWsgi:
    """The front's routes: /slack/events is checked, then acknowledged or passed through; every other
    path is passed through."""

    def __init__(self, gate: SlackGate, forwarder: Forwarder, draining: Callable[[], bool]) -> None:
        self._gate = gate
        self._forwarder = forwarder
        self._draining = draining

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        method = str(environ.get("REQUEST_METHOD", "GET"))
        if path == "/slack/events" and method == "POST":
            if self._draining():
                return respond(start_response, "503 Service Unavailable", b"shutting down")
            return self._slack(environ, start_response)
        query = str(environ.get("QUERY_STRING", ""))
        return self._pass(start_response, Forward(method, path + ("?" + query if query else ""), {}, b""))[1]

    def _slack(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        started = time.monotonic()
        body = read_body(environ)
        refused = self._gate.answer_refusal(environ, body, start_response)
        if refused is not None:
            return refused
        headers = {_header_name(name): str(environ[name]) for name in _FORWARDED_HEADERS if name in environ}
        if acked_at_once(headers.get("Content-Type", ""), body):
            took = f"{time.monotonic() - started:.6f}"
            request = Forward(
                "POST", "/slack/events", {**headers, ACKED_HEADER: "1", ACK_SECONDS_HEADER: took}, body
            )
            if self._forwarder.enqueue(request):
                return respond(start_response, "200 OK", b"")
            log.warning("the bot is %d requests behind: passing this one through", QUEUE_LIMIT)
        status, reply = self._pass(start_response, Forward("POST", "/slack/events", headers, body))
        if status >= 500:
            self._gate.forget(environ)  # not taken: Slack's redelivery is not a replay
        return reply

    def _pass(self, start_response: StartResponse, request: Forward) -> tuple[int, list[bytes]]:
        """The bot's answer, as it gave it."""
        try:
            reply = self._forwarder.send(request, timeout=10.0)
        except OSError as exc:
            log.error("the bot did not answer %s: %s", request.path, type(exc).__name__)
            return 503, respond(start_response, "503 Service Unavailable", b"podbot is not answering\n")
        content_type = reply.content_type or "text/plain; charset=utf-8"
        return reply.status, respond(
            start_response, f"{reply.status} {reply.reason}", reply.body, content_type
        )


def _listen(host: str, port: int) -> socket.socket:
    """The public listening socket, bound by the bot's process so that a taken port stops start-up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=1024)


class FrontProcess:
    """``podbot serve``'s handle on its ack front: start it, learn if it ends, stop it."""

    def __init__(
        self, process: subprocess.Popen[bytes], bot_socket: socket.socket, folder: str, url: str
    ) -> None:
        self.process = process
        self.bot_socket = bot_socket
        """The bot serves its HTTP app here (a Unix socket in a directory only this user can open)."""
        self.url = url
        self.on_exit: Callable[[], None] = lambda: None
        """Called when the front ends without being asked to (podbot then stops: nothing acks)."""
        self.failed = False
        self._folder = folder
        self._stopping = False
        self._ended = threading.Event()
        threading.Thread(target=self._wait, name="podbot-front-wait", daemon=True).start()

    @classmethod
    def start(cls, *, signing_secret: str, host: str, port: int, threads: int) -> FrontProcess:
        public = _listen(host, port)
        folder = tempfile.mkdtemp(prefix="podbot-")  # mode 0700
        path = os.path.join(folder, "bot.sock")
        bot = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            bot.bind(path)
            bot.listen(1024)  # the front's first forwards wait here until the bot serves
            argv = [
                sys.executable,
                "-m",
                "podbot.server.front",
                f"--listen-fd={public.fileno()}",
                f"--bot-socket={path}",
                f"--threads={threads}",
                f"--log-level={logging.getLevelName(logging.getLogger().getEffectiveLevel())}",
            ]
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, pass_fds=[public.fileno()])  # noqa: S603 - our own interpreter and module
            assert process.stdin is not None
            # The secret goes on a pipe, not the command line (which any user can read in ps); the
            # pipe stays open: its end-of-file tells the front that this process is gone.
            process.stdin.write(signing_secret.encode() + b"\n")
            process.stdin.flush()
        except BaseException:
            bot.close()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            bound = public.getsockname()
            public.close()
        url = f"http://{host if ':' not in host else f'[{host}]'}:{bound[1]}"
        log.debug("ack front (process %d) listening on %s", process.pid, url)
        return cls(process, bot, folder, url)

    def _wait(self) -> None:
        code = self.process.wait()
        self.failed = code != 0 or not self._stopping
        self._ended.set()
        if not self._stopping:
            log.error("the ack front ended on its own (exit code %d): podbot stops", code)
            self.on_exit()

    def stop(self, timeout: float) -> None:
        """Ask the front to finish (it answers new requests 503 and forwards what it acknowledged)."""
        self._stopping = True
        if not self._ended.is_set():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            if not self._ended.wait(timeout):
                log.warning("the ack front did not stop within %.0fs: killed", timeout)
                self.process.kill()
                self._ended.wait(1)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self.bot_socket.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def serve(public: socket.socket, bot_path: str, signing_secret: str, threads: int) -> int:
    """The front process: serve until SIGTERM (or until stdin closes: the bot is gone); its exit code."""
    stop, parent_gone, draining = threading.Event(), threading.Event(), threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the bot too, which stops us
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_parent() -> None:
        while os.read(0, 4096):  # b"" at end-of-file: the bot's end of the pipe closed
            pass
        if not stop.is_set():
            log.error("the bot's process is gone: the ack front stops")
            parent_gone.set()
            stop.set()

    threading.Thread(target=watch_parent, name="podbot-front-parent", daemon=True).start()
    forwarder = Forwarder(bot_path)
    wsgi = FrontWsgi(SlackGate(signing_secret), forwarder, draining.is_set)
    web = WebServer(wsgi, sockets=[public], threads=threads).start()
    sys.setswitchinterval(0.001)  # as the bot's: a request waits at most 1 ms for the lock
    stop.wait()
    draining.set()
    if parent_gone.is_set():
        return 1  # nothing can take what is queued
    delivered = forwarder.close(timeout=10.0)
    if not delivered:
        log.error("the ack front stopped with acknowledged requests not delivered to the bot")
    web.stop(timeout=5.0)
    return 0 if delivered else 1


def _read_line(fd: int) -> str:
    """One line from ``fd``, read unbuffered (the rest of the pipe is watched for its end)."""
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        line += chunk
    return line.rstrip(b"\n").decode()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m podbot.server.front", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--listen-fd", type=int, required=True, help="the bound public socket")
    parser.add_argument("--bot-socket", required=True, help="the bot's Unix socket")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    secret = _read_line(0)
    public = socket.socket(fileno=args.listen_fd)
    try:
        return serve(public, args.bot_socket, secret, args.threads)
    except Exception:
        log.exception("the ack front failed")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
