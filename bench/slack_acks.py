"""Benchmark: signed slash commands, 20 at a time, at `podbot serve` and at a bare bolt app.

    .venv/bin/python bench/slack_acks.py [--commands 400] [--concurrency 20] [--warmup 200]

Three kinds of process, so that no two share an interpreter lock:

* this one runs the emulators: ``podbot.sim`` (the cluster) and ``podbot.localslack`` (Slack's
  Web API and the response_urls the answers go to);
* the app under test, ``podbot serve`` (the bot and its ack front, server/front.py, which it forks)
  or bench/bare_bolt_app.py (a bolt app whose listener only acks), both on waitress with the same
  number of server threads (``--threads``);
* the load: one closed-loop client process (``--concurrency`` threads; each sends its next command
  when the previous one was acknowledged), the same client for both apps. It signs every request
  with the signing secret as Slack does and opens a new connection per request.

Each command is `/pod get pod bench-N`: a real Kubernetes call whose answer names bench-N. Each app
first gets ``--warmup`` commands (not measured). Reported: ack latency (request sent until the HTTP
response), median/p95/p99, and for podbot the end-to-end latency (until the answer is in the
channel), the CPU time each app used per command (podbot: both of its processes) and, for podbot,
each process's memory (RSS, and the front's own pages).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podbot.localslack import LocalSlack, Workspace, payloads
from podbot.localslack.delivery import signed_headers
from podbot.sim.cluster import SimCluster

COMMAND = "get pod {tag}-{i}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cores() -> tuple[set[int], set[int]] | None:
    """(the app's cores, everyone else's), or None on a machine with fewer than two."""
    mine = sorted(os.sched_getaffinity(0))
    return ({mine[-1]}, set(mine[:-1])) if len(mine) >= 2 else None


def start(argv: list[str], env: dict[str, str], url: str, log: Any) -> subprocess.Popen[bytes]:
    split = cores()
    app_cores = split[0] if split else None
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=(lambda: os.sched_setaffinity(0, app_cores)) if app_cores else None,  # noqa: PLW1509
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return process
        except urllib.error.HTTPError:
            return process  # it answers (a 404 from the bare app is an answer)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{argv} did not come up (see {log.name})")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """A process's children (podbot serve's: its ack front)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def memory_kib(pid: int) -> dict[str, int]:
    """RSS, PSS (shared pages split between the processes sharing them) and USS (pages only this
    process has) of a process, in KiB, from /proc/<pid>/smaps_rollup."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0])
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def load_client(url: str, secret: str, bodies: list[str], concurrency: int, conn: Connection) -> None:
    """The client process: POST every body, ``concurrency`` at a time, closed loop; send the timings."""
    import http.client  # noqa: PLC0415 - the child imports what it needs
    from urllib.parse import urlsplit  # noqa: PLC0415

    parts = urlsplit(url)
    results: list[tuple[int, float, float, int]] = []  # (index, sent at, ack ms, status)

    def one(index: int) -> None:
        body = bodies[index]
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(secret, body, now=time.time()),
        }
        sent = time.monotonic()
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        try:
            connection.request("POST", parts.path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        finally:
            connection.close()
        results.append((index, sent, (time.monotonic() - sent) * 1000, status))

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(bodies))))
    conn.send(results)


def command_bodies(slack: LocalSlack, tag: str, count: int) -> list[str]:
    """Signed-later form bodies of ``count`` slash commands typed by alice in #ops."""
    ws = slack.workspace
    person, where = ws.user("alice"), ws.channel("ops")
    bodies = []
    for i in range(count):
        text = COMMAND.format(tag=tag, i=i)
        path = ws.interactions.issue_response_url(
            "commands", ws.team.id, person.id, where.id, command_text=f"/pod {text}"
        )
        form = payloads.slash_command(
            token=ws.verification_token,
            team=ws.team,
            channel=where,
            user=person,
            command="/pod",
            text=text,
            app_id=ws.app_id,
            response_url=ws.origin + path,
            trigger_id=ws.interactions.issue_trigger(person.id),
        )
        bodies.append(payloads.form_body(form))
    return bodies


class AnswerClock:
    """Stamps (monotonic) when the first message naming ``tag-N`` appears in the workspace."""

    def __init__(self, slack: LocalSlack, tag: str) -> None:
        self.seen: dict[int, float] = {}
        self._slack, self._tag = slack, f"{tag}-"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._mark = slack.mark()
        self._thread.start()

    def _run(self) -> None:
        ws = self._slack.workspace
        seen = self._mark
        with ws.changed:
            while not self._stop.is_set():
                for stored in ws.history.changed_since(seen):
                    seen = max(seen, stored.seq)
                    text = json.dumps(stored.blocks) + (stored.text or "")
                    at = text.find(self._tag)
                    if at >= 0:
                        digits = ""
                        for ch in text[at + len(self._tag) :]:
                            if not ch.isdigit():
                                break
                            digits += ch
                        if digits:
                            self.seen.setdefault(int(digits), time.monotonic())
                ws.changed.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        with self._slack.workspace.changed:
            self._slack.workspace.changed.notify_all()
        self._thread.join(5)


def drive(slack: LocalSlack, url: str, secret: str, tag: str, count: int, concurrency: int) -> list[Any]:
    bodies = command_bodies(slack, tag, count)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=load_client, args=(url, secret, bodies, concurrency, child))
    process.start()
    results: list[Any] = parent.recv()
    process.join(30)
    bad = [r for r in results if r[3] != 200]
    assert not bad, f"{len(bad)} commands were not acknowledged with 200: {bad[:3]}"
    return results


