"""The chaos run: nothing lost, nothing doubled, under faults and restarts (a script that prints figures).

    nice timeout 900 .venv/bin/python bench/chaos.py --minutes 30 --speed 10 --seed 1 --replicas 3

Three ``python -m podbot serve`` replicas (leader election on a Lease) on PostgreSQL (a fresh schema
on 127.0.0.1:5432, reached through a TcpProxy so the database can be cut) against one podbot.sim and
one podbot.localslack in this process. Time is simulated and sped up: the sim runs at ``--speed``
and every replica gets the same ``clock: {epoch, speed}`` in its configuration file, so they agree.

A steady load (seeded): slash commands from alice and carol (get/describe/logs/run/delete), bob
approving the delete requests, a digest subscription every 5 simulated minutes, and pods with a
bad image so alerts fire. Meanwhile, one fault every few seconds, cycling through every kind in a
seeded order: Kubernetes API 5xx/429/slow/410, Slack 429/5xx/timeouts and "stored, then 5xx /
dropped", a database cut, SIGKILL of the leader and of a random replica (restarted a few seconds
later, as an orchestrator would).

The figures come from the emulators' own records: localslack's messages and response_urls, the
requests the sim served (recorded by wrapping its HTTP entry point), and the bench's own record of
what the people did (commands sent, Approve pressed). Only "changes without an audit record" reads
podbot's database (its audit table). Exit status 1 when any counted figure is not 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg
from sqlalchemy import text

from podbot.core.model import DigestKind
from podbot.core.records import ChannelSettings, Schedule
from podbot.localslack import LocalSlack, Message, Workspace
from podbot.localslack.history import StoredMessage
from podbot.sim.cluster import SimCluster
from podbot.sim.wire.transport import Request
from podbot.slack.manifest import app_manifest
from podbot.store import Store
from tests.support.net import free_port, http_get
from tests.support.tcpproxy import TcpProxy

POSTGRES = os.environ.get("PODBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LEASE = {"lease_duration_seconds": 3, "renew_deadline_seconds": 2, "retry_period_seconds": 0.5}
# An answer lost by a replica SIGKILLed within this many seconds after its ack is shown apart, not
# counted: Slack never delivers a slash command again, so no replica can answer it (see report()).
KILLED_WITHIN = 10.0
DIGEST_EVERY = 300  # simulated seconds (the command's own floor for real channels)
APPROVE = "approval_approve"  # the Approve button's action_id (its label depends on the locale)
CARD = r":warning: (?:Delete request|删除请求) #(\d+)"  # a delete request card (carol reads Chinese)
POD = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?$")
# What counts: a non-zero figure here fails the run.
COUNTED = (
    "answers lost",
    "digests missed",
    "digests doubled",
    "alerts doubled",
    "approval cards doubled",
    "approval cards that do not tell the truth",
    "deletes without an approval",
    "deletes of the wrong uid",
    "changes without an audit record",
)
FAULTS = (
    "k8s 5xx",
    "k8s 429",
    "k8s slow",
    "k8s 410",
    "slack 429",
    "slack 5xx",
    "slack timeout",
    "slack stored then 5xx",
    "slack stored then dropped",
    "database cut",
    "kill leader",
    "kill replica",
)
SLACK_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema, dropped afterwards (as tests/support/stores.py does, without pytest)."""
    name = f"podbot_chaos_{uuid.uuid4().hex[:12]}"
    libpq = POSTGRES.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]
    try:
        yield name
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


# --- what the emulators and the people did ------------------------------------------------------
@dataclass(frozen=True)
class Served:
    """One mutating pod request the sim answered (its own record, from its HTTP entry point)."""

    at: float  # real time.monotonic()
    method: str
    namespace: str
    name: str
    status: int
    precondition_uid: str | None
    uid: str | None  # the object in the answer (the pod created or deleted)


