"""``podbot serve``: run the bot for a real workspace (HTTP mode, or Socket Mode with an app token)."""

from __future__ import annotations

import argparse
import ctypes
import gc
import logging
import os
import signal
import sys
import threading

from podbot.app import safety
from podbot.core.errors import ConfigError, PodbotError
from podbot.server.config import load_clock, load_settings, require_slack
from podbot.server.runtime import Runtime

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    limit_malloc_arenas()
    try:
        settings = load_settings(os.environ, args.config)
        socket_mode = args.socket_mode or bool(settings.slack.app_token)
        require_slack(settings, socket_mode=socket_mode)
        runtime = Runtime(settings, now=load_clock(os.environ, args.config))
    except PodbotError as exc:  # bad settings, an unreachable database or cluster: one clear line
        log.error("cannot start: %s", exc)
        return 2
    try:
        for warning in safety.check(settings, runtime.directory):
            log.warning("unsafe setting: %s", warning)
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        runtime.stop(timeout=5)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # HTTP serves /slack/events, and /healthz, /readyz, /metrics in both modes (probes, Prometheus).
    runtime.serve_http(args.host, args.port, slack_events=not socket_mode)
    if socket_mode:
        runtime.serve_socket_mode()
    tune_for_acks()
    stop.wait()
    log.info("shutting down: finishing in-flight work (up to %.0fs)", args.grace_seconds)
    # Runtime.stop keeps to the budget; should anything still hang, the pod's grace period is a
    # hard limit anyway (then SIGKILL), so end the process ourselves a little after the budget.
    watchdog = threading.Timer(args.grace_seconds + 5, _exit_now)
    watchdog.daemon = True
    watchdog.start()
    runtime.stop(timeout=args.grace_seconds)
    log.info("stopped")
    return 0


def tune_for_acks() -> None:
    """Keep garbage collection and the workers' CPU off the ack path (bench/slack_acks.py).

    Everything alive after start-up (modules, clients, the app: ~0.5 million objects) moves out of
    the collector's reach, so a full collection no longer pauses every thread for ~100 ms; and a
    thread that asks for the interpreter lock gets it within 1 ms instead of 5 ms, so an ack does
    not wait behind workers rendering answers."""
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.001)


_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Let glibc's malloc keep at most ``arenas`` heaps, before any thread starts.

    By default glibc gives threads up to eight heaps per core, and each keeps freed memory of its
    own: podbot's threads (HTTP, workers, watches, scheduler) left ~4 MiB more resident at 50,000
    pods than two shared heaps do (bench/digest.py), for no measurable speed. Python's small objects
    do not go through malloc, so the shared heaps are rarely contended. ``MALLOC_ARENA_MAX`` in the
    environment, if set, wins (glibc reads it itself); elsewhere than glibc this does nothing."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_ARENA_MAX, arenas)


def _exit_now() -> None:
    log.error("shutdown did not finish in time; exiting")
    logging.shutdown()
    os._exit(1)
