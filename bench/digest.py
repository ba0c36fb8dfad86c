"""Benchmark: initial sync, health digest and memory of the watch cache, against its floors.

    .venv/bin/python bench/digest.py [--pods 50000] [--failing 0.02] [--repeat 7] [--no-typed]

Separate processes, so that each memory figure is one process's own:

* the **simulator** (API server only, no kubelets, as in bench/sim_list.py): ``--pods`` fully-formed
  pods loaded straight into its store, 2% of them failing in assorted ways (image pulls with the
  kubelet's events — credentials missing and not found —, crash loops, OOM kills, failed init
  containers, unschedulable, evicted), registry secrets in half the namespaces;
* the **floor**: the same pages (pods, events, secrets; limit 500) fetched as bytes, then decoded
  with orjson and with msgspec (to plain dicts and lists, page by page, each dropped after use);
  the faster decoder is the decode floor;
* the **cache**: a bare ``WatchCache``: time of the initial sync (pods, events, secrets), its RSS;
* the **bot**: the whole bot (``Runtime`` with its watch cache, scheduler, alert fan-out, Slack app,
  pointed at a local Slack emulator), a health digest of the whole cluster from its warm cache
  (``DigestPoster.compose``: diagnosis, grouping, rendering, the attached file), repeated, and
  the process's RSS;
* the **typed path** (bench/typed_baseline.py): the official client's typed lists into models,
  the same cache content built from the models' attributes, and a digest of every cached pod.

Prints measured numbers only (``--json`` for bench/run_all.py).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import multiprocessing as mp
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sim_list import TOKEN, list_metadata, make_pod  # type: ignore[import-not-found]

from podbot.localslack import LocalSlack, Workspace
from podbot.sim.api.server import ApiServer
from podbot.sim.clock import SimClock
from podbot.sim.objects.meta import stamp_new
from podbot.sim.objects.store import ObjectStore
from podbot.sim.wire.kubeconfig import write_kubeconfig

RESOURCES = ("pods", "events", "secrets")

FAILURES = ("pull_auth", "pull_missing", "crash", "oom", "init", "unschedulable", "evicted")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def break_pod(pod: dict[str, Any], how: str, now: datetime) -> dict[str, Any] | None:
    """Make ``pod`` fail in way ``how``; returns a kubelet event about it when the kubelet writes one."""
    meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
    container = spec["containers"][0]
    cs = status["containerStatuses"][0]
    early = iso(now - timedelta(minutes=40))
    recent = iso(now - timedelta(minutes=2))
    status["conditions"] = [c for c in status["conditions"] if c["type"] not in ("Ready", "ContainersReady")]
    cs["ready"] = False
    cs["started"] = False
    event = None
    if how in ("pull_auth", "pull_missing"):
        registry = "registry.corp.example:5000" if how == "pull_auth" else "docker.io"
        image = (
            f"{registry}/team/private-{hash(meta['namespace']) % 5}:2.0"
            if how == "pull_auth"
            else "nginx:1.99-typo"
        )
        container["image"] = cs["image"] = image
        spec["imagePullSecrets"] = [{"name": "regcred"}] if how == "pull_auth" else []
        cs["imageID"] = ""  # the kubelet reports "" until an image was pulled
        cs.pop("containerID", None)
        cs["state"] = {
            "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
        }
        status["phase"] = "Pending"
        cause = (
            f"Get https://{registry}/v2/team/private/manifests/2.0: no basic auth credentials"
            if how == "pull_auth"
            else f'failed to resolve reference "docker.io/library/{image}": '
            f"docker.io/library/{image}: not found"
        )
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.pull", "namespace": meta["namespace"]},
            "involvedObject": {
                "kind": "Pod",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
                "fieldPath": "spec.containers{app}",
            },
            "reason": "Failed",
            "message": f'Failed to pull image "{image}": rpc error: code = Unknown desc = {cause}',
            "type": "Warning",
            "count": 9,
            "firstTimestamp": early,
            "lastTimestamp": recent,
            "source": {"component": "kubelet", "host": spec["nodeName"]},
        }
    elif how == "crash":
        cs["restartCount"] = 9
        cs["state"] = {
            "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}
        }
        cs["lastState"] = {
            "terminated": {"exitCode": 1, "reason": "Error", "startedAt": recent, "finishedAt": recent}
        }
    elif how == "oom":
        cs["restartCount"] = 4
        cs["lastState"] = {
            "terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": early, "finishedAt": recent}
        }
    elif how == "init":
        spec["initContainers"] = [{"name": "migrate", "image": "registry.example.com/team/migrate:1.0"}]
        status["initContainerStatuses"] = [
            {
                "name": "migrate",
                "image": "registry.example.com/team/migrate:1.0",
                "imageID": "registry.example.com/team/migrate@sha256:" + "cd" * 32,
                "ready": False,
                "restartCount": 5,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "finishedAt": recent}},
            }
        ]
        cs["state"] = {"waiting": {"reason": "PodInitializing"}}
        status["phase"] = "Pending"
    elif how == "unschedulable":
        spec.pop("nodeName", None)
        status.clear()
        status.update(
            {
                "phase": "Pending",
                "qosClass": "Burstable",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/20 nodes are available: 20 Insufficient cpu. preemption: 0/20 "
                        "nodes are "
                        "available: 20 No preemption victims found for incoming pod.",
                        "lastTransitionTime": early,
                    }
                ],
            }
        )
        meta["creationTimestamp"] = early
    elif how == "evicted":
        status.clear()
        status.update(
            {
                "phase": "Failed",
                "reason": "Evicted",
                "message": "The node was low on resource: memory. "
                "Threshold quantity: 100Mi, available: 80Mi.",
                "startTime": early,
            }
        )
    return event


def serve(pods: int, namespaces: int, failing: float, conn: Connection) -> None:
    """The simulator child: API server + store with ``pods`` pods, ``failing`` of them broken."""
    store, clock = ObjectStore(), SimClock(speed=0)
    server = ApiServer(store, clock, admin_token=TOKEN)
    server.prepare()
    now = clock.now()
    stamp = iso(now)
    for n in range(namespaces):
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{n:02d}"}}
        store.create("namespaces", stamp_new({**namespace, "status": {"phase": "Active"}}, clock))
    per_ns = pods // namespaces
    every = max(1, round(1 / failing)) if failing > 0 else 0
    broken = 0
    started = time.perf_counter()
    for i in range(pods):
        pod = make_pod(f"team-{i // per_ns % namespaces:02d}", f"svc-{i % 40}-5d8c9b7f6d-{i:06d}", i, stamp)
        event = None
        if every and i % every == every // 2:
            event = break_pod(pod, FAILURES[broken % len(FAILURES)], now)
            broken += 1
        store.create("pods", pod)
        if event is not None:
            store.create("events", stamp_new(event, clock))
    # Registry secrets: half the namespaces have one for another registry (so "no entry" is possible).
    auth = base64.b64encode(json.dumps({"auths": {"other.example.com": {"auth": "eDp5"}}}).encode()).decode()
    for n in range(0, namespaces, 2):
        store.create(
            "secrets",
            stamp_new(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "kubernetes.io/dockerconfigjson",
                    "metadata": {"name": "other-registry", "namespace": f"team-{n:02d}"},
                    "data": {".dockerconfigjson": auth},
                },
                clock,
            ),
        )
    server.start()
    conn.send(
        {
            "url": server.url,
            "ca": server.ca_pem.decode(),
            "load_seconds": time.perf_counter() - started,
            "broken": broken,
            "now": now.timestamp(),
        }
    )
    conn.recv()
    server.stop()


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def measured(role: str, *args: Any) -> dict[str, Any]:
    """Run bench/digest_child.py ``role`` in a fresh interpreter that imports only what that role
    needs (not the simulator: its memory is not the bot's); the numbers it prints as JSON."""
    argv = [sys.executable, str(ROOT / "bench" / "digest_child.py"), role, json.dumps(args)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"digest_child.py {role} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child(target: Any, *args: Any) -> dict[str, Any]:
    """Run ``target(*args, conn)`` in a fresh (spawned) process; what it sends back."""
    ctx = mp.get_context("spawn")
    parent, end = ctx.Pipe()
    process = ctx.Process(target=target, args=(*args, end))
    process.start()
    result: dict[str, Any] = parent.recv()
    process.join(timeout=120)
    return result


def floor(url: str, ca: str, conn: Connection) -> None:
    """Fetch every page of every resource as bytes; then decode them all with each decoder."""
    import msgspec  # noqa: PLC0415
    import orjson  # noqa: PLC0415 - measured here only
    import urllib3  # noqa: PLC0415

    pool = urllib3.PoolManager(ssl_context=ssl.create_default_context(cadata=ca))
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    pages: list[bytes] = []
    started = time.perf_counter()
    for resource in RESOURCES:
        token = ""
        while True:
            query = "limit=500" + (f"&continue={token}" if token else "")
            data = pool.request("GET", f"{url}/api/v1/{resource}?{query}", headers=headers).data
            pages.append(data)
            token = list_metadata(data).get("continue", "")  # the head only: fetching is measured
            if not token:
                break
    fetch = time.perf_counter() - started
    out: dict[str, Any] = {"fetch_seconds": fetch, "bytes": sum(len(p) for p in pages), "pages": len(pages)}
    decoders = {"orjson": orjson.loads, "msgspec": msgspec.json.Decoder().decode, "json": json.loads}
    for name, decode in decoders.items():
        runs = []
        for _ in range(2 if name == "json" else 3):
            gc.collect()
            started = time.perf_counter()
            for page in pages:
                decode(page)
            runs.append(time.perf_counter() - started)
        out[f"{name}_seconds"] = min(runs)
    conn.send(out)


def run(
    pods: int = 50_000,
    *,
    namespaces: int = 50,
    failing: float = 0.02,
    repeat: int = 7,
    with_floor: bool = True,
    with_typed: bool = True,
    with_kubectl: bool = False,
    sync_runs: int = 3,
) -> dict[str, Any]:
    """One simulator, then each measuring child in turn; every child's numbers."""
    ctx = mp.get_context("fork")
    parent, end = ctx.Pipe()
    sim = ctx.Process(target=serve, args=(pods, namespaces, failing, end), daemon=True)
    sim.start()
    info = parent.recv()
    out: dict[str, Any] = {"pods": pods, "sim": info}
    tmp = Path(tempfile.mkdtemp(prefix="bench-digest-"))
    try:
        kubeconfig = str(write_kubeconfig(tmp / "kubeconfig", info["url"], TOKEN, info["ca"].encode()))
        if with_floor:
            out["floor"] = child(floor, info["url"], info["ca"])
        # The sync is repeated (a fresh process each time) and the fastest counts, as for the floor:
        # on a shared machine the minimum is the least disturbed run.
        runs = [measured("cache", kubeconfig, info["now"]) for _ in range(sync_runs)]
        out["cache"] = min(runs, key=lambda r: r["sync_seconds"])
        out["cache"]["all_sync_seconds"] = [r["sync_seconds"] for r in runs]
        # The Slack emulator runs here, not in the bot's process (its memory is not the bot's).
        with LocalSlack(Workspace.demo()) as slack:
            env = {**slack.bot_settings().env(), "KUBECONFIG": kubeconfig}
            out["bot"] = measured("bot", env, slack.workspace.channel("ops").id, info["now"], repeat)
        if with_typed:
            out["typed"] = measured("typed", kubeconfig, info["now"])
        if with_kubectl and shutil.which("kubectl"):
            argv = ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", str(tmp / "kube-cache")]
            subprocess.run([*argv, "get", "--raw", "/version"], capture_output=True, check=True)  # discovery
            started = time.perf_counter()
            subprocess.run([*argv, "get", "pods", "-A", "-o", "json"], capture_output=True, check=True)
            out["kubectl_json_seconds"] = time.perf_counter() - started
    finally:
        parent.send("stop")
        sim.join(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def report(out: dict[str, Any]) -> None:
    info, cache, bot_ = out["sim"], out["cache"], out["bot"]
    print(
        f"simulator: {out['pods']} pods, {info['broken']} failing ({', '.join(FAILURES)}), "
        f"loaded in {info['load_seconds']:.1f} s"
    )
    if "floor" in out:
        f = out["floor"]
        print(
            f"floor: {f['pages']} pages, {f['bytes'] / 1e6:.0f} MB fetched in {f['fetch_seconds']:.2f} s; "
            f"decoded by orjson {f['orjson_seconds']:.2f} s, msgspec {f['msgspec_seconds']:.2f} s, "
            f"json {f['json_seconds']:.2f} s"
        )
    every = ", ".join(f"{s:.2f}" for s in cache["all_sync_seconds"])
    print(
        f"watch cache initial sync (pods+events+secrets): {cache['sync_seconds']:.2f} s for {cache['pods']} "
        f"pods (fastest of {every} s); RSS {mib(cache['rss'])} (peak {mib(cache['hwm'])})"
    )
    if "floor" in out:
        f = out["floor"]
        decode = min(f["orjson_seconds"], f["msgspec_seconds"])
        print(f"  sync / decode floor: {cache['sync_seconds'] / decode:.2f}x (aim <= 2x)")
    digest = bot_["digest_seconds"]
    print(
        f"whole bot: synced in {bot_['sync_seconds']:.2f} s; health digest from the warm cache: median "
        f"{statistics.median(digest) * 1000:.1f} ms (min {min(digest) * 1000:.1f}, max "
        f"{max(digest) * 1000:.1f}) over {len(digest)} runs a minute apart (the first after the sync: "
        f"{bot_['first_digest_seconds'] * 1000:.0f} ms); {bot_['digest_problems']} problems, "
        f"{bot_['digest_upload_bytes']} bytes attached; CPU median "
        f"{statistics.median(bot_['digest_cpu_seconds']) * 1000:.1f} ms"
    )
    print(
        f"  bot RSS with {bot_['pods']} pods cached: {mib(bot_['rss'])} (peak {mib(bot_['hwm'])}; "
        f"{mib(bot_['rss_start'])} before it synced)"
    )
    if "typed" in out:
        t = out["typed"]
        print(
            f"typed client: lists {t['list_seconds']:.2f} s, + the same cache content "
            f"{t['cache_seconds']:.2f}"
            f" s; RSS {mib(t['rss'])}; digest of every pod median "
            f"{statistics.median(t['digest_seconds']) * 1000:.0f} ms"
        )
        print(f"  sync speed-up over the typed path: {t['cache_seconds'] / cache['sync_seconds']:.1f}x")
    if "kubectl_json_seconds" in out:
        print(f"kubectl get pods -A -o json: {out['kubectl_json_seconds']:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--failing", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-typed", action="store_true", help="skip the (slow) typed-client baseline")
    parser.add_argument("--no-floor", action="store_true", help="skip the decode floor")
    parser.add_argument("--kubectl", action="store_true", help="also time kubectl get pods -A -o json")
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON")
    args = parser.parse_args()
    out = run(
        args.pods,
        namespaces=args.namespaces,
        failing=args.failing,
        repeat=args.repeat,
        with_floor=not args.no_floor,
        with_typed=not args.no_typed,
        with_kubectl=args.kubectl,
    )
    if args.json:
        print(json.dumps(out))
    else:
        report(out)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