def record_requests(sim: SimCluster, served: list[Served]) -> None:
    """Wrap the sim's HTTP entry point (before it starts) to record every pod create and delete."""
    handle = sim.api.http.app

    def recording(req: Request) -> Any:
        response = handle(req)
        match = POD.match(req.path.rstrip("/"))
        if req.method in ("POST", "DELETE") and match and req.param("dryRun") == "":
            body = _json(req.body)
            answer = _json(getattr(response, "body", b""))
            name = match.group(2) or str((body.get("metadata") or {}).get("name") or "")
            served.append(
                Served(
                    time.monotonic(),
                    req.method,
                    match.group(1),
                    name,
                    response.status,
                    (body.get("preconditions") or {}).get("uid"),
                    (answer.get("metadata") or {}).get("uid"),
                )
            )
        return response

    sim.api.http.app = recording


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class Sent:
    """A slash command as the user typed it, and what Slack saw of the bot's ack."""

    at: float
    user: str
    channel: str
    text: str
    replica: str
    delivered: bool  # the bot acked (else the user saw Slack's own error: nothing to answer)
    response_path: str
    acked_in_body: bool
    seq: int  # localslack's history cursor when it was sent


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    killed_at: list[float] = field(default_factory=list)
    restart_at: float = 0.0  # when the "orchestrator" starts it again (0: not dead, or not noticed yet)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def is_leader(self) -> bool:
        status, metrics = http_get(f"{self.url}/metrics", timeout=1.0)
        return status == 200 and re.search(r"^podbot_leader 1\.0$", metrics, re.M) is not None


