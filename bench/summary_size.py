"""How much memory a PodSummary costs: builds N summaries from realistic pod JSON, prints bytes/pod.

Run from the repository root:  .venv/bin/python bench/summary_size.py [--pods 50000]

Each raw pod (JSON text, as the watch delivers it) is parsed, summarized and dropped, so only the
summaries stay alive, as in the watch cache. tracemalloc counts every allocation the summaries
hold (strings, floats, tuples, dataclasses); interned strings shared by many pods are counted
once. 2% of the pods fail in assorted ways (pull errors with long messages, crash loops, OOM,
pending, evicted), like the issue's benchmark cluster. Not a timed assertion: a measurement.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from podbot.core.pods.summary import PodSummary, summarize

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
IMAGES = [f"registry.corp.example/team-{i}/service-{i}:v1.{i % 7}.{i % 13}" for i in range(120)]
PULL_ERROR = (
    'rpc error: code = Unknown desc = failed to pull and unpack image "{image}": failed to resolve reference '
    '"{image}": pulling from host registry.corp.example failed with status code [manifests v1]: '
    "401 Unauthorized"
)


def ts(delta: timedelta) -> str:
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def raw_pod(i: int, rng: random.Random) -> dict[str, Any]:
    ns = f"team-{i % 50}"
    deployment = f"svc-{(i // 7) % 400}"
    rs = f"{deployment}-{rng.choice(['7d4b9c', '5f6a8b', '6c9d2e'])}"
    node = f"ip-10-0-{i % 100}-{(i * 7) % 250}.ec2.internal"
    created = ts(timedelta(hours=rng.randint(1, 2000)))
    n_containers = rng.choice([1, 1, 1, 2, 2, 3])
    images = [IMAGES[(i + k) % len(IMAGES)] for k in range(n_containers)]
    containers = [
        {
            "name": f"c{k}" if k else "app",
            "image": img,
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "env": [
                {"name": "LOG_LEVEL", "value": "info"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
            "resources": {
                "limits": {"cpu": "500m", "memory": "512Mi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            },
            "volumeMounts": [
                {
                    "name": "kube-api-access-abcde",
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "readOnly": True,
                }
            ],
        }
        for k, img in enumerate(images)
    ]
    statuses = [
        {
            "name": c["name"],
            "image": c["image"],
            "imageID": f"{c['image']}@sha256:{uuid.UUID(int=rng.getrandbits(128)).hex * 2}",
            "containerID": f"containerd://{uuid.UUID(int=rng.getrandbits(128)).hex * 2}",
            "state": {"running": {"startedAt": created}},
            "lastState": {},
            "ready": True,
            "restartCount": 0,
            "started": True,
        }
        for c in containers
    ]
    phase, reason, message = "Running", None, None
    roll = rng.random()
    if roll < 0.02:  # 2% failing in assorted ways
        kind = i % 5
        st = statuses[0]
        st["ready"], st["started"] = False, False
        if kind == 0:
            st["state"] = {
                "waiting": {"reason": "ErrImagePull", "message": PULL_ERROR.format(image=st["image"])}
            }
            phase = "Pending"
        elif kind == 1:
            st["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 5m0s restarting failed container",
                }
            }
            st["restartCount"] = rng.randint(3, 300)
            st["lastState"] = {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": ts(timedelta(minutes=3)),
                    "finishedAt": ts(timedelta(minutes=2)),
                }
            }
        elif kind == 2:
            st["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 5m0s restarting failed container",
                }
            }
            st["restartCount"] = rng.randint(3, 50)
            st["lastState"] = {
                "terminated": {
                    "exitCode": 137,
                    "reason": "OOMKilled",
                    "startedAt": ts(timedelta(minutes=3)),
                    "finishedAt": ts(timedelta(minutes=2)),
                }
            }
        elif kind == 3:
            phase, reason = "Failed", "Evicted"
            message = (
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: 60Mi. "
                "Container app was using 900Mi, request is 128Mi."
            )
        else:
            phase = "Pending"
            statuses = [{**s, "state": {"waiting": {"reason": "ContainerCreating"}}} for s in statuses]
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{rs}-{uuid.UUID(int=rng.getrandbits(128)).hex[:5]}",
            "generateName": f"{rs}-",
            "namespace": ns,
            "uid": str(uuid.UUID(int=rng.getrandbits(128))),
            "resourceVersion": str(100000 + i),
            "creationTimestamp": created,
            "labels": {"app": deployment, "pod-template-hash": rs.rsplit("-", 1)[1]},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs,
                    "uid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": containers,
            "restartPolicy": "Always",
            "serviceAccountName": "default",
            "nodeName": node,
            "imagePullSecrets": [{"name": "corp-registry"}],
            "terminationGracePeriodSeconds": 30,
        },
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": created},
                {
                    "type": "Ready",
                    "status": "True" if phase == "Running" else "False",
                    "lastTransitionTime": created,
                },
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": created},
            ],
            "hostIP": f"10.0.{i % 100}.{(i * 7) % 250}",
            "podIP": f"10.244.{i % 250}.{i % 200}",
            "startTime": created,
            "containerStatuses": statuses,
            "qosClass": "Burstable",
        },
    }
    if reason:
        pod["status"]["reason"] = reason
        pod["status"]["message"] = message
    return pod


def run(pods: int = 50_000, seed: int = 7) -> dict[str, float]:
    """Bytes per pod of the summaries alone and in a (namespace, name) dict; summarize() speed."""
    rng = random.Random(seed)
    # Wire JSON, generated before measuring (the watch cache does not keep it either).
    wire = [json.dumps(raw_pod(i, rng)).encode() for i in range(pods)]
    raw_bytes = sum(len(w) for w in wire)

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    cache: dict[tuple[str, str], PodSummary] = {}
    for blob in wire:
        summary = summarize(json.loads(blob), now=NOW)
        cache[summary.key] = summary  # keyed like the watch cache: (namespace, name)
    gc.collect()
    with_dict = tracemalloc.get_traced_memory()[0] - before
    summaries = list(cache.values())
    del cache
    gc.collect()
    only_summaries = tracemalloc.get_traced_memory()[0] - before - sys.getsizeof(summaries)
    tracemalloc.stop()

    # Timing without tracemalloc (which slows allocation down several times).
    parsed = [json.loads(blob) for blob in wire[:10_000]]
    started = time.perf_counter()
    for raw in parsed:
        summarize(raw, now=NOW)
    per_pod = (time.perf_counter() - started) / len(parsed)
    return {
        "pods": pods,
        "not_running": sum(1 for s in summaries if s.status != "Running"),
        "raw_bytes_per_pod": raw_bytes / pods,
        "bytes_per_pod": only_summaries / pods,
        "bytes_per_pod_with_key": with_dict / pods,
        "summarize_us": per_pod * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out = run(args.pods, args.seed)
    n = args.pods
    print(f"pods: {n} ({out['not_running']:.0f} not Running)  raw JSON: {out['raw_bytes_per_pod']:.0f} B/pod")
    print(
        f"summaries only:         {out['bytes_per_pod']:7.0f} B/pod  "
        f"({out['bytes_per_pod'] * n / 2**20:.1f} MiB total)"
    )
    print(
        f"with (ns, name) dict:   {out['bytes_per_pod_with_key']:7.0f} B/pod  "
        f"({out['bytes_per_pod_with_key'] * n / 2**20:.1f} MiB total)"
    )
    print(f"summarize(): {out['summarize_us']:.1f} us/pod (json.loads not included)")


if __name__ == "__main__":
    main()
