"""Benchmark: the watch cache and a health digest over 50,000 pods, against the typed client path.

    /work/venv/bin/python bench/digest.py [--pods 50000] [--failing 0.02] [--repeat 5]

Three processes, so that each memory figure is one process's own:

* the **simulator** (API server only, no kubelets, as in bench/sim_list.py): 50,000 fully-formed
  pods loaded straight into its store, 2% of them failing in assorted ways (image pulls with the
  kubelet's events — credentials missing and not found —, crash loops, OOM kills, failed init
  containers, unschedulable, evicted);
* the **bot**: (1) a bare ``WatchCache``: time and peak RSS of the initial sync (pods, events and
  secrets, raw JSON page by page); (2) the whole bot — ``Runtime`` with the digest service, its
  watch cache, scheduler and alert fan-out, pointed at a local Slack emulator — then a health
  digest of the whole cluster computed from its warm cache (``DigestPoster.compose``: diagnosis
  of every pod that is not quiet, grouping, rendering), repeated; and its resident memory;
* the **typed path**: the official client's ``list_pod_for_all_namespaces`` (plus typed events and
  secrets) into model objects, then the same digest from them (each model turned back into a dict
  with ``sanitize_for_serialization`` for the same summarize/diagnose code), with its peak RSS.

Prints measured numbers only; the aims (digest < 200 ms from the warm cache, initial sync >= 5x
faster than the typed path, whole bot < 300 MB) are printed next to them for comparison.
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from kubernetes import client, config
from sim_list import TOKEN, make_pod, rss_kib  # type: ignore[import-not-found]

from podbot.core.diagnosis.credentials import (
    REGISTRY_SECRET_TYPES,
    RegistryCredentialIndex,
    hosts_from_secret,
)
from podbot.core.digests import Scope, find_problems, health_digest
from podbot.core.model import DigestKind
from podbot.core.pods.summary import keep_note, note_from_event, remember, summarize
from podbot.core.records import Schedule
from podbot.k8s.client import Clusters
from podbot.k8s.watch import WatchCache
from podbot.localslack import LocalSlack, Workspace
from podbot.render.digests import render_health
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime
from podbot.sim.api.server import ApiServer
from podbot.sim.clock import SimClock
from podbot.sim.objects.meta import stamp_new
from podbot.sim.objects.store import ObjectStore
from podbot.sim.wire.kubeconfig import write_kubeconfig

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


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def bot(kubeconfig: str, now_epoch: float, repeat: int, conn: Connection) -> None:
    """The bot child: a bare watch cache sync, then the whole bot and its digest."""
    now = datetime.fromtimestamp(now_epoch, UTC)

    def clock() -> datetime:
        return now

    out: dict[str, Any] = {}
    pid = os.getpid()
    out["rss_start"] = rss_kib(pid)[0]
    clusters = Clusters(kubeconfig)
    cache = WatchCache(clusters.get(), now=clock)
    started = time.perf_counter()
    cache.start()
    assert cache.wait_synced(600), "the watch cache did not sync"
    out["sync_seconds"] = time.perf_counter() - started
    out["sync_pods"] = len(cache)
    out["rss_after_sync"], out["hwm_after_sync"] = rss_kib(pid)
    cache.stop()
    clusters.close()
    del cache
    gc.collect()

    tmp = Path(tempfile.mkdtemp(prefix="bench-digest-"))
    with LocalSlack(Workspace.demo()) as slack:
        env = {
            **slack.bot_settings().env(),
            "KUBECONFIG": kubeconfig,
            "DATABASE_URL": f"sqlite:///{tmp / 'podbot.sqlite3'}",
        }
        runtime = Runtime(load_settings(env), now=clock)
        runtime.leadership.start()  # the only replica: it runs the watch cache and the scheduler
        try:
            live = runtime.caches.get(None)
            assert live.wait_synced(600)
            sub = runtime.store.subscriptions.create(
                team_id="T1",
                channel_id=slack.workspace.channel("ops").id,
                kind=DigestKind.HEALTH,
                schedule=Schedule(every_seconds=3600),
                created_by="U1",
                now=now,
            )
            timings = []
            rendered = None
            for _ in range(repeat):
                started = time.perf_counter()
                rendered, marks = runtime.poster.compose(sub, now, Scope(live.context), "en")
                timings.append(time.perf_counter() - started)
            assert rendered is not None
            out["digest_seconds"] = timings
            out["digest_problems"] = len(marks)
            out["digest_blocks"] = len(rendered.blocks)
            out["digest_upload_bytes"] = len(rendered.upload.content) if rendered.upload else 0
            gc.collect()
            out["bot_rss"], out["bot_hwm"] = rss_kib(pid)
            out["bot_pods"] = len(live)
        finally:
            runtime.stop(timeout=10)
            shutil.rmtree(tmp, ignore_errors=True)
    conn.send(out)


def typed(kubeconfig: str, now_epoch: float, conn: Connection) -> None:
    """The typed-client child: list_pod_for_all_namespaces into models, then the same digest."""
    now = datetime.fromtimestamp(now_epoch, UTC)
    out: dict[str, Any] = {}
    pid = os.getpid()
    out["rss_start"] = rss_kib(pid)[0]
    api_client = config.new_client_from_config(config_file=kubeconfig)
    v1 = client.CoreV1Api(api_client)

    def typed_list(call: Any) -> list[Any]:
        items: list[Any] = []
        token = None
        while True:
            page = call(limit=500, _continue=token) if token else call(limit=500)
            items.extend(page.items)
            token = page.metadata._continue
            if not token:
                return items

    started = time.perf_counter()
    pods = typed_list(v1.list_pod_for_all_namespaces)
    events = typed_list(v1.list_event_for_all_namespaces)
    secrets = typed_list(v1.list_secret_for_all_namespaces)
    out["list_seconds"] = time.perf_counter() - started
    out["list_pods"] = len(pods)
    out["rss_after_list"], out["hwm_after_list"] = rss_kib(pid)

    started = time.perf_counter()
    plain = api_client.sanitize_for_serialization
    summaries = {}
    for pod in pods:
        summary = summarize(plain(pod), now=now)
        summaries[summary.key] = summary
    notes: dict[tuple[str, str], Any] = {}
    for event in events:
        note = note_from_event(plain(event))
        if note is None:
            continue
        key = (note.namespace, note.pod_name)
        notes[key] = keep_note(notes.get(key, ()), note)
        if key in summaries:
            summaries[key] = remember(summaries[key], note)
    entries = [
        (s.metadata.namespace, s.metadata.name, hosts_from_secret(plain(s)))
        for s in secrets
        if s.type in REGISTRY_SECRET_TYPES
    ]
    credentials = RegistryCredentialIndex.build(entries, namespaces={k[0] for k in summaries})
    # Lists + summaries, notes and credentials: the same cache content the watch cache's sync builds.
    out["cache_seconds"] = out["list_seconds"] + time.perf_counter() - started
    started = time.perf_counter()
    scope = Scope("typed")
    values = list(summaries.values())
    findings = find_problems(values, lambda key: notes.get(key, ()), credentials, now, scope=scope)
    digest = health_digest(values, findings, scope=scope, now=now)
    render_health(digest)
    out["digest_seconds"] = time.perf_counter() - started
    out["digest_problems"] = len(digest.findings)
    out["rss_end"], out["hwm_end"] = rss_kib(pid)
    conn.send(out)


def child(target: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, end = ctx.Pipe()
    process = ctx.Process(target=target, args=(*args, end))
    process.start()
    result: dict[str, Any] = parent.recv()
    process.join(timeout=120)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--failing", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    ctx = mp.get_context("fork")
    parent, end = ctx.Pipe()
    sim = ctx.Process(target=serve, args=(args.pods, args.namespaces, args.failing, end), daemon=True)
    sim.start()
    info = parent.recv()
    print(
        f"simulator: {args.pods} pods in {args.namespaces} namespaces, {info['broken']} failing "
        f"({', '.join(FAILURES)}), loaded in {info['load_seconds']:.1f} s"
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-digest-"))
    try:
        kubeconfig = write_kubeconfig(tmp / "kubeconfig", info["url"], TOKEN, info["ca"].encode())
        b = child(bot, str(kubeconfig), info["now"], args.repeat)
        t = child(
            typed,
            str(kubeconfig),
            info["now"],
        )
    finally:
        parent.send("stop")
        sim.join(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)

    digest = sorted(b["digest_seconds"])
    print()
    print("watch cache (raw JSON, page by page)")
    print(f"  initial sync of pods+events+secrets: {b['sync_seconds']:.2f} s for {b['sync_pods']} pods")
    print(
        f"  RSS before / after sync, peak:       {mib(b['rss_start'])} / {mib(b['rss_after_sync'])}, "
        f"{mib(b['hwm_after_sync'])}"
    )
    print("whole bot (Runtime: watch cache, scheduler, alert fan-out, Slack app)")
    print(
        f"  health digest from the warm cache:   best {digest[0] * 1000:.0f} ms, median "
        f"{statistics.median(digest) * 1000:.0f} ms over {len(digest)} runs (aim < 200 ms)"
    )
    print(
        f"  digest: {b['digest_problems']} problems, {b['digest_blocks']} blocks, "
        f"{b['digest_upload_bytes']} bytes attached"
    )
    print(
        f"  bot RSS with {b['bot_pods']} pods cached:     {mib(b['bot_rss'])} "
        f"(peak {mib(b['bot_hwm'])}; aim < 300 MB)"
    )
    print("typed client (list_pod_for_all_namespaces + typed events, secrets)")
    print(f"  typed lists:                          {t['list_seconds']:.2f} s for {t['list_pods']} pods")
    print(f"  RSS after the typed lists, peak:      {mib(t['rss_after_list'])}, {mib(t['hwm_after_list'])}")
    print(
        f"  then the digest from that cache:      {t['digest_seconds']:.2f} s "
        f"({t['digest_problems']} problems); "
        f"peak RSS {mib(t['hwm_end'])}"
    )
    print(
        f"  typed lists + the same cache content: {t['cache_seconds']:.2f} s "
        "(summaries, event notes, credentials from the models)"
    )
    print(
        "initial sync speed-up, same cache content: "
        f"{t['cache_seconds'] / b['sync_seconds']:.1f}x (aim >= 5x)"
    )
    print(f"  lists alone (typed lists / watch-cache sync): {t['list_seconds'] / b['sync_seconds']:.1f}x")
    print(
        f"  (typed cache + digest) / (sync + digest): "
        f"{(t['cache_seconds'] + t['digest_seconds']) / (b['sync_seconds'] + digest[0]):.1f}x"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