# --- the run ------------------------------------------------------------------------------------
class Chaos:
    def __init__(self, *, minutes: float, speed: float, seed: int, replicas: int, workdir: Path) -> None:
        if speed <= 1:
            raise ValueError("--speed must be greater than 1")
        self.minutes, self.speed, self.replica_count = minutes, speed, replicas
        self.rng = random.Random(seed)  # the people's steps
        self.fault_rng = random.Random(seed + 1)  # the faults (their own thread)
        self.workdir = workdir
        self.served: list[Served] = []
        self.sent: list[Sent] = []
        self.approved: dict[tuple[str, str], tuple[float, str]] = {}  # pod -> (pressed at, uid asked)
        self.asked: dict[tuple[str, str], str] = {}  # pod -> uid when /pod delete was typed
        self.clicked: set[str] = set()  # cards (ts) where a press of bob's was delivered
        self.pressed_at: dict[str, float] = {}  # card ts -> bob's last press
        self.faults: list[tuple[float, str]] = []
        self.replicas: list[Replica] = []
        self.deliver = threading.Lock()  # localslack has one request URL at a time
        self.counter = 0
        self.stopping = threading.Event()
        self.processes = threading.Lock()  # kills (fault thread) and restarts (main thread)
        self.closed = False
        self.timers: list[threading.Timer] = []

    # --- set-up ---------------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        sim = SimCluster(speed=self.speed)
        record_requests(sim, self.served)  # before it starts serving
        # Slack on the same sped-up clock as the cluster and the bot: its event retries (1 and 5
        # minutes) and podbot's settle grace (digests.settle_seconds) keep their real proportion.
        workspace = Workspace.demo(clock=sim.clock.time)
        with postgres_schema() as schema, sim, LocalSlack(workspace) as slack:
            self.sim, self.slack = sim, slack
            # The app as `podbot manifest --url` describes it: with its message_metadata_posted
            # subscription, which is how podbot learns that a post Slack did not confirm was stored.
            slack.install(app_manifest("https://podbot.test"))
            proxy = TcpProxy("127.0.0.1", 5432).start()
            self.proxy = proxy
            host_url = POSTGRES.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            self.database_url = f"{host_url}?options=-csearch_path%3D{schema}"
            direct = f"{POSTGRES}?options=-csearch_path%3D{schema}"
            try:
                self.prepare(direct)
                self.start_replicas()
                self.load_and_faults()
                self.settle()
                return self.count(direct)
            finally:
                self.stopping.set()
                for timer in self.timers:
                    timer.cancel()
                with self.processes:
                    self.closed = True
                for replica in self.replicas:
                    if replica.alive():
                        replica.process.kill()
                    replica.process.wait(10)
                proxy.stop()

    def sim_now(self) -> datetime:
        return self.sim.clock.now()

    def prepare(self, database_url: str) -> None:
        """The subscription and the alert channel, as `/pod subscribe` and `/pod alerts on` would."""
        # sim = epoch + (real - epoch) * speed  =>  epoch = (sim - speed * real) / (1 - speed)
        self.epoch = (self.sim.clock.time() - self.speed * time.time()) / (1 - self.speed)
        ws = self.slack.workspace
        store = Store.open(database_url)
        try:
            store.migrate()
            self.created = self.sim_now()
            self.subscription = store.subscriptions.create(
                team_id=ws.team.id,
                channel_id=ws.channel("dev").id,
                kind=DigestKind.HEALTH,
                schedule=Schedule(every_seconds=DIGEST_EVERY),
                created_by=ws.user("alice").id,
                now=self.created,
            )
            store.channels.save(
                ChannelSettings(channel_id=ws.channel("ops").id, team_id=ws.team.id, alerts_enabled=True),
                by=ws.user("bob").id,
                now=self.created,
            )
        finally:
            store.close()

    def config(self) -> Path:
        path = self.workdir / "podbot.yaml"
        sre = self.slack.workspace.usergroup("sre").id
        path.write_text(
            'channels:\n  - channel: "*"\n'
            f"approvals:\n  approvers:\n    - namespaces: ['*']\n      usergroups: [{sre}]\n"
            "  expiry_seconds: 3600\n"
            "leader_election:\n  enabled: true\n  lease_name: podbot\n"
            + "".join(f"  {key}: {value}\n" for key, value in LEASE.items())
            + "digests:\n  claim_stale_seconds: 60\n"
            + f"clock:\n  epoch: {self.epoch!r}\n  speed: {self.speed!r}\n"
        )
        return path

    def start_replicas(self) -> None:
        config = self.config()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PODBOT_", "KUBE"))}
        env.update({k: v for k, v in self.slack.bot_settings().env().items() if k != "SLACK_APP_TOKEN"})
        env.update(
            {
                "KUBECONFIG": str(self.sim.kubeconfig_path),
                "DATABASE_URL": self.database_url,
                "PODBOT_CONFIG": str(config),
                "POD_NAMESPACE": "default",
                "PYTHONPATH": str(ROOT),
            }
        )
        self.env = env
        for i in range(self.replica_count):
            self.replicas.append(self.spawn(f"replica-{i}"))
        for replica in self.replicas:
            self.wait_ready(replica, 90)

    def spawn(self, name: str) -> Replica:
        port = free_port()
        log = self.workdir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "podbot", "serve", "--port", str(port), "--grace-seconds", "5"],
                env={**self.env, "POD_NAME": name},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        return Replica(name, port, process, log)

    def wait_ready(self, replica: Replica, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping.is_set():
            if http_get(f"{replica.url}/readyz")[0] == 200:
                return True
            self.supervise()
            time.sleep(0.2)
        return False

    def supervise(self) -> None:
        """The orchestrator: a dead replica (killed, or failed at start-up, e.g. while the database
        was cut) is started again a few seconds after it died."""
        with self.processes:
            for replica in self.replicas:
                if self.closed or replica.alive():
                    continue
                if not replica.restart_at:
                    replica.restart_at = time.monotonic() + 2.0
                elif time.monotonic() >= replica.restart_at:
                    fresh = self.spawn(replica.name)
                    replica.port, replica.process, replica.restart_at = fresh.port, fresh.process, 0.0

    # --- load and faults ------------------------------------------------------------------------
    def load_and_faults(self) -> None:
        real_seconds = self.minutes * 60 / self.speed
        self.started = time.monotonic()
        end = self.started + real_seconds
        self.load_end_sim = self.created + timedelta(seconds=self.minutes * 60)
        faults = threading.Thread(target=self.inject_faults, args=(end,), name="chaos-faults", daemon=True)
        faults.start()
        at_digests = threading.Thread(
            target=self.digest_faults, args=(end,), name="chaos-digests", daemon=True
        )
        at_digests.start()
        while time.monotonic() < end:
            self.step()
            self.supervise()
            time.sleep(0.4)
        self.stopping.set()
        faults.join(30)
        at_digests.join(30)
        self.stopping.clear()

    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive()]

    def serving(self) -> list[Replica]:
        """Where a Service would send Slack's requests: replicas that are up and listening. Not
        /readyz: a readiness probe takes several failed periods to notice a short database cut."""
        return [r for r in self.live() if http_get(f"{r.url}/healthz", timeout=1.0)[0] == 200]

    def send_command(self, user: str, channel: str, command_text: str) -> None:
        targets = self.serving()
        if not targets:
            return
        replica = self.rng.choice(targets)
        with self.deliver:
            self.slack.use_http(f"{replica.url}/slack/events")
            seq = self.slack.mark()
            result = self.slack.send_command(user, channel, "/pod", command_text)
        path = result.response_url.removeprefix(self.slack.workspace.origin)
        self.sent.append(
            Sent(
                time.monotonic(),
                user,
                channel,
                command_text,
                replica.name,
                result.reply.ok,
                path,
                result.ack_message is not None,
                seq,
            )
        )

    def click(self, user: str, card: Message, button: str) -> bool:
        targets = self.serving()
        if not targets:
            return False
        replica = self.rng.choice(targets)
        with self.deliver:
            self.slack.use_http(f"{replica.url}/slack/events")
            result = self.slack.click(user, card, button, confirm=True)
        return bool(result.reply is not None and result.reply.ok)

    def pods(self, prefix: str) -> list[dict[str, Any]]:
        found = self.sim.store.list("pods", "default", lambda s: s.name.startswith(prefix))[0]
        return [stored.load() for stored in found]

    def step(self) -> None:
        """One thing a person does (weights: mostly reads, some runs, deletes and approvals)."""
        user = self.rng.choice(("alice", "carol"))
        roll = self.rng.random()
        web = [p for p in self.pods("web-") if not p["metadata"].get("deletionTimestamp")]
        bad = [p for p in self.pods("bad-") if not p["metadata"].get("deletionTimestamp")]
        if roll < 0.25:
            self.send_command(user, "ops", "get pods")
        elif roll < 0.35 and web:
            self.send_command(user, "ops", f"describe pod {self.rng.choice(web)['metadata']['name']}")
        elif roll < 0.45 and web:
            self.send_command(user, "ops", f"logs {self.rng.choice(web)['metadata']['name']}")
        elif roll < 0.65:
            self.counter += 1
            if self.counter % 5 == 0:  # a pod that breaks: the image does not exist, so an alert fires
                self.send_command(user, "ops", f"run bad-{self.counter} --image=nginx:no-such-tag")
                if self.rng.random() < 0.5:  # and the alert's post may be stored, then fail
                    self.faults.append((time.monotonic(), "slack stored then 5xx (at an alert)"))
                    self.slack.faults.store_then_fail("chat.postMessage", status=503)
            else:
                self.send_command(user, "ops", f"run web-{self.counter} --image=nginx:1.16")
        elif roll < 0.80:
            # Broken pods get deleted too: their alert resolves, and the next one opens a new episode.
            candidates = [p for p in web + bad if ("default", p["metadata"]["name"]) not in self.asked]
            if candidates:
                pod = self.rng.choice(candidates)["metadata"]
                self.asked[("default", pod["name"])] = pod["uid"]
                self.send_command(user, "ops", f"delete pod {pod['name']}")
        else:
            self.approve_cards()

    def approve_cards(self) -> None:
        """bob presses Approve on every delete request card that offers it. A card still offering
        it 5 s after his press (he was told the database is down, or his press was lost) gets
        pressed again, as a person would."""
        for card in self.slack.messages("ops", user="bob", threads=False):
            if not card.is_bot or not card.has_button(APPROVE):
                continue
            if time.monotonic() - self.pressed_at.get(card.ts, -1e9) < 5.0:
                continue
            found = re.search(CARD + r".*?((?:web|bad)-\d+)", card.text, re.S)
            if found is None:
                continue
            pod = ("default", found.group(2))
            uid = self.asked.get(pod, "")
            pressed = self.pressed_at[card.ts] = time.monotonic()
            if self.click("bob", card, APPROVE):
                self.clicked.add(card.ts)
            # The approval exists from the moment bob pressed the button, delivered or not.
            self.approved.setdefault(pod, (pressed, uid))

    def inject_faults(self, end: float) -> None:
        order: list[str] = []
        while not self.stopping.is_set() and time.monotonic() < end:
            if not order:
                order = list(FAULTS)
                self.fault_rng.shuffle(order)
            self.stopping.wait(self.fault_rng.uniform(1.5, 4.0))
            if self.stopping.is_set():
                return
            kind = order.pop()
            self.faults.append((time.monotonic(), kind))
            self.fault(kind)

    def digest_faults(self, end: float) -> None:
        """Just before each digest falls due, the next chat.postMessage is stored and then fails
        (or its answer is lost or late): random faults alone rarely hit the one post a digest makes."""
        rng = random.Random(self.fault_rng.random())
        due = self.created + timedelta(seconds=DIGEST_EVERY)
        while not self.stopping.is_set() and time.monotonic() < end:
            wait = (due - timedelta(seconds=2) - self.sim_now()).total_seconds() / self.speed
            if self.stopping.wait(max(0.0, wait)):
                return
            kind = rng.choice(("slack stored then 5xx", "slack stored then dropped", "slack timeout"))
            self.faults.append((time.monotonic(), f"{kind} (at a digest)"))
            if kind == "slack stored then 5xx":
                self.slack.faults.store_then_fail("chat.postMessage", status=rng.choice((500, 503)))
            elif kind == "slack stored then dropped":
                self.slack.faults.store_then_drop("chat.postMessage")
            else:
                self.slack.faults.stall("chat.postMessage", seconds=rng.uniform(3.0, 8.0))
            due += timedelta(seconds=DIGEST_EVERY)

    def fault(self, kind: str) -> None:
        rng, sim, slack = self.fault_rng, self.sim, self.slack
        method = rng.choice(SLACK_METHODS)
        if kind == "k8s 5xx":
            sim.faults.fail(rng.choice((500, 502, 503, 504)), count=rng.randint(1, 3))
        elif kind == "k8s 429":
            sim.faults.fail(429, count=rng.randint(1, 3))
        elif kind == "k8s slow":
            sim.faults.slow(rng.choice((1.0, 2.0, 4.0)), count=rng.randint(1, 3))
        elif kind == "k8s 410":
            sim.faults.expire_watches(count=1)
            sim.faults.compact()
            sim.faults.drop_watches()
        elif kind == "slack 429":
            slack.faults.ratelimit(method, retry_after=1)
        elif kind == "slack 5xx":
            slack.faults.http_status(method, rng.choice((500, 502, 503)))
        elif kind == "slack timeout":
            slack.faults.drop_connection(method)
        elif kind == "slack stored then 5xx":
            slack.faults.store_then_fail(method, status=rng.choice((500, 503)))
        elif kind == "slack stored then dropped":
            if rng.random() < 0.5:
                slack.faults.store_then_drop(method)
            else:
                slack.faults.stall(method, seconds=rng.uniform(3.0, 8.0))
        elif kind == "database cut":
            self.proxy.cut()
            timer = threading.Timer(rng.uniform(3.0, 8.0), self.proxy.restore)
            self.timers.append(timer)
            timer.start()
        elif kind == "kill leader":
            leader = next((r for r in self.live() if r.is_leader()), None)
            if leader is not None:
                self.kill(leader)
        elif kind == "kill replica" and self.live():
            self.kill(rng.choice(self.live()))

    def kill(self, replica: Replica) -> None:
        """SIGKILL; ``supervise`` starts it again a few seconds later (as an orchestrator would)."""
        with self.processes:
            replica.process.send_signal(signal.SIGKILL)
            replica.process.wait(5)
            replica.killed_at.append(time.monotonic())
            replica.restart_at = time.monotonic() + self.fault_rng.uniform(2.0, 5.0)

    def settle(self) -> None:
        """Faults off, everyone back; bob approves what is left; time for retries and sweeps."""
        self.sim.faults.clear()
        self.slack.faults.clear()
        self.proxy.restore()
        for replica in self.replicas:
            self.wait_ready(replica, 60)
        self.approve_cards()
        # Two sweeps of stuck approvals (STUCK_AFTER is 2 simulated minutes) and digest reclaims.
        time.sleep(max(20.0, 2 * 150 / self.speed))
        self.approve_cards()
        time.sleep(max(10.0, 60 / self.speed))

    # --- counting -------------------------------------------------------------------------------
    def count(self, database_url: str) -> dict[str, int]:
        figures: dict[str, int] = {}
        self.details: dict[str, list[str]] = {}
        lost, killed = self.lost_answers()
        figures["commands sent"] = len(self.sent)
        figures["commands not delivered (Slack showed its error)"] = sum(not s.delivered for s in self.sent)
        figures["answers lost"] = len(lost)
        figures["answers lost with a replica killed before it answered"] = len(killed)
        missed, doubled, posted = self.digests()
        figures["digests due"] = posted
        figures["digests missed"] = missed
        figures["digests doubled"] = doubled
        history = self.slack.workspace.history.all()
        figures["digests posted"] = sum(
            (m.metadata or {}).get("event_type") == "podbot_digest" for m in history
        )
        ops = self.slack.workspace.channel("ops").id
        figures["alerts posted"] = sum(
            m.channel == ops
            and bool(m.bot_id)
            and m.thread_ts is None
            and ("rotating_light" in m.text or "Resolved" in m.text)
            for m in history
        )
        figures["alerts doubled"] = self.alerts_doubled()
        cards = cards_doubled(history, ops)
        figures["approval cards posted"] = len(cards)
        figures["approval cards doubled"] = sum(n - 1 for n in cards.values())
        self.details["approval cards doubled"] = [f"request #{k} x{n}" for k, n in cards.items() if n > 1]
        gone = {d.name for d in self.served if d.method == "DELETE" and 200 <= d.status < 300}
        untrue = untrue_cards(history, ops, gone, self.clicked)
        figures["approval cards that do not tell the truth"] = len(untrue)
        self.details["approval cards that do not tell the truth"] = untrue
        deleted = [s for s in self.served if s.method == "DELETE" and 200 <= s.status < 300]
        figures["pods deleted"] = len(deleted)
        unapproved, wrong = deletes(self.served, self.approved)
        figures["deletes without an approval"] = len(unapproved)
        figures["deletes of the wrong uid"] = len(wrong)
        self.details["deletes without an approval"] = [
            f"{d.namespace}/{d.name}" + self.near(d.at) for d in unapproved
        ]
        self.details["deletes of the wrong uid"] = [
            f"{d.namespace}/{d.name}" + self.near(d.at) for d in wrong
        ]
        figures["changes without an audit record"] = self.unaudited(database_url)
        figures["faults injected"] = len(self.faults)
        return figures

    def lost_answers(self) -> tuple[list[Sent], list[Sent]]:
        """Every delivered command got an answer: in the ack, through its response_url, or (the
        fallback) a chat.postEphemeral to that user in that channel after it (each such post
        answers one command at most; other ephemerals to that user could mask a loss, so the
        figure is a lower bound)."""
        ws = self.slack.workspace
        unanswered = []
        for sent in self.sent:
            url = ws.interactions.response_url(sent.response_path)
            if sent.delivered and not sent.acked_in_body and (url is None or url.uses == 0):
                unanswered.append(sent)
        # Fallback posts, each one answering at most one command of that user in that channel.
        with ws.lock:
            fallback = [m for m in ws.history.all() if m.bot_id and m.origin == "chat.postEphemeral"]
        lost: list[Sent] = []
        for sent in unanswered:
            uid, cid = ws.user(sent.user).id, ws.channel(sent.channel).id
            answer = next(
                (m for m in fallback if m.seq > sent.seq and m.channel == cid and m.ephemeral_to == uid),
                None,
            )
            if answer is not None:
                fallback.remove(answer)
            else:
                lost.append(sent)
        by_name = {r.name: r for r in self.replicas}
        killed = [
            s for s in lost if any(s.at <= k <= s.at + KILLED_WITHIN for k in by_name[s.replica].killed_at)
        ]
        self.details["answers lost"] = [
            f"{s.user}: /pod {s.text} (via {s.replica})" + self.near(s.at) for s in lost if s not in killed
        ]
        self.details["answers lost with a replica killed before it answered"] = [
            f"{s.user}: /pod {s.text} (via {s.replica})" for s in killed
        ]
        return [s for s in lost if s not in killed], killed

    def digests(self) -> tuple[int, int, int]:
        missed, doubled, due = digest_counts(
            self.slack.workspace.history.all(), self.subscription.id, self.created, self.load_end_sim
        )
        self.details["digests missed"] = missed
        self.details["digests doubled"] = [
            f"{t} x{n + 1}" + self.near(self.real_at(t)) for t, n in doubled.items()
        ]
        return len(missed), sum(doubled.values()), due

    def alerts_doubled(self) -> int:
        doubled = alerts_doubled(self.slack.workspace.history.all(), self.slack.workspace.channel("ops").id)
        self.details["alerts doubled"] = doubled
        return len(doubled)

    def unaudited(self, database_url: str) -> int:
        """Every pod the sim created or deleted for podbot has an audit record of that change."""
        store = Store.open(database_url)
        try:
            with store.engine.connect() as connection:
                rows = connection.execute(text("SELECT action, namespace, name FROM audit_events")).all()
        finally:
            store.close()
        missing = unaudited(self.served, [(str(a), str(ns), str(n)) for a, ns, n in rows])
        self.details["changes without an audit record"] = missing
        return len(missing)

    def real_at(self, scheduled: str) -> float:
        """The monotonic real time at which the simulated time ``scheduled`` came."""
        behind = (self.sim_now() - datetime.fromisoformat(scheduled)).total_seconds()
        return time.monotonic() - behind / self.speed

    def near(self, at: float) -> str:
        """The faults injected in the 10 s before ``at`` (to say which fault caused what)."""
        kinds = sorted({kind for when, kind in self.faults if at - 10 <= when <= at + 2})
        return f" [faults near: {', '.join(kinds)}]" if kinds else ""