def run(commands: int = 400, concurrency: int = 20, warmup: int = 200, threads: int = 8) -> dict[str, Any]:
    """Both apps, one after the other, against the same emulators; the measured numbers."""
    out: dict[str, Any] = {"commands": commands, "concurrency": concurrency, "threads": threads}
    split = cores()
    if split:
        # The app under test (bare, or podbot's two processes) has a core of its own, as in a
        # container with a one-CPU limit; the load and the emulators, which stand in for Slack and
        # the API server on other machines, share the rest and never take the app's CPU.
        os.sched_setaffinity(0, split[1])  # this process and the client it spawns
        out["app_cores"], out["other_cores"] = sorted(split[0]), sorted(split[1])
    with tempfile.TemporaryDirectory() as tmp, SimCluster() as sim, LocalSlack(Workspace.demo()) as slack:
        secret = slack.bot_settings().env()["SLACK_SIGNING_SECRET"]
        env = {
            **os.environ,
            **slack.bot_settings().env(),
            "KUBECONFIG": str(sim.kubeconfig_path),
            "DATABASE_URL": f"sqlite:///{tmp}/podbot.sqlite3",
            "PODBOT_LOG_LEVEL": "WARNING",
            "BENCH_THREADS": str(threads),
        }
        env.pop("SLACK_APP_TOKEN", None)  # HTTP mode
        for name, argv in (
            ("bare", [sys.executable, "bench/bare_bolt_app.py"]),
            ("podbot", [sys.executable, "-m", "podbot", "--log-level", "WARNING", "serve"]),
        ):
            port = free_port()
            health = f"http://127.0.0.1:{port}/healthz" if name == "podbot" else f"http://127.0.0.1:{port}/"
            log_path = Path(tmp) / f"{name}.log"
            with open(log_path, "w") as log:
                process = start(argv, {**env, "PORT": str(port)}, health, log)
                try:
                    url = f"http://127.0.0.1:{port}/slack/events"
                    drive(slack, url, secret, f"warm{name}", warmup, concurrency)
                    clock = AnswerClock(slack, f"bench{name}") if name == "podbot" else None
                    tree = [process.pid, *children(process.pid)]  # podbot: the bot, then its front
                    cpu_before = [cpu_seconds(pid) for pid in tree]
                    results = drive(slack, url, secret, f"bench{name}", commands, concurrency)
                    if clock is not None:
                        deadline = time.monotonic() + 60
                        while len(clock.seen) < commands and time.monotonic() < deadline:
                            time.sleep(0.1)
                        clock.stop()
                        out["e2e_ms"] = [
                            (clock.seen[i] - sent) * 1000 for i, sent, _, _ in results if i in clock.seen
                        ]
                        out["answered"] = len(clock.seen)
                    cpu = [
                        (cpu_seconds(pid) - before) / commands * 1000
                        for pid, before in zip(tree, cpu_before, strict=True)
                    ]
                    out[f"{name}_cpu_ms_per_command"] = sum(cpu)
                    out[f"{name}_processes"] = [
                        {"pid": pid, "cpu_ms_per_command": ms, **memory_kib(pid)}
                        for pid, ms in zip(tree, cpu, strict=True)
                    ]
                    out[f"{name}_ack_ms"] = [ms for _, _, ms, _ in results]
                finally:
                    process.terminate()
                    process.wait(30)
    return out


def report(label: str, samples: list[float]) -> None:
    print(
        f"{label:<34} median {statistics.median(samples):6.1f} ms   p95 {percentile(samples, 0.95):6.1f} ms"
        f"   p99 {percentile(samples, 0.99):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8, help="server threads of both apps")
    args = parser.parse_args()
    out = run(args.commands, args.concurrency, args.warmup, args.threads)
    print(
        f"{args.commands} signed slash commands ({args.warmup} warm-up), {args.concurrency} at a time from "
        f"one client process, {args.threads} server threads each"
    )
    if out.get("app_cores"):
        print(f"the app on CPU {out['app_cores']}; the client and the emulators on CPU {out['other_cores']}")
    report("bare bolt app: ack", out["bare_ack_ms"])
    report("podbot serve: ack", out["podbot_ack_ms"])
    if out.get("e2e_ms"):
        report(f"podbot: answer posted ({out['answered']})", out["e2e_ms"])
    print(
        f"CPU per command: podbot {out['podbot_cpu_ms_per_command']:.2f} ms, "
        f"bare {out['bare_cpu_ms_per_command']:.2f} ms"
    )
    if len(out["podbot_processes"]) == 2:
        bot, front = out["podbot_processes"]
        print(
            f"  of which the ack front {front['cpu_ms_per_command']:.2f} ms, the bot "
            f"{bot['cpu_ms_per_command']:.2f} ms"
        )
        print(
            f"memory: bot RSS {bot['rss'] / 1024:.0f} MiB; ack front RSS {front['rss'] / 1024:.0f} MiB, "
            f"of which {front['uss'] / 1024:.1f} MiB its own (USS; the rest is shared with the bot)"
        )
    ratio = percentile(out["podbot_ack_ms"], 0.99) / percentile(out["bare_ack_ms"], 0.99)
    print(f"podbot p99 ack / bare p99 ack: {ratio:.2f}x (aim <= 1.5x)")


if __name__ == "__main__":
    main()
