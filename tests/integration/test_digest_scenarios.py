"""Digests and alerts end to end: podbot.sim + podbot.localslack + the real app, on simulated time.

The simulator runs at speed 0: time moves only with ``sim.advance``; after each jump the test calls
``runtime.wakeup()`` so the scheduler and the alert fan-out look at the clock at once.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from podbot.localslack import Message
from podbot.sim.objects.meta import stamp_new
from tests.support.builders import active_namespace
from tests.support.harness import Harness, podbot_harness
from tests.support.seed import SEED_POD
from tests.support.waits import wait_until

SEED_CREATE = "create\n" + SEED_POD

IMAGE = "10.0.0.130:5000/nginx:latest"


def advance_to(h: Harness, when: datetime) -> None:
    """Jump simulated time to ``when`` and let the digest service look at the clock."""
    h.sim.advance(max(0.0, (when - h.sim.clock.now()).total_seconds()))
    h.runtime.wakeup()


def advance(h: Harness, seconds: float) -> None:
    h.sim.advance(seconds)
    h.runtime.wakeup()


def bot_messages(h: Harness, channel: str = "ops", *, top_level: bool = True) -> list[Message]:
    return [
        m
        for m in h.slack.messages(channel)
        if m.is_bot and not m.is_ephemeral and (not top_level or not m.is_reply)
    ]


def seed_pod_status(h: Harness, name: str = "nginx") -> str:
    raw = h.sim.store.get("pods", "default", name).load()
    statuses = raw["status"].get("containerStatuses") or [{}]
    state = statuses[0].get("state") or {}
    return str((state.get("waiting") or {}).get("reason") or ("Running" if "running" in state else "?"))


def registry_secret() -> dict:
    auth = base64.b64encode(b"test:123456").decode()
    config = {"auths": {"10.0.0.130:5000": {"username": "test", "password": "123456", "auth": auth}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "myregistrykey", "namespace": "default"},
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }


def test_subscription_commands_list_and_stop_digests(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        answer = h.command('subscribe health --cron "0 9 * * 1-5" -n default')
        assert not answer.is_ephemeral
        assert "pod-health digest #1" in answer.rendered and "namespaces default" in answer.rendered
        h.command("subscribe image-pulls --every 2h")
        listed = h.command("subscriptions")
        assert listed.is_ephemeral
        assert "#1 pod-health digest, on `0 9 * * mon,tue,wed,thu,fri` (UTC)" in listed.rendered
        assert "#2 image-pull digest, every 2h" in listed.rendered
        jobs = {job.id for job in h.runtime.scheduler.get_jobs()}
        assert {"digest-1", "digest-2"} <= jobs
        stopped = h.command("unsubscribe 1")
        assert "Stopped digest #1" in stopped.rendered
        assert "#1" not in h.command("subscriptions").rendered
        assert "digest-1" not in {job.id for job in h.runtime.scheduler.get_jobs()}
        missing = h.command("unsubscribe 1")
        assert missing.is_ephemeral and "no active digest #1" in missing.rendered
        other_channel = h.command("unsubscribe 2", channel="dev")
        assert "no active digest #2" in other_channel.rendered  # only the channel's own


def test_a_cron_digest_runs_on_the_channels_clock_and_shows_its_times_there(tmp_path: Path) -> None:
    """Issue 14: readers in China Standard Time. #ops shows times in Asia/Shanghai; a cron in that
    channel means 09:00 there (01:00 UTC) unless it names another zone with --tz."""
    config = 'channels:\n  - {channel: "#ops", timezone: Asia/Shanghai}\n'
    with podbot_harness(tmp_path, speed=0, config=config) as h:
        answer = h.command('subscribe health --cron "0 9 * * *"')
        start = h.sim.clock.now()
        due = (start + timedelta(hours=8)).replace(hour=9, minute=0, second=0, microsecond=0)
        if due <= start + timedelta(hours=8):
            due += timedelta(days=1)
        due -= timedelta(hours=8)  # 09:00 in Shanghai, as UTC
        assert f"{(due + timedelta(hours=8)):%Y-%m-%d} 09:00 UTC+8" in answer.rendered  # "Next one: ..."
        assert "(Asia/Shanghai)" in answer.rendered
        other = h.command('subscribe image-pulls --cron "0 9 * * *" --tz UTC')
        assert "(UTC)" in other.rendered and "09:00 UTC+8" not in other.rendered
        mark = h.slack.mark()
        advance_to(h, due)
        digest = h.slack.wait_for_message(channel="ops", contains="Pod health", after=mark, timeout=10)
        assert f"Digest of {(due + timedelta(hours=8)):%Y-%m-%d} 09:00 UTC+8" in digest.rendered


def test_a_health_digest_is_posted_on_schedule_once(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        h.command("subscribe health --every 1h")
        sub = h.runtime.store.subscriptions.for_channel(h.slack.workspace.channel("ops").id)[0]
        advance(h, 1800)
        assert h.runtime.digests.scheduler.settle(10)  # what is due by the clock has run
        assert not [m for m in bot_messages(h) if "Pod health" in m.rendered]  # not due yet
        mark = h.slack.mark()
        advance(h, 1800)
        digest = h.slack.wait_for_message(channel="ops", contains="Pod health", after=mark, timeout=10)
        assert "all healthy" in digest.rendered and "Running" in digest.rendered
        due = sub.created_at + timedelta(hours=1)
        wait_until(lambda: getattr(h.runtime.store.claims.get(sub.id, due), "posted_at", None) is not None)
        claim = h.runtime.store.claims.get(sub.id, due)
        assert claim is not None and claim.message_ts == digest.ts and claim.attempt == 1
        advance(h, 60)
        assert h.runtime.digests.scheduler.settle(10)
        assert len([m for m in bot_messages(h) if "Pod health" in m.rendered]) == 1


def test_seed_private_registry_pod_in_the_image_pull_digest_then_resolved(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        h.command("subscribe image-pulls --every 1h")
        start = h.sim.clock.now()
        h.command(SEED_CREATE)
        advance(h, 60)
        assert seed_pod_status(h) in ("ErrImagePull", "ImagePullBackOff")

        mark = h.slack.mark()
        advance_to(h, start + timedelta(hours=1))
        digest = h.slack.wait_for_message(channel="ops", contains="Image pulls", after=mark, timeout=10)
        assert "1 failing image" in digest.rendered
        assert IMAGE in digest.rendered
        assert "image pull secret myregistrykey does not exist in namespace default" in digest.rendered
        assert "Affected: nginx (container nginx)" in digest.rendered
        assert digest.has_button("Create secret myregistrykey")

        # The fix button opens the secret modal (the password never goes through the channel).
        h.slack.click("alice", digest, "Create secret myregistrykey")
        view = h.slack.wait_for_view("alice")
        assert "10.0.0.130:5000" in str(view.json) and "myregistrykey" in str(view.json)
        mark = h.slack.mark()
        result = h.slack.submit_view("alice", values={"username": "test", "password": "123456"})
        assert not result.errors, result
        h.runtime.pool.wait_idle(10)
        created = h.slack.wait_for_message(channel="ops", contains="secret myregistrykey created", after=mark)
        assert "123456" not in created.rendered

        advance(h, 300)  # the kubelet's next pull attempt uses the new secret
        wait_until(lambda: seed_pod_status(h) == "Running")
        mark = h.slack.mark()
        advance_to(h, start + timedelta(hours=2))
        second = h.slack.wait_for_message(channel="ops", contains="Image pulls", after=mark, timeout=10)
        assert "every image pulls" in second.rendered
        assert "Resolved since the previous digest (1)" in second.rendered
        assert IMAGE in second.rendered
        assert len([m for m in bot_messages(h) if "Image pulls" in m.rendered]) == 2


def test_an_alert_is_posted_once_updated_in_its_thread_then_resolved(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        answer = h.command("alerts on")
        assert "Real-time alerts are on" in answer.rendered
        mark = h.slack.mark()
        h.command(SEED_CREATE)
        advance(h, 60)
        alert = h.slack.wait_for_message(channel="ops", contains="image pull failure", after=mark, timeout=10)
        assert IMAGE in alert.rendered and alert.has_button("Create secret myregistrykey")
        assert "1 pod affected: nginx" in alert.rendered

        # The same problem goes on: no second alert, however often the fan-out looks.
        for _ in range(3):
            advance(h, 60)
            assert h.runtime.alerts.settle(10)  # one whole sweep after the jump
        alerts = [m for m in bot_messages(h) if "image pull failure" in m.rendered]
        assert [m.ts for m in alerts] == [alert.ts]

        # A second pod failing the same way: one update in the alert's thread (after the interval).
        advance(h, 15 * 60)
        second = SEED_CREATE.replace("name: nginx\n", "name: nginx-2\n", 1)
        h.command(second)
        advance(h, 60)
        wait_until(lambda: len(h.slack.thread("ops", alert.ts)) == 2)
        update = h.slack.thread("ops", alert.ts)[1]
        assert "Still failing: 2 pods" in update.rendered
        assert [m.ts for m in bot_messages(h) if "image pull failure" in m.rendered] == [alert.ts]

        # The secret arrives; both pods start; the alert is edited to "resolved".
        h.sim.store.create("secrets", stamp_new(registry_secret(), h.sim.clock))
        advance(h, 300)
        wait_until(lambda: seed_pod_status(h) == "Running" and seed_pod_status(h, "nginx-2") == "Running")
        h.runtime.wakeup()

        def resolved() -> bool:
            current = next(m for m in h.slack.messages("ops") if m.ts == alert.ts)
            return current.edited and "Resolved" in current.rendered

        wait_until(resolved)
        current = next(m for m in h.slack.messages("ops") if m.ts == alert.ts)
        assert IMAGE in current.rendered
        assert h.runtime.store.alerts.open_alerts() == []
        off = h.command("alerts off")
        assert "alerts are off" in off.rendered


@pytest.mark.slow
def test_500_pods_failing_the_same_way_make_one_alert(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0) as h:
        h.command("alerts on -n batch")
        h.sim.store.create(
            "namespaces",
            stamp_new(active_namespace("batch"), h.sim.clock),
        )
        mark = h.slack.mark()
        for i in range(500):
            h.sim.store.create("pods", stamp_new(failing_pod(f"worker-{i:03d}"), h.sim.clock))
        h.runtime.wakeup()
        alert = h.slack.wait_for_message(channel="ops", contains="image pull failure", after=mark, timeout=20)
        cache = h.runtime.caches.get(None)
        wait_until(lambda: sum(1 for p in cache.pods() if p.namespace == "batch") == 500)
        for _ in range(3):
            h.runtime.wakeup()
            time.sleep(0.3)
        alerts = [m for m in h.slack.messages_since(mark) if m.is_bot and "image pull failure" in m.rendered]
        assert [m.ts for m in alerts if not m.is_reply] == [alert.ts]
        assert "registry.example.com/team/worker:9.9" in alert.rendered
        (row,) = h.runtime.store.alerts.open_alerts()
        wait_until(lambda: h.runtime.store.alerts.open_alerts()[0].peak_count == 500)
        assert row.channel_id == h.slack.workspace.channel("ops").id


def failing_pod(name: str) -> dict:
    """A pod on a node no kubelet runs, already failing to pull (as a kubelet would report it)."""
    image = "registry.example.com/team/worker:9.9"
    message = (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed to resolve '
        f'reference "{image}": {image}: not found'
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "batch", "labels": {"app": "worker"}},
        "spec": {"nodeName": "node-gone", "containers": [{"name": "worker", "image": image}]},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "worker",
                    "image": image,
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "ErrImagePull", "message": message}},
                }
            ],
        },
    }


def test_the_leader_only_work_stops_and_starts_again(tmp_path: Path) -> None:
    """Leader election will call stop() on losing the lease and start() on winning it again."""
    with podbot_harness(tmp_path, speed=0) as h:
        service = h.runtime.digests
        service.stop()
        assert not service.running and service.caches.running() == []
        answer = h.command("subscribe health --every 1h")  # commands work on every replica
        assert "pod-health digest #1" in answer.rendered
        advance(h, 3600)
        time.sleep(0.5)
        assert not [m for m in bot_messages(h) if "Pod health" in m.rendered]  # nobody leads
        mark = h.slack.mark()
        service.start()  # the missed run time is within the misfire grace: it is posted now
        service.wakeup()
        digest = h.slack.wait_for_message(channel="ops", contains="Pod health", after=mark, timeout=10)
        assert "Posted late" not in digest.rendered  # due at this very (simulated) minute
        assert service.running and service.caches.running()


RESTRICTED = """
channels:
  - channel: "#dev"
    namespaces: ["dev-*"]
    verbs: ["get", "describe", "subscribe", "subscriptions", "unsubscribe", "alerts"]
  - channel: "#general"
    verbs: ["get"]
"""


def test_digests_and_alerts_stay_within_the_channel_policy(tmp_path: Path) -> None:
    with podbot_harness(tmp_path, speed=0, config=RESTRICTED) as h:
        refused = h.command("subscribe health -n prod", channel="dev")
        assert refused.is_ephemeral and "may not touch namespace prod" in refused.rendered
        answer = h.command("subscribe image-pulls", channel="dev")
        assert "namespaces dev-*" in answer.rendered
        (sub,) = h.runtime.store.subscriptions.for_channel(h.slack.workspace.channel("dev").id)
        assert sub.namespaces == ("dev-*",)
        alerts = h.command("alerts on", channel="dev")
        assert "namespaces dev-*" in alerts.rendered
        settings = h.runtime.store.channels.get(h.slack.workspace.channel("dev").id)
        assert settings is not None and settings.alerts_enabled and settings.alert_namespaces == ("dev-*",)
        not_allowed = h.command("subscribe health", channel="general")
        assert "may not use `subscribe`" in not_allowed.rendered
        assert h.runtime.store.subscriptions.for_channel(h.slack.workspace.channel("general").id) == []