def deletes(
    served: list[Served], approved: dict[tuple[str, str], tuple[float, str]]
) -> tuple[list[Served], list[Served]]:
    """The pod deletes the sim carried out with no Approve pressed before them, and those of
    another pod than the one approved (the DELETE's uid precondition, or the deleted object's uid)."""
    unapproved, wrong = [], []
    for d in served:
        if d.method != "DELETE" or not 200 <= d.status < 300:
            continue
        approval = approved.get((d.namespace, d.name))
        if approval is None or approval[0] > d.at:
            unapproved.append(d)
        elif d.precondition_uid != approval[1] or (d.uid is not None and d.uid != approval[1]):
            wrong.append(d)
    return unapproved, wrong


def digest_counts(
    messages: list[StoredMessage], subscription_id: int, created: datetime, end: datetime
) -> tuple[list[str], dict[str, int], int]:
    """Per scheduled time of the subscription up to ``end``: exactly one message (by metadata).
    Returns the times missed, the extra copies per doubled time, and how many were due."""
    posted: Counter[str] = Counter()
    for message in messages:
        meta = message.metadata or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == "podbot_digest" and payload.get("subscription_id") == subscription_id:
            posted[str(payload["scheduled_time"])] += 1
    due = []
    when = created + timedelta(seconds=DIGEST_EVERY)
    while when <= end:
        due.append(when.isoformat())
        when += timedelta(seconds=DIGEST_EVERY)
    return [t for t in due if posted[t] == 0], {t: n - 1 for t, n in posted.items() if n > 1}, len(due)


