"""``podbot sim``: run the simulated cluster until Ctrl-C / SIGTERM.

Kept import-light (argparse only) so ``podbot --help`` stays fast; the simulator is imported in
``run``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the kubeconfig and the nodes' static pod folders live (default: a new temporary folder)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second; 0 = time moves only when told",
    )
    parser.add_argument(
        "--nodes", default="node01,node02", help="comma-separated node names (default node01,node02)"
    )
    parser.add_argument("--registry", type=Path, default=None, help="registry table YAML (default: built in)")
    parser.add_argument("--rbac", type=Path, default=None, help="RBAC policy YAML (default: built in)")
    parser.add_argument(
        "--no-control-plane", action="store_true", help="do not run the kubeadm control-plane static pods"
    )


def run(args: argparse.Namespace) -> int:
    # Imported here so that `podbot --help` does not load the simulator.
    from podbot.sim.auth.rbac import PolicyError  # noqa: PLC0415
    from podbot.sim.cluster import SimCluster  # noqa: PLC0415

    nodes = [n.strip() for n in str(args.nodes).split(",") if n.strip()]
    if not nodes:
        print("podbot sim: --nodes needs at least one node name", file=sys.stderr)
        return 2
    if args.speed < 0:
        print("podbot sim: --speed must not be negative", file=sys.stderr)
        return 2
    registry = None
    try:
        if args.registry is not None:
            from podbot.sim.images.registry import RegistryTable  # noqa: PLC0415

            registry = RegistryTable.load(args.registry)
        cluster = SimCluster(
            nodes=nodes,
            speed=args.speed,
            registry=registry,
            rbac_policy=args.rbac,
            state_dir=args.state_dir,
            control_plane_static_pods=not args.no_control_plane,
            host=args.host,
            port=args.port,
        )
    except (PolicyError, OSError, ValueError) as e:
        print(f"podbot sim: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        try:
            cluster.start()
        except OSError as e:
            print(f"podbot sim: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
            return 1
        print(f"podbot sim: Kubernetes API at {cluster.url} (nodes: {', '.join(nodes)})")
        print(f"podbot sim: kubeconfig written to {cluster.kubeconfig_path}")
        print("Try:")
        print(f"  export KUBECONFIG={cluster.kubeconfig_path}")
        print("  kubectl get pods -A")
        print(
            "Move simulated time or inject faults with the same credentials (see podbot/sim/api/faults.py):"
        )
        print("  echo '{}' | kubectl create --raw '/_sim/advance?seconds=60' -f -")
        print(
            """  echo '{"action":"fail","status":503,"count":2}' | kubectl create --raw /_sim/faults -f -"""
        )
        print("Stop with Ctrl-C.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("podbot sim: stopping", flush=True)
    finally:
        cluster.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0
