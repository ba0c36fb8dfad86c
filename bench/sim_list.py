"""Benchmark: 50,000 pods in podbot.sim's API server, listed by kubectl and by Python.

    .venv/bin/python bench/sim_list.py [--pods 50000] [--page-size 500] [--namespaces 50]

The simulator runs in a child process (so the numbers below measure *its* memory, not the
client's): the store is filled in-process with fully-formed running pods (defaulted spec, kubelet
status, ~3 KB of JSON each), then served over HTTPS. No kubelets run: this measures the API server.
Prints: load time, `kubectl get pods -A -o json` wall time, a raw paginated list from Python
(urllib3 over HTTPS: bytes only, then json.loads of every page with and without the cyclic GC),
`kubectl get pods -A` (server-side Table), and the simulator's resident memory (current and peak).
Timings on a shared 2-core machine are noisy: the Python lists are repeated (best and median).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import urllib3

from podbot.sim.api.server import ApiServer
from podbot.sim.clock import SimClock
from podbot.sim.objects.meta import stamp_new
from podbot.sim.objects.store import ObjectStore
from podbot.sim.wire.kubeconfig import write_kubeconfig

TOKEN = "bench-admin-token"


def make_pod(namespace: str, name: str, i: int, now: str) -> dict[str, Any]:
    node = f"node{i % 20:02d}"
    ip = f"10.244.{(i // 250) % 256}.{i % 250 + 2}"
    volume = f"kube-api-access-{i:05d}"[-21:]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"00000000-0000-4000-8000-{i:012d}",
            "creationTimestamp": now,
            "labels": {
                "app": f"svc-{i % 40}",
                "pod-template-hash": "5d8c9b7f6d",
                "tier": "backend" if i % 2 else "web",
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"svc-{i % 40}-5d8c9b7f6d",
                    "uid": f"10000000-0000-4000-8000-{i % 40:012d}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": f"registry.example.com/team/svc-{i % 40}:1.{i % 7}.0",
                    "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "REGION", "value": "eu-west-1"}],
                    "resources": {
                        "limits": {"cpu": "500m", "memory": "256Mi"},
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                    },
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [
                        {
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            "name": volume,
                            "readOnly": True,
                        }
                    ],
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "nodeName": node,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
            ],
            "volumes": [
                {
                    "name": volume,
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                    "name": "kube-root-ca.crt",
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                            "path": "namespace",
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                }
            ],
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
                for t in (
                    "PodReadyToStartContainers",
                    "Initialized",
                    "Ready",
                    "ContainersReady",
                    "PodScheduled",
                )
            ],
            "hostIP": f"192.168.1.{i % 20 + 10}",
            "hostIPs": [{"ip": f"192.168.1.{i % 20 + 10}"}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "qosClass": "Burstable",
            "startTime": now,
            "containerStatuses": [
                {
                    "name": "app",
                    "image": f"registry.example.com/team/svc-{i % 40}:1.{i % 7}.0",
                    "imageID": f"registry.example.com/team/svc-{i % 40}@sha256:{'ab' * 32}",
                    "containerID": f"containerd://{i:064x}",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "lastState": {},
                    "state": {"running": {"startedAt": now}},
                }
            ],
        },
    }


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def serve(pods: int, namespaces: int, conn: Connection) -> None:
    """The child: build the API server, load the pods, serve until told to stop."""
    store, clock = ObjectStore(), SimClock(speed=0)
    server = ApiServer(store, clock, admin_token=TOKEN)
    server.prepare()
    now = clock.timestamp()
    started = time.perf_counter()
    for n in range(namespaces):
        store.create(
            "namespaces",
            stamp_new(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": f"team-{n:02d}"},
                    "status": {"phase": "Active"},
                },
                clock,
            ),
        )
    per_ns = pods // namespaces
    size = 0
    for i in range(pods):
        created = store.create(
            "pods",
            make_pod(f"team-{i // per_ns % namespaces:02d}", f"svc-{i % 40}-5d8c9b7f6d-{i:06d}", i, now),
        )
        if i == 0:
            size = len(json.dumps(created, separators=(",", ":")))
    load_seconds = time.perf_counter() - started
    server.start()
    conn.send(
        {"url": server.url, "ca": server.ca_pem.decode(), "load_seconds": load_seconds, "pod_bytes": size}
    )
    conn.recv()  # wait for "stop"
    server.stop()


_DECODER = json.JSONDecoder()


def list_metadata(page: bytes) -> dict[str, Any]:
    """The ListMeta of a page without parsing its items (the server writes metadata first)."""
    start = page.index(b'"metadata":') + len(b'"metadata":')
    end = page.index(b',"items":', start)
    meta: dict[str, Any] = _DECODER.decode(page[start:end].decode())
    return meta


def python_paginated_list(url: str, ca: str, page_size: int, parse: str) -> tuple[float, int]:
    """Every page over HTTPS with urllib3; parse = "none" (ListMeta only), "json", or "json-gc-paused"."""
    pool = urllib3.PoolManager(ssl_context=ssl.create_default_context(cadata=ca))
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    started = time.perf_counter()
    count, token = 0, ""
    pages: list[Any] = []
    if parse == "json-gc-paused":
        gc.disable()
    try:
        while True:
            query = f"limit={page_size}" + (f"&continue={token}" if token else "")
            data = pool.request("GET", f"{url}/api/v1/pods?{query}", headers=headers).data
            if parse == "none":
                meta = list_metadata(data)
                count += data.count(b'{"apiVersion":"v1","kind":"Pod"')
            else:
                page = json.loads(data)
                pages.append(page["items"])  # a client keeps what it lists
                meta = page["metadata"]
                count += len(page["items"])
            token = meta.get("continue", "")
            if not token:
                break
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    pool.clear()
    return elapsed, count


def kubectl(kubeconfig: Path, cache: Path, *args: str) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started, len(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per Python measurement (best and median shown)"
    )
    args = parser.parse_args()

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=serve, args=(args.pods, args.namespaces, child), daemon=True)
    process.start()
    info = parent.recv()
    rss_loaded, _ = rss_kib(process.pid)
    print(
        f"pods loaded:                      {args.pods} in {args.namespaces} namespaces "
        f"(~{info['pod_bytes']} bytes of JSON each)"
    )
    print(f"load time (store, in-process):    {info['load_seconds']:.2f} s")
    print(f"simulator RSS after load:         {rss_loaded / 1024:.0f} MiB")

    tmp = Path(tempfile.mkdtemp(prefix="sim-bench-"))
    try:
        kubeconfig = write_kubeconfig(tmp / "kubeconfig", info["url"], TOKEN, info["ca"].encode())
        labels = {
            "none": "bytes + ListMeta only (the simulator's cost)",
            "json": "json.loads of every page, kept",
            "json-gc-paused": "json.loads, kept, cyclic GC paused",
        }
        for parse, label in labels.items():
            runs = []
            for _ in range(args.repeat):
                elapsed, count = python_paginated_list(info["url"], info["ca"], args.page_size, parse)
                assert count == args.pods, count
                runs.append(elapsed)
            runs.sort()
            print(
                f"python paginated list, limit={args.page_size}: best {runs[0]:5.2f} s, "
                f"median {runs[len(runs) // 2]:5.2f} s  {label}"
            )
        if shutil.which("kubectl"):
            kubectl(kubeconfig, tmp / "cache", "get", "--raw", "/version")  # warm discovery
            elapsed, size = kubectl(kubeconfig, tmp / "cache", "get", "pods", "-A", "-o", "json")
            print(f"kubectl get pods -A -o json:      {elapsed:.2f} s  ({size / 1e6:.0f} MB of output)")
            elapsed, size = kubectl(kubeconfig, tmp / "cache", "get", "pods", "-A")
            print(f"kubectl get pods -A (Table):      {elapsed:.2f} s  ({size / 1e6:.1f} MB of output)")
        else:
            print("kubectl get pods -A -o json:      skipped (kubectl not on PATH)")
        rss, peak = rss_kib(process.pid)
        print(f"simulator RSS now / peak:         {rss / 1024:.0f} MiB / {peak / 1024:.0f} MiB")
    finally:
        parent.send("stop")
        process.join(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
