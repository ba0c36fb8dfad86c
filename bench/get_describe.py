"""Benchmark: `/pod get pods` over a 5,000-pod namespace and `/pod describe pod` of a pod with 50 events.

    .venv/bin/python bench/get_describe.py [--pods 5000] [--events 50] [--runs 30]

Each run is what podbot does for the slash command after the ack: parse the text, call the API
(podbot.sim over HTTPS, through podbot.k8s.client), diagnose (describe), render Block Kit.
Prints median and p95 per command. Aim: `get` under 300 ms on this 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_list import make_pod  # the sim benchmark's realistic ~3 KB running pod

from podbot.commands import parse
from podbot.k8s import actions
from podbot.k8s.client import Clusters
from podbot.render.messages import render
from podbot.sim.cluster import SimCluster
from podbot.sim.objects.meta import stamp_new

NAMESPACE = "bench"


def load(sim: SimCluster, pods: int, events: int) -> str:
    now = sim.clock.timestamp()
    sim.store.create(
        "namespaces",
        stamp_new(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}, "spec": {}}, sim.clock
        ),
    )
    for i in range(pods):
        pod = make_pod(NAMESPACE, f"web-{i:05d}", i, now)
        pod["spec"]["nodeName"] = "virtual-node"  # no simulated kubelet adopts these
        sim.store.create("pods", pod)
    target = sim.store.get("pods", NAMESPACE, "web-00042").load()
    for i in range(events):
        sim.store.create(
            "events",
            stamp_new(
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": f"web-00042.{i:04x}", "namespace": NAMESPACE},
                    "involvedObject": {
                        "kind": "Pod",
                        "namespace": NAMESPACE,
                        "name": "web-00042",
                        "uid": target["metadata"]["uid"],
                        "apiVersion": "v1",
                        "fieldPath": "spec.containers{app}",
                    },
                    "reason": "BackOff" if i % 2 else "Pulling",
                    "type": "Warning" if i % 2 else "Normal",
                    "message": f"Back-off restarting failed container app in pod web-00042 ({i})",
                    "source": {"component": "kubelet", "host": "virtual-node"},
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "count": i + 1,
                },
                sim.clock,
            ),
        )
    return "web-00042"


def measure(label: str, runs: int, once: callable) -> None:  # type: ignore[valid-type]
    once()  # warm the connection pool and caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        once()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
    print(f"{label:<46} median {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms   ({runs} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with SimCluster(control_plane_static_pods=False) as sim:
        started = time.perf_counter()
        name = load(sim, args.pods, args.events)
        print(f"loaded {args.pods} pods and {args.events} events in {time.perf_counter() - started:.1f} s")
        clusters = Clusters(str(sim.kubeconfig_path))
        kube = clusters.get()

        def get_pods() -> None:
            result = actions.get_pods(parse(f"get pods -n {NAMESPACE}"), kube)  # type: ignore[arg-type]
            rendered = render(result)
            assert rendered.upload is not None and rendered.upload.content.count("\n") == args.pods

        def describe() -> None:
            result = actions.describe_pod(
                parse(f"describe pod {name} -n {NAMESPACE}"),
                kube,  # type: ignore[arg-type]
                datetime.now(UTC),
            )
            assert len(result.events) == args.events
            render(result, now=datetime.now(UTC))

        measure(f"get pods ({args.pods} pods, parse+API+render)", args.runs, get_pods)
        measure(f"describe pod ({args.events} events, +diagnosis)", args.runs, describe)
        clusters.close()


if __name__ == "__main__":
    main()
