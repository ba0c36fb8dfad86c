"""A real crash: ``python -m podbot serve`` is SIGKILLed while it carries out an approved delete,
right as the API server receives the DELETE (which it still carries out), so the process dies
before it can write the outcome. A fresh podbot on the same database settles the request from
its intent and the cluster: the pod was deleted by us, and the audit and the message say so.

The process uses real time; the fresh podbot's clock is set past ``STUCK_AFTER`` instead of
waiting two minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from podbot.localslack import LocalSlack, Workspace
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime
from podbot.sim.cluster import SimCluster
from podbot.store import ApprovalState, AuditAction, AuditQuery, Store
from tests.support.approvals import counting_deletes
from tests.support.harness import serve_env
from tests.support.net import free_port
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[SimCluster, LocalSlack, dict[str, str], Path]]:
    workspace = Workspace.demo()
    with SimCluster(speed=1.0) as sim, LocalSlack(workspace) as slack:
        env = serve_env(tmp_path, sim, slack)
        yield sim, slack, env, Path(env["PODBOT_CONFIG"])


def test_sigkill_during_an_approved_delete_is_settled_as_deleted(
    world: tuple[SimCluster, LocalSlack, dict[str, str], Path], tmp_path: Path
) -> None:
    sim, slack, env, config = world
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PODBOT_", "KUBE"))}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "podbot", "serve", "--port", str(port)],
            env={**base, **env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    runtime: Runtime | None = None
    try:
        wait_until(lambda: ready(port) or process.poll() is not None, 60, "podbot serve ready")
        assert process.poll() is None, log.read_text()[-3000:]
        slack.use_http(f"http://127.0.0.1:{port}/slack/events")
        mark = slack.mark()
        assert slack.send_command("alice", "ops", "/pod", "run doomed --image=nginx:1.16").ok
        slack.wait_for_message(channel="ops", contains="created", after=mark, timeout=15)
        uid = sim.store.get("pods", "default", "doomed").load()["metadata"]["uid"]
        mark = slack.mark()
        assert slack.send_command("alice", "ops", "/pod", "delete pod doomed").ok
        request = slack.wait_for_message(channel="ops", contains="Delete request #", after=mark, timeout=15)

        # SIGKILL the process as its DELETE arrives; the API server carries the delete out after.
        original = sim.faults.check

        def check(method: str, path: str, is_watch: bool) -> Any:
            if method == "DELETE" and path.endswith("/pods/doomed") and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(10)
            return original(method, path, is_watch)

        sim.faults.check = check  # type: ignore[method-assign]
        try:
            slack.click("bob", request, "Approve", confirm=True)
            assert process.wait(15) == -signal.SIGKILL
        finally:
            del sim.faults.check  # type: ignore[method-assign]
        sim.advance(40)  # the pod's grace period
        assert sim.store.list("pods", "default", lambda s: s.name == "doomed")[0] == []  # it was deleted
        with Store.open(env["DATABASE_URL"]) as store:
            [approval] = store.approvals.in_state(ApprovalState.EXECUTING)
            assert store.audit.intent_of(approval.id) is not None
            assert store.audit.query(AuditQuery(action=AuditAction.DELETE)) == []
        assert "deleting" in next(m for m in slack.messages("ops") if m.ts == request.ts).rendered

        # A fresh podbot on the same database, once the request counts as stuck.
        mark = slack.mark()
        with counting_deletes(sim) as deletes:
            runtime = Runtime(
                load_settings(env, str(config)), now=lambda: datetime.now(UTC) + timedelta(minutes=3)
            )
            edited = slack.wait_for(lambda m: m.ts == request.ts, after=mark, timeout=20)
        assert deletes == []
        assert "Approved by @bob: pod doomed deleted." in edited.rendered, edited.rendered
        assert not edited.buttons
        settled = runtime.store.approvals.get(approval.id)
        assert settled is not None and (settled.state, settled.outcome) == (ApprovalState.DONE, "deleted")
        [record] = runtime.store.audit.query(AuditQuery(action=AuditAction.DELETE))
        assert (record.outcome, record.uid) == ("deleted", uid)
    finally:
        if runtime is not None:
            runtime.stop(timeout=5)
        if process.poll() is None:
            process.kill()
        process.wait(10)
