"""End to end: Slack emulator -> signed HTTP -> bolt -> action layer -> podbot.sim -> Slack emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podbot.localslack import Tamper
from tests.support.harness import Harness, podbot_harness
from tests.support.seed import SEED_POD


@pytest.fixture(scope="module", params=["http", "socket-mode"])
def harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """Every scenario runs twice: signed HTTP requests, and Socket Mode through bolt's handler."""
    with podbot_harness(tmp_path_factory.mktemp("app"), socket_mode=request.param == "socket-mode") as h:
        h.mode = request.param  # type: ignore[attr-defined]
        yield h


def test_run_then_get_shows_the_pod_running(harness: Harness) -> None:
    answer = harness.command("run web --image=nginx:1.16")
    assert "pod *web* created" in answer.text or "web" in answer.rendered
    assert not answer.is_ephemeral  # changes are shown to the channel
    harness.sim.advance(20)
    table = harness.command("get pods")
    assert table.is_ephemeral  # reads answer privately
    assert "web" in table.rendered and "Running" in table.rendered
    pod = harness.sim.store.get("pods", "default", "web").load()
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.16"


def test_usage_error_is_a_clear_ephemeral_message(harness: Harness) -> None:
    answer = harness.command("gte pods")
    assert answer.is_ephemeral
    assert "get" in answer.rendered  # did you mean


def test_unsigned_and_stale_requests_are_rejected(harness: Harness) -> None:
    if harness.mode == "socket-mode":  # type: ignore[attr-defined]
        pytest.skip("Socket Mode has no request signatures: the app token authenticates the connection")
    for tamper in (Tamper.BAD_SIGNATURE, Tamper.STALE_TIMESTAMP, Tamper.UNSIGNED):
        result = harness.slack.send_command("alice", "ops", "/pod", "run evil --image=nginx", tamper=tamper)
        assert result.reply.status == 401, tamper
    assert not harness.sim.store.list("pods", "default", lambda s: s.name == "evil")[0]


SEED_CREATE = "create\n" + SEED_POD


def test_seed_private_registry_story_through_slack(harness: Harness) -> None:
    created = harness.command(SEED_CREATE)
    assert "nginx" in created.rendered and not created.is_ephemeral
    uid = harness.sim.store.get("pods", "default", "nginx").load()["metadata"]["uid"]
    harness.sim.advance(30)
    described = harness.command("describe pod nginx")
    assert "ImagePullBackOff" in described.rendered or "ErrImagePull" in described.rendered
    assert "no basic auth credentials" in described.rendered
    assert "myregistrykey" in described.rendered
    harness.slack.click("alice", described, "Create secret myregistrykey")
    view = harness.slack.wait_for_view("alice")
    assert "10.0.0.130:5000" in str(view.json)
    mark = harness.slack.mark()
    result = harness.slack.submit_view("alice", values={"username": "test", "password": "123456"})
    assert not result.errors, result
    harness.runtime.pool.wait_idle(10)
    posted = harness.slack.wait_for_message(channel="ops", from_bot=True, after=mark)
    assert "myregistrykey" in posted.rendered and "123456" not in posted.rendered
    secret = harness.sim.store.get("secrets", "default", "myregistrykey").load()
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    harness.sim.advance(330)  # the kubelet's image back-off (max 5 min) runs out; it pulls again
    pod = harness.sim.store.get("pods", "default", "nginx").load()
    assert pod["metadata"]["uid"] == uid  # the same pod, not a recreated one
    assert pod["status"]["phase"] == "Running"
    table = harness.command("get pod nginx")
    assert "Running" in table.rendered


def test_secret_modal_refuses_missing_fields_inline(harness: Harness) -> None:
    text = "secret docker-registry other --docker-server=10.0.0.130:5000 --docker-username=test"
    assert harness.slack.send_command("alice", "ops", "/pod", text).ok
    view = harness.slack.wait_for_view("alice")
    assert "other" in str(view.json)  # the form is pre-filled from the command
    result = harness.slack.submit_view("alice", values={"username": ""})
    # Slack itself refuses empty required inputs before the bot sees them
    assert result.client_errors and not result.closed
    from podbot.sim.objects.store import NotFoundError

    with pytest.raises(NotFoundError):
        harness.sim.store.get("secrets", "default", "other")


def test_logs_static_and_help(harness: Harness) -> None:
    harness.command("run chatty --image=nginx:1.16")
    harness.sim.advance(40)
    logs = harness.command("logs chatty --tail=2")
    assert logs.is_ephemeral and "GET /" in logs.rendered
    static = harness.command("static")
    assert "kube-scheduler-node01" in static.rendered and "manifest" in static.rendered
    refused = harness.command("delete pod etcd-node01 -n kube-system")
    assert "static pod" in refused.rendered and harness.sim.store.get("pods", "kube-system", "etcd-node01")
    helped = harness.command("help init")
    assert "init" in helped.rendered.lower()


def test_chinese_channel_gets_chinese_answers(tmp_path: Path) -> None:
    config = 'locale: zh_CN\nchannels:\n  - channel: "*"\n'
    with podbot_harness(tmp_path, config=config) as h:
        answer = h.command("get pods -n kube-system")
        assert "个 Pod" in answer.rendered
        refused = h.command("gte pods")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.rendered)
