"""``python -m podbot serve`` in HTTP mode: the ack front (server/front.py) answers Slack and the bot
behind it does the work, in two real processes, against podbot.sim and podbot.localslack.

Each test says what a user or an operator sees: answers arrive, errors still reach the user,
forms still get their errors, bad requests never reach the bot, and the two processes stop (or
fail) together.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from podbot.localslack import LocalSlack, Tamper, Workspace
from podbot.sim.cluster import SimCluster
from tests.support.harness import serve_env
from tests.support.net import free_port
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    slack: LocalSlack
    sim: SimCluster

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def front_pid(self) -> int:
        """The one child of ``podbot serve``: its ack front."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()


def _gone(pid: int) -> bool:
    """Ended: no such process, or a zombie nobody has reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _serve(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PODBOT_", "KUBE"))}
    with (tmp_path / "serve.log").open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "podbot", "serve", "--port", str(port)],
            env={**base, **env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    workspace = Workspace.demo()
    with SimCluster(speed=1.0) as sim, LocalSlack(workspace) as slack:
        env = serve_env(tmp_path, sim, slack)  # HTTP mode, where the front is on by default
        port = free_port()
        process = _serve(tmp_path, env, port)
        log = tmp_path / "serve.log"
        try:
            wait_until(
                lambda: _status(f"http://127.0.0.1:{port}/readyz") == 200 or process.poll() is not None,
                60,
                "podbot serve ready",
            )
            assert process.poll() is None, log.read_text()[-3000:]
            slack.use_http(f"http://127.0.0.1:{port}/slack/events")
            yield Served(process, port, log, slack, sim)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()


def test_a_command_is_acknowledged_by_the_front_and_answered_by_the_bot(served: Served) -> None:
    slack = served.slack
    mark = slack.mark()
    result = slack.send_command("alice", "ops", "/pod", "run web --image=nginx:1.16")
    assert result.ok and result.reply.body == "", result  # the front's empty ack
    slack.wait_for_message(channel="ops", contains="created", after=mark, timeout=15)
    pod = served.sim.store.get("pods", "default", "web").load()
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.16"
    assert served.front_pid() != served.process.pid


def test_a_usage_error_still_reaches_its_user_privately(served: Served) -> None:
    slack = served.slack
    mark = slack.mark()
    result = slack.send_command("alice", "ops", "/pod", "frobnicate the pods")
    assert result.ok and result.ack_message is None  # the front acked before anyone parsed it
    error = slack.wait_for_message(channel="ops", user="alice", contains="frobnicate", after=mark, timeout=15)
    assert error.is_ephemeral and "is not a podbot command" in error.rendered, error


def test_a_form_still_gets_its_errors_from_the_bot(served: Served) -> None:
    slack = served.slack
    assert slack.send_command("alice", "ops", "/pod", "create").ok
    slack.wait_for_view("alice", timeout=15)
    result = slack.submit_view("alice", values={})
    assert result.errors, result  # passed through: the bot's ack carries the form's errors


def test_a_forged_request_is_refused_by_the_front(served: Served) -> None:
    reply = served.slack.send_raw("command=%2Fpod&text=delete+pod+web", tamper=Tamper.BAD_SIGNATURE)
    assert reply.status == 401
    wait_until(lambda: "bad signature" in served.log.read_text(), 10, "the refusal is logged")


def test_health_readiness_and_metrics_cover_both_processes(served: Served) -> None:
    assert served.get("/healthz") == (200, "ok\n")
    status, ready = served.get("/readyz")
    assert status == 200 and '"kubernetes": "ok"' in ready and '"database": "ok"' in ready
    assert served.slack.send_command("alice", "ops", "/pod", "get pods").ok
    # The bot's metrics, passed through; the ack it records is the front's (once forwarded).
    counted = ("podbot_ack_seconds_count 1.0", 'podbot_commands_total{outcome="ok",verb="get"} 1.0')
    wait_until(lambda: all(line in served.get("/metrics")[1] for line in counted), 10, "the command counted")


def test_sigterm_stops_both_processes_after_the_acknowledged_work(served: Served) -> None:
    slack = served.slack
    front = served.front_pid()
    mark = slack.mark()
    assert slack.send_command("alice", "ops", "/pod", "run late --image=nginx:1.16").ok
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(30) == 0, served.log.read_text()[-3000:]
    wait_until(lambda: _gone(front), 10, "the front has ended")
    slack.wait_for_message(channel="ops", contains="created", after=mark, timeout=5)
    assert _status(served.url + "/healthz") == 0  # nobody listens any more


def test_the_bot_stops_when_its_front_dies(served: Served) -> None:
    os.kill(served.front_pid(), signal.SIGKILL)
    assert served.process.wait(30) == 1, served.log.read_text()[-3000:]
    assert "the ack front ended on its own" in served.log.read_text()


def test_the_front_stops_when_the_bot_is_killed(served: Served) -> None:
    front = served.front_pid()
    served.process.send_signal(signal.SIGKILL)
    served.process.wait(10)
    wait_until(lambda: _gone(front), 10, "the front has ended")
    deadline = time.monotonic() + 5
    while _status(served.url + "/healthz") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _status(served.url + "/healthz") == 0  # the port is free for the restarted pod


def test_a_bot_that_no_longer_answers_fails_the_liveness_probe(served: Served) -> None:
    assert _status(served.url + "/healthz") == 200
    served.process.send_signal(signal.SIGSTOP)  # hung: the front is fine, the bot answers nothing
    try:
        assert _status(served.url + "/healthz") == 0  # the probe's 2 s pass without an answer
    finally:
        served.process.send_signal(signal.SIGCONT)
    wait_until(lambda: _status(served.url + "/healthz") == 200, 10, "the bot answers again")
