"""The big-body attack: what one unsigned 150 MB POST to /slack/events does to a podbot process.

Starts `python -m podbot serve` (HTTP mode) against podbot.sim and podbot.localslack, reads its
peak resident memory (VmHWM, /proc) before and after one unsigned POST of --megabytes, and prints the
HTTP status and both figures. Run it on two checkouts to compare (e.g. a commit before the body
limit): `.venv/bin/python bench/big_body.py` from each.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from podbot.localslack import LocalSlack, Workspace
from podbot.sim.cluster import SimCluster


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def memory_mib(pid: int, field: str) -> float:
    """VmRSS (resident now) or VmHWM (the peak resident size so far) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("podbot serve did not become ready")


def post_big(port: int, megabytes: int) -> tuple[int | str, float]:
    """POST ``megabytes`` of form data without a signature; the status (or error) and seconds."""
    chunk = b"x" * (1024 * 1024)
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.putrequest("POST", "/slack/events")
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", str(megabytes * len(chunk)))
        connection.endheaders()
        try:
            for _ in range(megabytes):
                connection.send(chunk)
        except OSError:
            pass  # the server answered and closed before the body was sent: read its answer
        status: int | str = connection.getresponse().status
    except OSError as exc:
        status = f"closed ({type(exc).__name__})"
    finally:
        connection.close()
    return status, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=150)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        SimCluster(speed=0) as sim,
        LocalSlack(Workspace.demo()) as slack,
    ):
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PODBOT_", "KUBE"))},
            **{k: v for k, v in slack.bot_settings().env().items() if k != "SLACK_APP_TOKEN"},
            "KUBECONFIG": str(sim.kubeconfig_path),
            "DATABASE_URL": f"sqlite:///{tmp}/podbot.sqlite3",
            "PORT": str(port),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "podbot", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(port)
            time.sleep(1)
            # podbot serve and its ack front (which reads the request first)
            tree = [process.pid, *children(process.pid)]
            before = [memory_mib(pid, "VmHWM") for pid in tree]
            status, seconds = post_big(port, args.megabytes)
            time.sleep(1)
            peak = [memory_mib(pid, "VmHWM") for pid in tree]
            after = [memory_mib(pid, "VmRSS") for pid in tree]
        finally:
            process.terminate()
            process.wait(30)
    print(f"one unsigned {args.megabytes} MB POST to /slack/events: answered {status} in {seconds:.2f} s")
    for name, was, high, now in zip(("podbot serve", "its ack front"), before, peak, after, strict=False):
        print(f"{name} peak RSS: {was:.0f} MiB before, {high:.0f} MiB after ({high - was:+.0f} MiB);")
        print(f"  resident a second later: {now:.0f} MiB")


if __name__ == "__main__":
    main()