def alerts_doubled(messages: list[StoredMessage], channel_id: str) -> list[str]:
    """A second top-level alert for a problem whose first alert was not resolved before it (the
    resolution edits the alert in place: its edit time is when it was resolved)."""
    by_title: dict[str, list[tuple[float, float]]] = {}  # title -> (posted, resolved or inf)
    for m in messages:
        if m.channel != channel_id or not m.bot_id or m.thread_ts not in (None, m.ts):
            continue
        new = re.match(r":rotating_light: (.+)", m.text)
        resolved = re.match(r":white_check_mark: Resolved .*?~(.+)~", m.text)
        if new:
            by_title.setdefault(new.group(1), []).append((float(m.ts), float("inf")))
        elif resolved:
            edited = float((m.edited or {}).get("ts") or m.ts)
            by_title.setdefault(resolved.group(1), []).append((float(m.ts), edited))
    doubled = []
    for title, alerts in by_title.items():
        alerts.sort()
        for i, (posted, _) in enumerate(alerts):
            if any(posted < open_until for _, open_until in alerts[:i]):
                doubled.append(title)
    return doubled


def cards_doubled(messages: list[StoredMessage], channel_id: str) -> Counter[str]:
    """How many cards each delete request got in the channel (by the request number on it)."""
    cards: Counter[str] = Counter()
    for m in messages:
        found = re.match(CARD, m.text)
        if m.channel == channel_id and m.bot_id and not m.ephemeral_to and m.thread_ts is None and found:
            cards[found.group(1)] += 1
    return cards


