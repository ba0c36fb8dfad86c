"""What the command language costs: parse time per command; the manifest loader on big and hostile input.

Run from the repository root:  .venv/bin/python bench/commands_parse.py

Prints the median of several runs for: ``parse`` of typical commands; ``load_manifests`` on a
50-document, ~235 KiB manifest with libyaml's event parser and with the pure-Python reader; and
the refusal of a "billion laughs" document (time and traced peak memory). A measurement, not a
timed assertion.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podbot.commands import parse
from podbot.core import kubeyaml
from podbot.core.manifests import ManifestError, load_manifests

COMMANDS = [
    "kubectl get pods -n kube-system -l 'app in (web,api)' -o wide",
    "kubectl run nginx --image=nginx:1.16 --replicas=3 --generator=run-pod/v1",
    "kubectl create secret docker-registry myregistrykey --docker-server=10.0.0.130:5000 "
    "--docker-username=test --docker-password=123456",
    "logs nginx -c init-db -p --tail=100 --since=1h",
    'subscribe health --cron "0 9 * * 1-5" -n prod -n dev',
]
POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i}, labels: {{app: web}}}}\nspec:\n  containers:\n"
    "    - {{name: web, image: '10.0.0.130:5000/nginx:latest', env: [{{name: A, value: '1'}}]}}\n"
    "  imagePullSecrets: [{{name: myregistrykey}}]\n"
)


def _median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _billion_laughs() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def _refuse(text: str) -> None:
    try:
        load_manifests(text)
    except ManifestError:
        return
    raise AssertionError("not refused")


def main() -> None:
    _refuse("x: [")  # load the message catalogs once, outside the measurements
    for command in COMMANDS:

        def batch(text: str = command) -> None:
            for _ in range(200):
                parse(text)

        print(f"parse  {_median_ms(batch, 5) / 200 * 1000:7.1f} us  {command[:70]}")

    big = "---\n".join(POD.format(i=i) for i in range(49))
    big += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  x: ["
    big += ", ".join(str(i) for i in range(30000)) + "]\n"
    size = len(big.encode()) // 1024
    fast_ms = _median_ms(lambda: load_manifests(big), 5)
    fast = kubeyaml.Loader
    kubeyaml.Loader = kubeyaml._PureLoader
    try:
        pure_ms = _median_ms(lambda: load_manifests(big), 3)
    finally:
        kubeyaml.Loader = fast
    print(f"load_manifests  {size} KiB, 50 documents: {fast_ms:.0f} ms with libyaml events")
    print(f"load_manifests  same, pure-Python reader: {pure_ms:.0f} ms")

    bomb = _billion_laughs()
    tracemalloc.start()
    elapsed = _median_ms(lambda: _refuse(bomb), 5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"billion laughs ({len(bomb)} bytes, 10^9 nodes once expanded): refused in {elapsed:.1f} ms")
    print(f"billion laughs: traced peak memory {peak // 1024} KiB")


if __name__ == "__main__":
    main()
