"""The Slack app at its edges: health endpoints, slow clusters, outages, Slack rate limits, big
output, modal validation, the app manifest, and the apology for bugs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from podbot import metrics
from podbot.app.audit import AuditTrail, LogAudit
from podbot.app.gate import Gate
from podbot.app.identity import SlackIdentities
from podbot.app.operations import KubeOperations
from podbot.app.pipeline import Pipeline
from podbot.core.model import Origin, RunPod
from podbot.server.config import load_settings
from podbot.sim.objects.meta import stamp_new
from podbot.slack.delivery import render_answer
from tests.support.harness import Harness, podbot_harness

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with podbot_harness(tmp_path_factory.mktemp("edges")) as h:
        yield h


def fetch(harness: Harness, path: str) -> tuple[int, str]:
    assert harness.runtime.web is not None
    try:
        with urllib.request.urlopen(harness.runtime.web.url + path, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.usefixtures("quick_read_retries")  # /readyz while the API server is down
def test_health_readiness_and_metrics(harness: Harness) -> None:
    assert fetch(harness, "/healthz") == (200, "ok\n")
    status, body = fetch(harness, "/readyz")
    assert status == 200 and json.loads(body) == {"database": "ok", "kubernetes": "ok"}
    harness.command("get pods")
    status, text = fetch(harness, "/metrics")
    assert status == 200
    assert re.search(r'podbot_commands_total\{outcome="ok",verb="get"\} [1-9]', text)
    assert "podbot_ack_seconds_bucket" in text and "podbot_kubernetes_request_seconds_bucket" in text
    harness.sim.faults.api_down()
    try:
        status, body = fetch(harness, "/readyz")
        assert status == 503 and "cannot reach the Kubernetes API" in json.loads(body)["kubernetes"]
    finally:
        harness.sim.faults.api_up()


@pytest.mark.usefixtures("quick_read_retries")
def test_kubernetes_outage_is_a_clear_message_not_a_crash(harness: Harness) -> None:
    harness.sim.faults.api_down()
    try:
        answer = harness.command("get pods")
    finally:
        harness.sim.faults.api_up()
    assert answer.is_ephemeral and "cannot reach the Kubernetes API" in answer.rendered
    assert "Traceback" not in answer.rendered
    # one more than the client's read retries (path: the watch cache must not take the faults)
    harness.sim.faults.fail(503, count=4, path="^/api/v1/namespaces/default/pods$", method="GET")
    answer = harness.command("get pods")
    assert "unavailable" in answer.rendered
    assert "unavailable" not in harness.command("get pods").rendered  # one failure, then it answers again


@pytest.mark.slow  # the cluster answers after 2.5 s
def test_slow_cluster_shows_working_then_the_answer(harness: Harness) -> None:
    harness.sim.faults.slow(2.5, count=1, path="/api/v1/namespaces/default/pods")
    calls_before = len(harness.slack.api_calls("response_url"))
    mark = harness.slack.mark()
    assert harness.slack.send_command("alice", "ops", "/pod", "get pods").ok
    harness.runtime.pool.wait_idle(20)
    posts = harness.slack.api_calls("response_url")[calls_before:]
    # First the progress note (the cluster was slow), then the answer replacing it in place.
    assert len(posts) == 2
    assert "working" in json.dumps(posts[0].args) and posts[1].args.get("replace_original") is True
    final = [m for m in harness.slack.messages_since(mark, user="alice") if m.is_bot][-1]
    assert "working" not in final.rendered and "pod" in final.rendered


@pytest.mark.slow  # Retry-After is in whole seconds
def test_slack_rate_limit_is_retried_after_retry_after(harness: Harness) -> None:
    before = metrics.SLACK_RETRIES.labels(reason="ratelimited")._value.get()
    harness.slack.faults.ratelimit("chat.postMessage", retry_after=1, times=1)
    answer = harness.command("delete pod nothing-here-but-refused")  # NotFound: private answer, no post
    assert "not found" in answer.rendered
    harness.command("run ratelimited --image=nginx:1.16")
    harness.command("delete pod ratelimited")  # the approval request is a chat.postMessage: limited once
    request = harness.slack.wait_for_message(channel="ops", contains="Delete request", timeout=10)
    assert "ratelimited" in request.rendered
    assert metrics.SLACK_RETRIES.labels(reason="ratelimited")._value.get() == before + 1


@pytest.mark.usefixtures("quick_response_url_retries")
def test_a_response_url_503_is_retried(harness: Harness) -> None:
    before = len(harness.slack.api_calls("response_url"))
    harness.slack.faults.http_status("response_url", 503, times=1)
    answer = harness.command("get pods")
    assert answer.is_ephemeral and "(cluster podbot-sim)" in answer.rendered
    assert [c.status for c in harness.slack.api_calls("response_url")[before:]] == [503, 200]


@pytest.mark.slow  # Retry-After is in whole seconds
def test_a_response_url_429_is_retried_after_retry_after(harness: Harness) -> None:
    before = len(harness.slack.api_calls("response_url"))
    harness.slack.faults.ratelimit("response_url", retry_after=1, times=1)
    answer = harness.command("get pods")
    assert "(cluster podbot-sim)" in answer.rendered
    calls = harness.slack.api_calls("response_url")[before:]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0


@pytest.mark.slow  # three retries with backoff: about 4 s
def test_an_answer_the_response_url_refuses_goes_out_by_chat_post_ephemeral(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.slack.faults.http_status("response_url", 503, times=10)
    try:
        with caplog.at_level("WARNING", logger="podbot.slack.delivery"):
            answer = harness.command("get pods")
    finally:
        harness.slack.faults.clear()
    assert answer.is_ephemeral and "(cluster podbot-sim)" in answer.rendered
    fallback = harness.slack.api_calls("chat.postEphemeral")[-1]
    assert fallback.ok and fallback.args["user"] == harness.slack.workspace.user("alice").id
    warning = next(r.getMessage() for r in caplog.records if "response_url" in r.getMessage())
    assert re.search(r"request [0-9A-F]{8}: .*HTTP 503.*chat\.postEphemeral", warning), warning
    assert "hooks" not in warning and "/response" not in warning  # the URL is a bearer secret


def test_output_too_big_for_a_message_is_uploaded(harness: Harness) -> None:
    clock = harness.sim.clock
    harness.sim.store.create(
        "namespaces",
        stamp_new({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "big"}, "spec": {}}, clock),
    )
    for i in range(400):
        harness.sim.store.create(
            "pods",
            stamp_new(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"worker-{i:04d}", "namespace": "big"},
                    "spec": {"nodeName": "elsewhere", "containers": [{"name": "w", "image": "busybox"}]},
                    "status": {"phase": "Pending"},
                },
                clock,
            ),
        )
    answer = harness.command("get pods -n big")
    assert "attached" in answer.rendered and "401 lines" in answer.rendered
    dm = harness.slack.wait_for_message(user="alice", contains="pods", timeout=10)  # the private upload
    files = [f for m in harness.slack.messages_since(0, user="alice") for f in m.files]
    assert files, "the full table went to a file"
    assert dm is not None


def test_create_dialog_refuses_bad_yaml_inline(harness: Harness) -> None:
    assert harness.slack.send_command("alice", "ops", "/pod", "create").ok
    harness.slack.wait_for_view("alice")
    result = harness.slack.submit_view(
        "alice", values={"manifest_text": "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x}\n"}
    )
    assert result.errors and "Deployment" in " ".join(result.errors.values())
    result = harness.slack.submit_view("alice", values={"manifest_text": "a: 1\na: 2\n"})
    assert result.errors and "line" in " ".join(result.errors.values()).lower()
    good = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: from-dialog}\n"
        "spec: {containers: [{name: c, image: nginx:1.16}]}\n"
    )
    mark = harness.slack.mark()
    result = harness.slack.submit_view("alice", values={"manifest_text": good})
    assert not result.errors
    harness.runtime.pool.wait_idle(10)
    posted = harness.slack.wait_for_message(channel="ops", contains="from-dialog", after=mark)
    assert "created" in posted.rendered
    assert harness.sim.store.get("pods", "default", "from-dialog")


def test_manifest_command_prints_a_slack_app_manifest() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "podbot", "manifest", "--url", "https://podbot.example.com"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    manifest = yaml.safe_load(done.stdout)
    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == "/pod" and command["url"] == "https://podbot.example.com/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == "https://podbot.example.com/slack/events"
    assert {"commands", "chat:write", "files:write", "usergroups:read"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )
    socket = subprocess.run(
        [sys.executable, "-m", "podbot", "manifest", "--socket-mode"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert yaml.safe_load(socket.stdout)["settings"]["socket_mode_enabled"] is True
    missing = subprocess.run(
        [sys.executable, "-m", "podbot", "manifest"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert missing.returncode == 2 and "--url" in missing.stderr


class ExplodingClusters:
    """A stand-in for the Kubernetes client edge that fails the way a bug would."""

    default_context = "sim"
    contexts = ("sim",)

    def get(self, context: str | None = None) -> object:
        raise RuntimeError("boom: a bug, not a user error")


def test_a_bug_gets_an_apology_with_an_error_id_and_a_logged_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings({})
    now = lambda: datetime.now(UTC)  # noqa: E731
    gate = Gate(settings, ExplodingClusters(), SlackIdentities(settings, None), None, None)  # type: ignore[arg-type]
    operations = KubeOperations(now).handlers()
    pipeline = Pipeline(settings, gate, operations, AuditTrail(LogAudit(), now), hold=operations[RunPod])
    answer = pipeline.handle_text("get pods", Origin("T1", "C1", "U1"))
    rendered = render_answer(answer, now())
    assert rendered is not None
    match = re.search(r"error id ([0-9A-F]{8})", rendered.text)
    assert match and "boom" not in rendered.text and "Traceback" not in rendered.text
    assert any(match.group(1) in r.getMessage() and r.exc_info for r in caplog.records)
