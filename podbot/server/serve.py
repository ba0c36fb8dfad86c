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
import time

from podbot.app import safety
from podbot.core.errors import ConfigError, PodbotError
from podbot.core.settings import Settings
from podbot.server.config import load_clock, load_settings, require_slack
from podbot.server.front import FrontProcess
from podbot.server.runtime import Runtime

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    tune_malloc()
    front: FrontProcess | None = None
    try:
        settings = load_settings(os.environ, args.config)
        socket_mode = args.socket_mode or bool(settings.slack.app_token)
        require_slack(settings, socket_mode=socket_mode)
        if settings.ack_front and not socket_mode:
            front = start_front(settings, args)  # first: a taken port stops start-up at once
            # Before the bot starts a thread: on Linux a niceness is per thread, and new threads
            # take their creator's.
            os.nice(WORK_NICENESS)
        runtime = Runtime(settings, now=load_clock(os.environ, args.config))
    except PodbotError as exc:  # bad settings, an unreachable database or cluster: one clear line
        log.error("cannot start: %s", exc)
        if front is not None:
            front.stop(timeout=5)
        return 2
    try:
        for warning in safety.check(settings, runtime.directory):
            log.warning("unsafe setting: %s", warning)
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        if front is not None:
            front.stop(timeout=5)
        runtime.stop(timeout=5)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # HTTP serves /slack/events, and /healthz, /readyz, /metrics in both modes (probes, Prometheus).
    if front is not None:
        front.on_exit = stop.set
        runtime.serve_http(slack_events=True, behind_front=front.bot_socket)
        log.info("podbot listening on %s (Slack request URL: %s/slack/events)", front.url, front.url)
    else:
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
    started = time.monotonic()
    if front is not None:
        # The front first: it stops taking requests and hands the bot what it acknowledged.
        front.stop(timeout=args.grace_seconds / 2)
    runtime.stop(timeout=max(1.0, args.grace_seconds - (time.monotonic() - started)))
    log.info("stopped")
    return 1 if front is not None and front.failed else 0


WORK_NICENESS = 10
"""Behind the ack front, the bot runs at this niceness (the front at the default, 0): when the
container's CPU is all taken, the scheduler gives it to the acks first and to the bot's work (the
answers, digests, alerts) after, so a burst of work never delays an ack (bench/slack_acks.py, both
processes on one core: ack p99 2.5-2.8x the bare bolt app's at niceness 0, 0.9-1.2x at 10). It
changes nothing while there is CPU to spare."""


def start_front(settings: Settings, args: argparse.Namespace) -> FrontProcess:
    """Start the ack front on the public address; a taken port stops start-up with one line."""
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    try:
        return FrontProcess.start(
            signing_secret=settings.slack.signing_secret.reveal(),
            host=host,
            port=port,
            threads=settings.http_threads,
        )
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def tune_for_acks() -> None:
    """Keep garbage collection and the workers' CPU off the ack path (bench/slack_acks.py).

    Everything alive after start-up (modules, clients, the app: ~0.5 million objects) moves out of
    the collector's reach, so a full collection no longer pauses every thread for ~100 ms; and a
    thread that asks for the interpreter lock gets it within 1 ms instead of 5 ms, so an ack does
    not wait behind workers rendering answers."""
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.001)


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
_M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 128 * 1024


def tune_malloc(arenas: int = 2) -> None:
    """Make glibc's malloc give memory back, before any thread starts.

    * At most ``arenas`` heaps: by default glibc gives threads up to eight heaps per core, and each
      keeps freed memory of its own: podbot's threads (HTTP, workers, watches, scheduler) left
      ~4 MiB more resident at 50,000 pods than two shared heaps do, for no measurable speed.
      Python's small objects do not go through malloc, so the shared heaps are rarely contended.
    * Blocks of 128 KiB and more always get pages of their own, returned when freed: glibc starts
      there but raises the threshold to the largest block freed so far (up to 32 MiB), after which
      the watch's ~1.5 MB list pages come from the heap and leave it fragmented (~3 MiB more
      resident at 50,000 pods; the sync is no slower: one mmap per page).

    ``MALLOC_ARENA_MAX`` / ``MALLOC_MMAP_THRESHOLD_`` in the environment, if set, win (glibc reads
    them itself); elsewhere than glibc this does nothing (bench/digest.py measures both)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(_M_ARENA_MAX, arenas)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def _exit_now() -> None:
    log.error("shutdown did not finish in time; exiting")
    logging.shutdown()
    os._exit(1)
