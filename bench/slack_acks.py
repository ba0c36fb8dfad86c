"""Benchmark: 200 signed slash commands, 20 at a time, at `podbot serve`, versus a bare bolt app.

    /work/venv/bin/python bench/slack_acks.py [--commands 200] [--concurrency 20]

`podbot serve` runs as its own process (as in production) against podbot.sim and podbot.localslack,
both in this process. Each command is `/pod get pod bench-N`: a real Kubernetes call whose answer
names bench-N, so every answer can be matched to its command. Reported: ack latency (the signed
HTTP request until the bot's HTTP response) median/p95/p99, and end-to-end latency (until the answer
is posted through response_url). The bare bolt app (bench/bare_bolt_app.py) serves the same requests
with a listener that only acks, on the same WSGI server, in the same run.
Aim: podbot's p99 ack under 100 ms here, and within 2x of the bare app.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podbot.localslack import LocalSlack, Workspace
from podbot.sim.cluster import SimCluster

COMMAND = os.environ.get("BENCH_COMMAND", "get pod {tag}-{i}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(argv: list[str], env: dict[str, str], url: str, log: Any) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
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


def fire(
    slack: LocalSlack, count: int, concurrency: int, tag: str, e2e: bool
) -> tuple[list[float], list[float]]:
    acks: list[float] = []
    ends: list[float] = []

    def one(i: int) -> None:
        mark = slack.mark()
        started = time.perf_counter()
        result = slack.send_command("alice", "ops", "/pod", COMMAND.format(tag=tag, i=i))
        acks.append((time.perf_counter() - started) * 1000)
        assert result.ok, result
        if e2e:
            slack.wait_for_message(channel="ops", user="alice", contains=f"{tag}-{i}", after=mark, timeout=30)
            ends.append((time.perf_counter() - started) * 1000)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    return acks, ends


def report(label: str, samples: list[float]) -> None:
    print(
        f"{label:<34} median {statistics.median(samples):6.1f} ms   p95 {percentile(samples, 0.95):6.1f} ms"
        f"   p99 {percentile(samples, 0.99):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SimCluster() as sim, LocalSlack(Workspace.demo()) as slack:
        env = {
            **os.environ,
            **slack.bot_settings().env(),
            "KUBECONFIG": str(sim.kubeconfig_path),
            "DATABASE_URL": f"sqlite:///{tmp}/podbot.sqlite3",
            "PODBOT_LOG_LEVEL": "WARNING",
        }
        env.pop("SLACK_APP_TOKEN", None)  # HTTP mode
        results = {}
        for name, argv in (
            ("bare bolt app (ack only)", [sys.executable, "bench/bare_bolt_app.py"]),
            ("podbot serve", [sys.executable, "-m", "podbot", "--log-level", "WARNING", "serve"]),
        ):
            port = free_port()
            process = start(
                argv,
                {**env, "PORT": str(port)},
                f"http://127.0.0.1:{port}/healthz" if name == "podbot serve" else f"http://127.0.0.1:{port}/",
                open(f"/tmp/bench-{port}.log", "w"),  # noqa: SIM115 - kept for reading after a failure
            )
            try:
                slack.use_http(f"http://127.0.0.1:{port}/slack/events")
                fire(slack, 20, args.concurrency, "warmup", e2e=name == "podbot serve" and "{i}" in COMMAND)
                results[name] = fire(
                    slack,
                    args.commands,
                    args.concurrency,
                    "bench",
                    e2e=name == "podbot serve" and "{i}" in COMMAND,
                )
            finally:
                process.terminate()
                process.wait(30)
        print(f"{args.commands} signed slash commands, {args.concurrency} at a time, over loopback HTTP")
        bare_acks, _ = results["bare bolt app (ack only)"]
        acks, ends = results["podbot serve"]
        report("bare bolt app: ack", bare_acks)
        report("podbot serve: ack", acks)
        if ends:
            report("podbot serve: answer posted (e2e)", ends)
        print(f"podbot p99 ack / bare p99 ack: {percentile(acks, 0.99) / percentile(bare_acks, 0.99):.2f}x")


if __name__ == "__main__":
    main()
