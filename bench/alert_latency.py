"""Benchmark: alert latency, from a pod entering a failing state in the simulator to the alert in Slack.

    .venv/bin/python bench/alert_latency.py [--trials 40]

Runs the whole bot (``Runtime``: watch cache, alert fan-out, Slack client) against ``podbot.sim``
at real speed and ``podbot.localslack``, with real-time alerts on in #ops. Each trial creates a pod
whose image cannot be pulled (a different image each time, so each trial is a new problem group);
the simulator's kubelet tries the pull and writes ``ErrImagePull``. A watcher on the simulator's
store stamps the moment that status is written; the Slack emulator stamps the moment the alert
naming that image arrives. Prints p50/p95/max of the difference, and then one burst of 500 pods
failing the same way, counting the alert messages it produced.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from podbot.core.records import ChannelSettings
from podbot.localslack import LocalSlack, Workspace
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime
from podbot.sim.cluster import SimCluster
from podbot.sim.objects.meta import stamp_new


def failing_since(sim: SimCluster, stamps: dict[str, float], stop: threading.Event) -> None:
    """Record when each pod's container first reports an image pull failure (store watch, in-process)."""
    watcher = sim.store.watch("pods", "default")
    while not stop.is_set():
        event = watcher.next(timeout=0.2)
        if event is None:
            continue
        pod = json.loads(event.obj.raw)
        for status in (pod.get("status") or {}).get("containerStatuses") or ():
            reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
            name = pod["metadata"]["name"]
            if reason in ("ErrImagePull", "ImagePullBackOff") and name not in stamps:
                stamps[name] = time.monotonic()
    watcher.close()


def pod(name: str, image: str, namespace: str = "default") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def run(trials: int = 40, burst: int = 500) -> dict[str, Any]:
    """The trials, then the burst; latencies in seconds, and what the burst produced."""
    out: dict[str, Any] = {}
    state = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    workspace = Workspace.demo()
    nodes = [f"node{n:02d}" for n in range(1, 8)]  # node01 is the tainted control plane; 6 x 110 pods of room
    with SimCluster(speed=1, nodes=nodes) as sim, LocalSlack(workspace) as slack:
        env = {
            **slack.bot_settings().env(),
            "KUBECONFIG": str(sim.kubeconfig_path),
            "DATABASE_URL": f"sqlite:///{state / 'podbot.sqlite3'}",
        }
        # #ops may use every verb (alerts included; podbot's default policy is read-only).
        (state / "podbot.yaml").write_text('channels:\n  - channel: "#ops"\n    verbs: "*"\n')
        runtime = Runtime(load_settings(env, str(state / "podbot.yaml")), now=sim.clock.now)
        runtime.leadership.start()  # the only replica: it runs the watchers and the alert fan-out
        ops = workspace.channel("ops").id
        runtime.store.channels.save(
            ChannelSettings(channel_id=ops, alerts_enabled=True, alert_context="podbot-sim"),
            by="bench",
            now=sim.clock.now(),
        )
        runtime.alert_channels.refresh()
        assert runtime.caches.get(None).wait_synced(30)
        stamps: dict[str, float] = {}
        stop = threading.Event()
        watcher = threading.Thread(target=failing_since, args=(sim, stamps, stop), daemon=True)
        watcher.start()
        latencies = []
        try:
            for i in range(trials):
                image = f"registry.example.com/team/missing-{i}:1.0"
                mark = slack.mark()
                sim.store.create("pods", stamp_new(pod(f"probe-{i}", image), sim.clock))
                message = slack.wait_for_message(channel="ops", contains=image, after=mark, timeout=60)
                arrived = time.monotonic()
                assert message.is_bot
                latencies.append(arrived - stamps[f"probe-{i}"])
            out["latencies"] = sorted(latencies)

            image = "registry.example.com/team/missing-burst:1.0"
            mark = slack.mark()
            for i in range(burst):
                sim.store.create("pods", stamp_new(pod(f"burst-{i:03d}", image), sim.clock))
            first = slack.wait_for_message(channel="ops", contains=image, after=mark, timeout=60)
            deadline = time.monotonic() + 60
            while sum(1 for n in stamps if n.startswith("burst-")) < burst and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(3)
            alerts = [m for m in slack.messages_since(mark) if m.is_bot and image in m.rendered]
            failing = sum(1 for n in stamps if n.startswith("burst-"))
            out["burst"] = {
                "failing": failing,
                "alerts": len(alerts),
                "updates": sum(1 for m in alerts if m.is_reply),
                "first": first.ts,
            }
        finally:
            stop.set()
            watcher.join(5)
            runtime.stop(timeout=10)
    return out


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--burst", type=int, default=500)
    args = parser.parse_args()
    out = run(args.trials, args.burst)
    latencies = out["latencies"]
    print(f"alert latency over {len(latencies)} trials (pod ErrImagePull written -> alert in #ops):")
    print(
        f"  p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms (aim: p95 < 2000 ms)"
    )
    b = out["burst"]
    print(
        f"burst: {args.burst} pods created, {b['failing']} reported the pull failure; alert messages naming "
        f"that image: {b['alerts']} ({b['updates']} of them thread updates; first one: {b['first']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