def untrue_cards(
    messages: list[StoredMessage], channel_id: str, deleted: set[str], pressed: set[str]
) -> list[str]:
    """Delete requests whose card (any copy of it) ends in a state that is not what happened:
    "deleted" (:wastebasket:) exactly when the sim deleted that pod, and no live Approve button once
    bob's press was delivered. One line per request, however many copies were posted."""
    untrue: dict[str, str] = {}
    for m in messages:
        found = re.match(CARD + r".*?((?:web|bad)-\d+)", m.text, re.S)
        if m.channel != channel_id or not m.bot_id or m.ephemeral_to or m.thread_ts or found is None:
            continue
        request, pod, says_deleted = found.group(1), found.group(2), ":wastebasket:" in m.text
        if says_deleted != (pod in deleted):
            what = "was deleted" if pod in deleted else "was not deleted"
            untrue.setdefault(request, f"request #{request} ({pod} {what}): {m.text[-90:]}")
        elif m.ts in pressed and APPROVE in json.dumps(m.blocks):
            untrue.setdefault(request, f"request #{request} ({pod}): Approve still live after the press")
    return list(untrue.values())


def unaudited(served: list[Served], audit: list[tuple[str, str, str]]) -> list[str]:
    """Each pod create and delete the sim carried out, less the audit records of that change."""
    audited = Counter(
        ("POST" if action in ("run", "create") else "DELETE", ns, name)
        for action, ns, name in audit
        if action in ("run", "create", "delete")
    )
    changes = Counter((s.method, s.namespace, s.name) for s in served if 200 <= s.status < 300)
    missing = []
    for key, n in changes.items():
        missing += [f"{key[0]} {key[1]}/{key[2]}"] * max(0, n - audited[key])
    return missing


