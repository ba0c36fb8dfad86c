"""Assembles a running podbot from ``Settings``: clusters, Slack client, pipeline, app, servers.

``podbot serve`` and ``podbot demo`` both build a ``Runtime``; only where the settings point
differs (a real cluster and Slack, or the simulator and the local emulator).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler

from podbot.app import approvals
from podbot.app.pipeline import AuditSink, Podbot
from podbot.core.errors import PodbotError
from podbot.core.settings import Settings
from podbot.jobs.digests import install as install_digests
from podbot.jobs.leadership import LeaderTask
from podbot.jobs.leadership import install as install_leadership
from podbot.k8s.client import Clusters
from podbot.server.web import PodbotWsgi, WebServer
from podbot.slack.app import SlackBot, build_app
from podbot.slack.directory import Directory
from podbot.slack.web_client import make_web_client
from podbot.slack.work import WorkPool
from podbot.store.store import Store

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        now: Callable[[], datetime] = utc_now,
        token_verification: bool = True,
        audit: AuditSink | None = None,
    ) -> None:
        self.settings = settings
        self.now = now
        # The database first: an unreachable database or a schema newer than this podbot must stop
        # start-up with a clear message before anything talks to Slack.
        self.store = Store.open(settings.database_url)
        revision = self.store.migrate()
        log.info("database %s at schema revision %s", self.store.url, revision)
        self.clusters = Clusters(
            settings.kube.kubeconfig,
            in_cluster=settings.kube.in_cluster,
            default_context=settings.kube.default_context,
            timeout=settings.kube.timeout_seconds,
        )
        self.client = make_web_client(settings.slack.bot_token.reveal(), settings.slack.api_url)
        self.directory = Directory(self.client)
        self.pool = WorkPool(settings.workers)
        self.bot = Podbot(settings, self.clusters, now=now, audit=audit or self.store.audit)
        self.slack = SlackBot(self.bot, self.pool, self.client, settings.slack.bot_token.reveal())
        self._token_verification = token_verification
        self._app: Any = None
        self.web: WebServer | None = None
        self._socket: Any = None
        self._draining = threading.Event()
        self.leader_tasks: list[LeaderTask] = []
        """Leader-only work (scheduler, watchers, alert fan-out): runs on the elected replica only.
        Components append a ``LeaderTask(name, start, stop)`` from their install();
        see podbot.jobs.leadership."""
        # The components, each wired by one install(): they register handlers, listeners and tasks.
        self.approvals = approvals.install(self)  # deletes behind approvals, audit view, per-user identity
        self.digests = install_digests(
            self
        )  # subscriptions and alerts; watchers and scheduler as leader tasks
        self.leadership = install_leadership(self)  # runs the leader tasks here only while this replica leads

    @property
    def app(self) -> Any:
        """The bolt App (built on first use, after every registrar was added)."""
        if self._app is None:
            self._app = build_app(
                self.slack,
                signing_secret=self.settings.slack.signing_secret.reveal(),
                token_verification=self._token_verification,
                listener_threads=max(4, self.settings.workers // 2),
            )
        return self._app

    def readiness(self) -> dict[str, str]:
        """What /readyz reports: the default cluster's API and the database answer."""
        checks: dict[str, str] = {}
        try:
            self.clusters.get().version()
            checks["kubernetes"] = "ok"
        except PodbotError as exc:
            checks["kubernetes"] = exc.message
        checks["database"] = "ok" if self.store.ping() else "unreachable"
        return checks

    def serve_http(
        self, host: str | None = None, port: int | None = None, *, slack_events: bool = True
    ) -> WebServer:
        """/slack/events (``slack_events=False`` in Socket Mode), /healthz, /readyz, /metrics."""
        wsgi = PodbotWsgi(self.app, self.readiness, self._draining.is_set, slack_events=slack_events)
        self.web = WebServer(
            wsgi,
            host or self.settings.host,
            self.settings.port if port is None else port,
            threads=max(8, self.settings.workers),
        ).start()
        self.leadership.start()
        log.info("podbot listening on %s (Slack request URL: %s/slack/events)", self.web.url, self.web.url)
        return self.web

    def serve_socket_mode(self) -> None:
        self._socket = SocketModeHandler(self.app, self.settings.slack.app_token.reveal())
        self._socket.connect()
        self.leadership.start()
        log.info("podbot connected to Slack in Socket Mode")

    def stop(self, timeout: float = 20.0) -> None:
        """Graceful, within ``timeout`` seconds in all: refuse new work (/readyz and /slack/events
        answer 503), stop the leader-only work and release the Lease (another replica takes over
        while this one drains), finish the acks and posts in flight, close connections."""
        deadline = time.monotonic() + timeout

        def left(at_most: float = timeout) -> float:
            return max(0.1, min(at_most, deadline - time.monotonic()))

        self._draining.set()
        self.approvals.stop()
        if self._socket is not None:
            self._socket.close()
        self.leadership.stop(timeout=left(timeout / 2))
        finished = self.pool.shutdown(left())
        if not finished:
            log.warning("stopped with work still in flight after %.0fs", timeout)
        if self.web is not None:
            self.web.stop(timeout=left(5))
        self.leadership.close()
        self.clusters.close()
        self.store.close()
