"""Several clusters at once: `--context NAME` picks a kubeconfig context; channel policies limit them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from podbot.localslack import LocalSlack, Workspace
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime
from podbot.sim.cluster import SimCluster
from podbot.sim.objects.store import NotFoundError


def merge_kubeconfigs(named: dict[str, Path], target: Path) -> Path:
    """One kubeconfig with a context per simulator (each keeps its own CA and token)."""
    merged: dict = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
        "current-context": next(iter(named)),
    }
    for name, path in named.items():
        config = yaml.safe_load(path.read_text())
        merged["clusters"].append({"name": name, "cluster": config["clusters"][0]["cluster"]})
        merged["users"].append({"name": name, "user": config["users"][0]["user"]})
        merged["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    target.write_text(yaml.safe_dump(merged))
    return target


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SimCluster, SimCluster, LocalSlack, Runtime]]:
    tmp = tmp_path_factory.mktemp("multi")
    with (
        SimCluster(control_plane_static_pods=False) as east,
        SimCluster(control_plane_static_pods=False) as west,
        LocalSlack(Workspace.demo()) as slack,
    ):
        kubeconfig = merge_kubeconfigs(
            {"east": east.kubeconfig_path, "west": west.kubeconfig_path}, tmp / "kubeconfig"
        )
        config = tmp / "podbot.yaml"
        config.write_text(
            'channels:\n  - {channel: "#dev", contexts: [east]}\n  - {channel: "*"}\n'
            'approvals: {no_approval_namespaces: ["*"]}\n'
        )
        env = {
            **slack.bot_settings().env(),
            "KUBECONFIG": str(kubeconfig),
            "DATABASE_URL": f"sqlite:///{tmp / 'podbot.sqlite3'}",
        }
        runtime = Runtime(load_settings(env, str(config)), now=east.clock.now)
        slack.use_http(f"{runtime.serve_http('127.0.0.1', 0).url}/slack/events")
        try:
            yield east, west, slack, runtime
        finally:
            runtime.stop(timeout=5)


def ask(slack: LocalSlack, runtime: Runtime, text: str, channel: str = "ops") -> str:
    mark = slack.mark()
    result = slack.send_command("alice", channel, "/pod", text)
    assert result.ok
    if result.ack_message is not None:
        return result.ack_message.rendered
    runtime.pool.wait_idle(10)
    return slack.wait_for_message(channel=channel, user="alice", after=mark).rendered


def test_context_picks_the_cluster(world: tuple[SimCluster, SimCluster, LocalSlack, Runtime]) -> None:
    east, west, slack, runtime = world
    answer = ask(slack, runtime, "run web --image=nginx:1.16 --context west")
    assert "cluster west" in answer
    assert west.store.get("pods", "default", "web")
    with pytest.raises(NotFoundError):
        east.store.get("pods", "default", "web")
    assert "cluster east" in ask(slack, runtime, "get pods")  # the kubeconfig's current context
    assert "web" in ask(slack, runtime, "get pods --context west")


def test_unknown_context_names_the_known_ones(
    world: tuple[SimCluster, SimCluster, LocalSlack, Runtime],
) -> None:
    _, _, slack, runtime = world
    answer = ask(slack, runtime, "get pods --context north")
    assert "north" in answer and "east" in answer and "west" in answer


def test_channel_policy_limits_the_clusters(
    world: tuple[SimCluster, SimCluster, LocalSlack, Runtime],
) -> None:
    _, west, slack, runtime = world
    refused = ask(slack, runtime, "run other --image=nginx:1.16 --context west", channel="dev")
    assert "may not touch cluster west" in refused
    with pytest.raises(NotFoundError):
        west.store.get("pods", "default", "other")
