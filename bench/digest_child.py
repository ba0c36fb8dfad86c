"""The measured processes of bench/digest.py, each in an interpreter of its own.

    python bench/digest_child.py cache|bot|typed '<JSON list of arguments>'

Prints one line of JSON. ``BENCH_PROFILE=path`` writes a cProfile of the bot's warm digests there.
Imports only what the role needs, so that the RSS it reports is the
bot's (or the typed client's) and not the simulator's or the Slack emulator's.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def cache_sync(kubeconfig: str, now_epoch: float, conn: list[Any]) -> None:
    """A bare watch cache: the initial sync of pods, events and secrets; RSS after it."""
    from podbot.k8s.client import Clusters  # noqa: PLC0415
    from podbot.k8s.watch import WatchCache  # noqa: PLC0415

    now = datetime.fromtimestamp(now_epoch, UTC)
    out: dict[str, Any] = {"rss_start": rss_kib(os.getpid())[0]}
    clusters = Clusters(kubeconfig)
    cache = WatchCache(clusters.get(), now=lambda: now)
    started = time.perf_counter()
    cache.start()
    assert cache.wait_synced(900), "the watch cache did not sync"
    out["sync_seconds"] = time.perf_counter() - started
    out["pods"] = len(cache)
    gc.collect()
    out["rss"], out["hwm"] = rss_kib(os.getpid())
    cache.stop()
    clusters.close()
    conn.append(out)


def bot(
    slack_env: dict[str, str], channel: str, now_epoch: float, repeat: int, conn: list[dict[str, Any]]
) -> None:
    """The whole bot: sync, health digests from the warm cache, resident memory."""
    from podbot.core.digests import Scope  # noqa: PLC0415
    from podbot.core.model import DigestKind  # noqa: PLC0415
    from podbot.core.records import Schedule  # noqa: PLC0415
    from podbot.server.config import load_settings  # noqa: PLC0415
    from podbot.server.runtime import Runtime  # noqa: PLC0415
    from podbot.server.serve import tune_for_acks, tune_malloc  # noqa: PLC0415

    tune_malloc()  # what `podbot serve` does first

    clock = [datetime.fromtimestamp(now_epoch, UTC)]  # the bot's clock: a minute passes per digest
    out: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-digest-"))
    env = {**slack_env, "DATABASE_URL": f"sqlite:///{tmp / 'podbot.sqlite3'}"}
    # A bot's steady state: the schema is already current (a previous start, or `podbot db upgrade`
    # run before a deploy), so this process does not load Alembic, as a restarted replica does not.
    migrate = [sys.executable, "-m", "podbot", "db", "upgrade"]
    subprocess.run(migrate, env={**os.environ, **env}, check=True, capture_output=True)
    runtime = Runtime(load_settings(env), now=lambda: clock[0])
    tune_for_acks()  # what `podbot serve` does after start-up (start-up objects out of the GC's reach)
    out["rss_start"] = rss_kib(os.getpid())[0]
    started = time.perf_counter()
    runtime.leadership.start()  # the only replica: it runs the watch cache and the scheduler
    try:
        live = runtime.caches.get(None)
        scope = Scope(live.context)
        assert live.wait_synced(900)
        out["sync_seconds"] = time.perf_counter() - started
        sub = runtime.store.subscriptions.create(
            team_id="T1",
            channel_id=channel,
            kind=DigestKind.HEALTH,
            schedule=Schedule(every_seconds=3600),
            created_by="U1",
            now=clock[0],
        )
        started = time.perf_counter()
        runtime.poster.compose(sub, clock[0], scope, "en")  # the first one after the sync
        out["first_digest_seconds"] = time.perf_counter() - started
        timings, cpu = [], []
        rendered = None
        marks: list[str] = []
        profile = os.environ.get("BENCH_PROFILE")
        profiler = None
        if profile:
            import cProfile  # noqa: PLC0415

            profiler = cProfile.Profile()
        for _ in range(repeat):
            clock[0] += timedelta(minutes=1)  # so time-dependent findings are computed anew
            started, started_cpu = time.perf_counter(), time.thread_time()
            if profiler:
                profiler.enable()
            rendered, marks = runtime.poster.compose(sub, clock[0], scope, "en")
            if profiler:
                profiler.disable()
            timings.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - started_cpu)
        if profiler and profile:
            profiler.dump_stats(profile)
        assert rendered is not None
        out["digest_seconds"] = timings
        out["digest_cpu_seconds"] = cpu  # this thread's CPU: what the digest costs on a busy machine
        out["digest_problems"] = len(marks)
        out["digest_upload_bytes"] = len(rendered.upload.content) if rendered.upload else 0
        gc.collect()
        out["rss"], out["hwm"] = rss_kib(os.getpid())
        out["pods"] = len(live)
    finally:
        runtime.stop(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    conn.append(out)


def typed(kubeconfig: str, now_epoch: float, conn: list[Any]) -> None:
    """The typed-client child: typed lists, the same cache content from the models, a digest."""
    from kubernetes import client, config  # noqa: PLC0415
    from typed_baseline import view  # noqa: PLC0415

    from podbot.core.diagnosis.credentials import (  # noqa: PLC0415
        REGISTRY_SECRET_TYPES,
        RegistryCredentialIndex,
        hosts_from_secret,
    )
    from podbot.core.digests import Scope, find_problems, health_digest, status_totals  # noqa: PLC0415
    from podbot.core.pods.summary import keep_note, note_from_event, remember, summarize  # noqa: PLC0415
    from podbot.render.digests import render_health  # noqa: PLC0415

    now = datetime.fromtimestamp(now_epoch, UTC)
    out: dict[str, Any] = {}
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
    out["pods"] = len(pods)
    started = time.perf_counter()
    summaries = {}
    for pod in pods:
        summary = summarize(view(pod), now=now)
        summaries[summary.key] = summary
    notes: dict[tuple[str, str], Any] = {}
    for event in events:
        note = note_from_event(view(event))
        if note is None:
            continue
        key = (note.namespace, note.pod_name)
        notes[key] = keep_note(notes.get(key, ()), note)
        if key in summaries:
            summaries[key] = remember(summaries[key], note)
    entries = [
        (s.metadata.namespace, s.metadata.name, hosts_from_secret(view(s)))
        for s in secrets
        if s.type in REGISTRY_SECRET_TYPES
    ]
    credentials = RegistryCredentialIndex.build(entries, namespaces={k[0] for k in summaries})
    out["cache_seconds"] = out["list_seconds"] + time.perf_counter() - started
    out["rss"], out["hwm"] = rss_kib(os.getpid())
    del pods, events, secrets
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        scope = Scope("typed")
        values = list(summaries.values())
        findings = find_problems(values, lambda key: notes.get(key, ()), credentials, now, scope=scope)
        render_health(health_digest(status_totals(values, scope), findings, scope=scope, now=now))
        timings.append(time.perf_counter() - started)
    out["digest_seconds"] = timings
    out["digest_problems"] = len(findings)
    conn.append(out)


ROLES = {"cache": cache_sync, "bot": bot, "typed": typed}

if __name__ == "__main__":
    # Measure the modules a deployed podbot loads: its image installs the runtime dependencies only
    # (deploy/Dockerfile), but this virtualenv also has the test dependency kubernetes-validate,
    # which the client's `kubernetes.dynamic` imports whenever it is installed (+2.7 MiB with
    # jsonschema). Blocking it makes that import fail as it does in the image.
    sys.modules["kubernetes_validate"] = None  # type: ignore[assignment]
    results: list[dict[str, Any]] = []
    ROLES[sys.argv[1]](*json.loads(sys.argv[2]), results)
    print(json.dumps(results[0]))
