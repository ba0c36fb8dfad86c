"""Every benchmark in one process tree, and one table: metric, podbot, baseline, ratio.

    .venv/bin/python bench/run_all.py [--pods 50000] [--scale 10000,50000,200000] [--quick]

Runs, one after the other (each spawns its own simulator, emulators and measured processes):
bench/digest.py at ``--pods`` with the decode floor, the typed client and kubectl; bench/digest.py
at each ``--scale`` size (sync, digest, RSS); bench/slack_acks.py; bench/alert_latency.py;
bench/summary_size.py. The baselines: the decode floor of the same bytes (the faster of orjson and
msgspec), the official client's typed path, ``kubectl get pods -A -o json``, a bare bolt app.
Ratios are podbot / baseline (lower is better for podbot) unless the row says otherwise.
``--quick`` is a smoke run at small sizes (its numbers mean little).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import alert_latency  # type: ignore[import-not-found]
import digest  # type: ignore[import-not-found]
import slack_acks  # type: ignore[import-not-found]
import summary_size  # type: ignore[import-not-found]


def pct(samples: list[float], p: float) -> float:
    return slack_acks.percentile(samples, p)


Row = tuple[str, str, str, str]


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:.0f} {unit}"


def row(
    metric: str, ours: float, base: float | None, unit: str, label: str = "", invert: bool = False
) -> Row:
    if base is None:
        return (metric, fmt(ours, unit), "—", "—")
    ratio = base / ours if invert else ours / base
    return (metric, fmt(ours, unit), f"{fmt(base, unit)} {label}".strip(), f"{ratio:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--scale", default="10000,50000,200000", help="pod counts for the scaling lines")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    args = parser.parse_args()
    pods = 2000 if args.quick else args.pods
    scale = [500, 2000] if args.quick else [int(n) for n in args.scale.split(",")]
    started = time.monotonic()
    rows: list[Row] = []

    main_run = digest.run(pods, with_kubectl=True)
    floor, cache, bot, typed = main_run["floor"], main_run["cache"], main_run["bot"], main_run["typed"]
    decode = min(floor["orjson_seconds"], floor["msgspec_seconds"])
    which = "orjson" if floor["orjson_seconds"] <= floor["msgspec_seconds"] else "msgspec"
    k = f"{pods // 1000}k"
    rows.append(
        row(
            f"initial sync, {k} pods + events + secrets",
            cache["sync_seconds"],
            decode,
            "s",
            f"(decode floor, {which})",
        )
    )
    rows.append(
        row(
            f"initial sync, {k} pods: speed-up over the typed client",
            cache["sync_seconds"],
            typed["cache_seconds"],
            "s",
            "(typed client)",
            invert=True,
        )
    )
    if "kubectl_json_seconds" in main_run:
        rows.append(
            row(
                f"initial sync, {k} pods: speed-up over kubectl get -A -o json",
                cache["sync_seconds"],
                main_run["kubectl_json_seconds"],
                "s",
                "(kubectl)",
                invert=True,
            )
        )
    rows.append(
        row(
            f"warm health digest, {k} pods, {bot['digest_problems']} problems (median)",
            statistics.median(bot["digest_seconds"]) * 1000,
            statistics.median(typed["digest_seconds"]) * 1000,
            "ms",
            "(typed, every pod)",
        )
    )
    # The ack front's memory does not depend on the pods: it is measured in the ack bench.
    acks = slack_acks.run(60, warmup=20) if args.quick else slack_acks.run()
    front = acks["podbot_processes"][1] if len(acks["podbot_processes"]) == 2 else None
    rows.append(
        row(f"bot process RSS, {k} pods cached", bot["rss"] / 1024, typed["rss"] / 1024, "MiB", "(typed)")
    )
    if front is not None:
        rows.append(row("ack front process, its own pages (USS)", front["uss"] / 1024, None, "MiB"))
        rows.append(
            row(
                f"whole bot (bot RSS + front's own), {k} pods",
                (bot["rss"] + front["uss"]) / 1024,
                typed["rss"] / 1024,
                "MiB",
                "(typed client)",
            )
        )

    sizes = summary_size.run(pods)
    rows.append(
        row("pod summary size", sizes["bytes_per_pod"], sizes["raw_bytes_per_pod"], "B/pod", "(raw JSON)")
    )

    for p, name in ((0.5, "p50"), (0.99, "p99")):
        rows.append(
            row(
                f"slash-command ack {name}, 20 concurrent",
                pct(acks["podbot_ack_ms"], p),
                pct(acks["bare_ack_ms"], p),
                "ms",
                "(bare bolt)",
            )
        )
    rows.append(
        row(
            "CPU per command (podbot: both processes)",
            acks["podbot_cpu_ms_per_command"],
            acks["bare_cpu_ms_per_command"],
            "ms",
            "(bare bolt)",
        )
    )
    if front is not None:
        rows.append(row("CPU per command: the ack front's part", front["cpu_ms_per_command"], None, "ms"))
    if acks.get("e2e_ms"):
        rows.append(row("answer posted (get pod), p50", statistics.median(acks["e2e_ms"]), None, "ms"))

    alerts = alert_latency.run(5, 50) if args.quick else alert_latency.run()
    rows.append(row("alert latency p50", statistics.median(alerts["latencies"]) * 1000, None, "ms"))
    rows.append(row("alert latency p95", pct(alerts["latencies"], 0.95) * 1000, None, "ms"))

    scaling = []
    for n in scale:
        result = main_run if n == pods else digest.run(n, with_floor=False, with_typed=False)
        scaling.append(
            (
                n,
                result["cache"]["sync_seconds"],
                statistics.median(result["bot"]["digest_seconds"]),
                result["bot"]["rss"] / 1024,
                result["bot"]["digest_problems"],
            )
        )

    print(
        f"bench/run_all.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; "
        f"{(time.monotonic() - started) / 60:.0f} min"
    )
    print()
    widths = [max(len(r[i]) for r in [("metric", "podbot", "baseline", "ratio"), *rows]) for i in range(4)]
    for r in [("metric", "podbot", "baseline", "ratio"), tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) + " |")
    print()
    syncs = ", ".join(f"{x:.2f}" for x in cache["all_sync_seconds"])
    print(f"sync runs (the fastest counts, as for the decode floor): {syncs} s")
    print(
        f"floor detail: {floor['bytes'] / 1e6:.0f} MB in {floor['pages']} pages, fetched in "
        f"{floor['fetch_seconds']:.2f} s; orjson {floor['orjson_seconds']:.2f} s, msgspec "
        f"{floor['msgspec_seconds']:.2f} s, json {floor['json_seconds']:.2f} s; typed lists alone "
        f"{typed['list_seconds']:.2f} s"
    )
    print()
    print("| pods | initial sync | warm digest (median) | problems | bot process RSS |")
    print("|---|---|---|---|---|")
    for n, sync, dig, rss, problems in scaling:
        print(f"| {n:,} | {sync:.2f} s | {dig * 1000:.1f} ms | {problems} | {rss:.0f} MiB |")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
