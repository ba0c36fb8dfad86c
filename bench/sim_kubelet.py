"""Benchmark: what the simulated kubelets cost with many pods in the store.

    .venv/bin/python bench/sim_kubelet.py [--pods 50000] [--nodes 20] [--run 200]

1. ``--pods`` fully-formed running pods (bench/sim_list.py's shape) are created directly in the
   store across ``--nodes`` nodes; the kubelets adopt them. Prints the time to work through the
   ADDED events, the clock timers left afterwards (adopted pods need none), and what simulated
   hours cost (no per-pod work per tick).
2. ``--run`` Pending pods go through the scheduler and the kubelets for real (pull, start, events);
   prints the time that takes and what a simulated hour of them costs.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sim_list import make_pod
from podbot.sim.clock import SimClock
from podbot.sim.images.registry import RegistryTable
from podbot.sim.kubelet.pool import KubeletPool
from podbot.sim.objects.meta import stamp_new
from podbot.sim.objects.podspec import default_pod
from podbot.sim.objects.resources import builtin_resources
from podbot.sim.objects.store import ObjectStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--run", type=int, default=200)
    args = parser.parse_args()

    clock = SimClock(speed=0, start=datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    store = ObjectStore()
    for rt in builtin_resources():
        store.register(rt.storage, rt.indexer)
    nodes = [f"node{i:02d}" for i in range(args.nodes)]
    with tempfile.TemporaryDirectory() as state:
        pool = KubeletPool(
            store, clock, nodes, RegistryTable.default(), Path(state), control_plane_static_pods=True
        )
        pool.start()
        clock.advance(30)
        now = clock.timestamp()
        started = time.perf_counter()
        for i in range(args.pods):
            store.create("pods", make_pod(f"ns-{i % 50:02d}", f"pod-{i:05d}", i, now))
        created = time.perf_counter()
        clock.advance(0)
        drained = time.perf_counter()
        timers = len([t for t in clock._timers if not t.cancelled])
        clock.advance(3600)
        hour = time.perf_counter()
        print(f"{args.pods} running pods created in the store: {created - started:.2f}s")
        print(f"kubelets adopted them in {drained - created:.2f}s; live clock timers afterwards: {timers}")
        print(f"one simulated hour with them: {hour - drained:.2f}s of CPU")

        started = time.perf_counter()
        for i in range(args.run):
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"run-{i:04d}", "namespace": "default"},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
            }
            default_pod(pod)
            store.create("pods", stamp_new(pod, clock))
        clock.advance(60)
        ran = time.perf_counter()
        phases: dict[str, int] = {}
        for stored in store.list("pods", "default")[0]:
            phase = stored.load()["status"]["phase"]
            phases[phase] = phases.get(phase, 0) + 1
        clock.advance(3600)
        done = time.perf_counter()
        print(
            f"{args.run} new pods scheduled and started in {ran - started:.2f}s (phases after 60s: {phases})"
        )
        print(f"one more simulated hour: {done - ran:.2f}s; store resourceVersion {store.resource_version}")
        pool.stop()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
