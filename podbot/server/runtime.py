"""The composition root: the one place that builds podbot's components and wires them together.

Each component gets what it needs through its constructor, in dependency order, and nothing
reaches into another afterwards:

    store, clusters, Slack client  ->  messenger, people, identities, audit trail
    -> the flows (approvals, subscriptions, digests poster, alert reconciler: the handlers)
    -> gate + pipeline (handlers by request type)
    -> what submits requests: the bolt listeners, the approval sweeper, the digest runner, the
       alert fan-out  ->  leadership over the leader-only tasks  ->  the HTTP server

``podbot serve`` and ``podbot demo`` both build a ``Runtime``; only where the settings point
differs (a real cluster and Slack, or the simulator and the local emulator).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from podbot.app.approvals import SWEEP_SECONDS, ApprovalFlow, ApprovalSweeper
from podbot.app.audit import AuditTrail, AuditView, IntentRecovery
from podbot.app.gate import Gate
from podbot.app.identity import SlackIdentities
from podbot.app.operations import KubeOperations
from podbot.app.pipeline import Handler, Pipeline
from podbot.app.subscriptions import ChannelVerbs
from podbot.core.errors import PodbotError
from podbot.core.model import PostDigest, ReconcileAlerts, ShowAudit
from podbot.core.settings import Settings
from podbot.jobs.alerts import AlertChannels, AlertFanout, AlertReconciler
from podbot.jobs.digests import DigestPoster, Digests, DigestScheduler
from podbot.jobs.leadership import Leadership, LeaderTask, build_leadership, replica_identity
from podbot.k8s.client import Clusters
from podbot.k8s.watch import ClusterCaches
from podbot.server.web import PodbotWsgi
from podbot.server.wsgi import WebServer
from podbot.slack.app import Listeners, build_app
from podbot.slack.delivery import Replies, SlackMessenger
from podbot.slack.directory import Directory
from podbot.slack.web_client import make_post_client, make_web_client
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
        sweep_seconds: float = SWEEP_SECONDS,
        extra_leader_tasks: Sequence[LeaderTask] = (),
    ) -> None:
        self.settings = settings
        self.now = now
        # The database first: an unreachable database or a schema newer than this podbot must stop
        # start-up with a clear message before anything talks to Slack.
        self.store = store = Store.open(settings.database_url)
        store.migrate()
        self.clusters = clusters = Clusters(
            settings.kube.kubeconfig,
            in_cluster=settings.kube.in_cluster,
            default_context=settings.kube.default_context,
            timeout=settings.kube.timeout_seconds,
        )
        self.client = make_web_client(settings.slack.bot_token.reveal(), settings.slack.api_url)
        self.directory = Directory(self.client)
        # chat.postMessage gets a client without blind retries: an uncertain post is settled instead.
        posts = make_post_client(settings.slack.bot_token.reveal(), settings.slack.api_url)
        self.messenger = messenger = SlackMessenger(self.client, posts)
        identity = replica_identity(settings.leader_election.identity)  # unique per process
        # Changes are written down (intents) before they are made; the audit log settles them.
        audit = AuditTrail(store.audit, now, intents=store.audit, owner=identity)

        # The handlers: the flows behind each kind of request.
        self.approvals = ApprovalFlow(settings, store.approvals, messenger, self.directory, audit, now=now)
        self.scheduler = DigestScheduler(settings, store.subscriptions, store.engine, now=now)
        self.alert_channels = AlertChannels(store.channels)
        verbs = ChannelVerbs(
            store.subscriptions,
            store.channels,
            self.scheduler,
            self.alert_channels,
            default_context=clusters.default_context,
            now=now,
        )
        self.caches = caches = ClusterCaches(clusters, now=now, namespaces=settings.digests.watch_namespaces)
        self.poster = poster = DigestPoster(
            settings,
            store.subscriptions,
            store.claims,
            caches,
            messenger,
            store.posts,
            owner=identity,
            now=now,
        )
        reconciler = AlertReconciler(settings, store.alerts, messenger, store.posts, now=now)
        handlers: dict[type, Handler] = {
            **KubeOperations(now).handlers(),
            **self.approvals.handlers(),
            **verbs.handlers(),
            ShowAudit: AuditView(store.audit, self.directory, now).show,
            PostDigest: poster.post,
            ReconcileAlerts: reconciler.reconcile,
        }

        # The one road: every entry path below submits typed requests here.
        identities = SlackIdentities(settings, self.directory)
        gate = Gate(settings, clusters, identities, store.approvals, self.directory)
        self.pipeline = pipeline = Pipeline(
            settings, gate, handlers, audit, hold=self.approvals.request_create
        )

        self.pool = WorkPool(settings.workers)
        replies = Replies(messenger, self.pool, pipeline.locale, now)
        self._listeners = Listeners(
            pipeline,
            replies,
            self.client,
            settings.slack.bot_token.reveal(),
            post_seen=self._post_seen,
        )
        recovery = IntentRecovery(audit, store.audit, clusters, now)
        self.sweeper = ApprovalSweeper(self.approvals, pipeline, sweep_seconds, recovery=recovery)
        self.digests = Digests(
            settings, self.scheduler, poster, pipeline, store.subscriptions, store.claims, caches, now=now
        )
        self.alerts = AlertFanout(self.alert_channels, reconciler, pipeline, caches)
        # Leader-only work; the watch caches start with the digests (the alerts read them too).
        tasks = [
            LeaderTask("digests", self.digests.start, self.digests.stop),
            LeaderTask("alerts", self.alerts.start, self.alerts.stop),
            *extra_leader_tasks,
        ]
        self.leadership: Leadership = build_leadership(
            settings.leader_election,
            identity,
            tasks,
            dialect=store.dialect,
            leases=store.leases,
            kube=clusters.get,
            now=now,
        )
        self._token_verification = token_verification
        self._app: App | None = None
        self.web: WebServer | None = None
        self._socket: Any = None
        self._draining = threading.Event()
        # Every replica sweeps approvals (the store's compare-and-set makes each step happen once);
        # its first sweep, right away, catches what expired while podbot was down.
        self.sweeper.start()

    def _post_seen(self, key: str, channel: str, ts: str) -> None:
        """Slack's message_metadata_posted event for one of our posts: the ledger has its ts (an
        approval card also goes to its request: one whose post was unconfirmed gets repaired)."""
        self.store.posts.posted(key, ts, channel_id=channel, now=self.now())
        kind, _, ident = key.partition(":")
        if kind == "approval" and ident.isdigit():
            self.approvals.card_seen(int(ident), channel, ts)

    @property
    def app(self) -> App:
        """The bolt App (built on first use)."""
        if self._app is None:
            self._app = build_app(
                self._listeners,
                self.client,
                signing_secret=self.settings.slack.signing_secret.reveal(),
                token_verification=self._token_verification,
                listener_threads=max(4, self.settings.workers // 2),
            )
        return self._app

    def wakeup(self) -> None:
        """Look at the clock again now (after ``sim.advance`` in tests and the demo)."""
        self.digests.wakeup()
        self.alerts.wakeup()
        self.sweeper.wake()

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
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        slack_events: bool = True,
        behind_front: socket.socket | None = None,
    ) -> WebServer:
        """/slack/events (``slack_events=False`` in Socket Mode), /healthz, /readyz, /metrics: on
        ``host``:``port``, or on the Unix socket the ack front forwards to (server/front.py)."""
        wsgi = PodbotWsgi(
            self.app,
            self.readiness,
            self._draining.is_set,
            signing_secret=self.settings.slack.signing_secret.reveal(),
            slack_events=slack_events,
            behind_front=behind_front is not None,
        )
        self.web = WebServer(
            wsgi,
            host or self.settings.host,
            self.settings.port if port is None else port,
            threads=self.settings.http_threads,
            sockets=[behind_front] if behind_front is not None else (),
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
        self.sweeper.stop()
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
