"""Loopback helpers: ports, GETs, and HTTP servers that stop at once, for tests and benches."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

# The Slack emulator's server class, reused: the emulators each keep their own copy (they import
# nothing of each other or of podbot), but the tests may use theirs.
from podbot.localslack.server import PromptShutdown


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


class QuickHTTPServer(PromptShutdown, ThreadingHTTPServer):
    """``ThreadingHTTPServer`` for a test's own endpoint; its ``shutdown()`` is immediate."""

    daemon_threads = True