def report(
    figures: dict[str, int], details: dict[str, list[str]], out: Callable[[str], None] = print
) -> bool:
    """The table (counted rows marked *), then what each non-zero count is made of."""
    width = max(len(k) for k in figures) + 2
    out(f"{'figure'.ljust(width)}  count")
    out(f"{'-' * width}  -----")
    for key, value in figures.items():
        name = f"{key} *" if key in COUNTED else key
        mark = "  <-- must be 0" if key in COUNTED and value else ""
        out(f"{name.ljust(width)}  {value:5d}{mark}")
    out(
        "* counted: must be 0. Shown, not counted: answers lost with a replica SIGKILLed within "
        f"{KILLED_WITHIN:g} s of its ack (Slack never sends a command again), undelivered commands."
    )
    for key, items in details.items():
        for item in items[:20]:
            out(f"  {key}: {item}")
    return all(figures[key] == 0 for key in COUNTED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="simulated minutes of load (default 30)")
    parser.add_argument(
        "--speed", type=float, default=10.0, help="simulated seconds per real second (default 10)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the replicas' logs in this directory")
    args = parser.parse_args(argv)
    # `timeout` sends SIGTERM: exit through the finally blocks (replicas killed, schema dropped).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="podbot-chaos-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        chaos = Chaos(
            minutes=args.minutes, speed=args.speed, seed=args.seed, replicas=args.replicas, workdir=workdir
        )
        figures = chaos.run()
    print(
        f"chaos: {args.minutes:g} simulated minutes at speed {args.speed:g}, seed {args.seed}, "
        f"{args.replicas} replicas, {time.monotonic() - started:.0f} s real"
    )
    ok = report(figures, chaos.details)
    print("faults:", ", ".join(f"{k} {n}" for k, n in sorted(Counter(k for _, k in chaos.faults).items())))
    print("PASS: every count is 0" if ok else "FAIL: some count is not 0")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
