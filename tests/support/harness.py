"""Integration harness: podbot.sim + podbot.localslack + the real podbot app over loopback HTTP."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from podbot.core.settings import Settings
from podbot.localslack import LocalSlack, Message, Workspace
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime
from podbot.sim.cluster import SimCluster
from podbot.slack.manifest import app_manifest
from podbot.store.store import Store

DEMO_CONFIG = """
approvals:
  approvers:
    - namespaces: ["*"]
      usergroups: [{sre}]
channels:
  - channel: "*"  # without this, a channel the configuration does not name is read-only
"""


@dataclass
class Harness:
    sim: SimCluster
    slack: LocalSlack
    runtime: Runtime
    stopped: bool = False

    def stop_bot(self) -> None:
        """Stop the bot process; the simulator and the Slack workspace keep running."""
        if not self.stopped:
            self.runtime.stop(timeout=5)
            self.stopped = True

    def restart(self, settings: Settings | None = None) -> Runtime:
        """Start a new bot on the same (or these) settings and database, stopping the old one.

        The new bot serves HTTP (Slack's request URL is pointed at it), whatever the old one did."""
        settings = settings or self.runtime.settings
        self.stop_bot()
        self.runtime = Runtime(settings, now=self.sim.clock.now)
        self.stopped = False
        web = self.runtime.serve_http("127.0.0.1", 0)
        self.slack.use_http(f"{web.url}/slack/events")
        return self.runtime

    def command(
        self, text: str, *, user: str = "alice", channel: str = "ops", timeout: float = 10.0
    ) -> Message:
        """Type ``/pod text`` as ``user`` and return the bot's answer (the first message after it)."""
        mark = self.slack.mark()
        result = self.slack.send_command(user, channel, "/pod", text)
        assert result.ok, result
        if result.ack_message is not None:
            return result.ack_message
        self.runtime.pool.wait_idle(timeout)
        return self.slack.wait_for_message(
            channel=channel, user=user, from_bot=True, after=mark, timeout=timeout
        )


@functools.cache
def serve_env(tmp_path: Path, sim: SimCluster, slack: LocalSlack) -> dict[str, str]:
    """The environment of a ``python -m podbot serve`` process in HTTP mode on this sim and Slack,
    with the demo configuration and a SQLite database in ``tmp_path``."""
    config = tmp_path / "podbot.yaml"
    config.write_text(DEMO_CONFIG.replace("{sre}", slack.workspace.usergroup("sre").id))
    env = {
        **slack.bot_settings().env(),
        "KUBECONFIG": str(sim.kubeconfig_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'podbot.sqlite3'}",
        "PODBOT_CONFIG": str(config),
    }
    env.pop("SLACK_APP_TOKEN", None)  # served over HTTP
    return env


def migrated_sqlite() -> bytes:
    """A SQLite database file at the newest schema, made once per test process: a harness starts
    its bot on a copy instead of running every migration again (~50 ms a bot). The bot still
    checks the schema at start-up; ``test_store_migrations`` and the harnesses given a
    ``database_url`` start on an empty database."""
    with tempfile.TemporaryDirectory(prefix="podbot-schema-") as tmp:
        path = Path(tmp) / "podbot.sqlite3"
        with Store.open(f"sqlite:///{path}") as store:
            store.migrate()
        return path.read_bytes()


@contextmanager
def podbot_harness(
    tmp_path: Path,
    *,
    config: str = "",
    speed: float = 1.0,
    socket_mode: bool = False,
    workspace: Workspace | None = None,
    database_url: str | None = None,
    rbac_policy: Path | None = None,
) -> Iterator[Harness]:
    """The bot served over HTTP (signed requests), or connected over Socket Mode with the app token.

    ``config`` may use ``{sre}`` (the @sre group's ID); ``rbac_policy`` is the simulator's policy file.
    """
    workspace = workspace or Workspace.demo()
    # Socket Mode pings every 50 ms: the bot's client closes at the next one, not after its 3 s read timeout.
    with (
        SimCluster(speed=speed, rbac_policy=rbac_policy) as sim,
        LocalSlack(workspace, socket_ping_interval=0.05) as slack,
    ):
        config_file = tmp_path / "podbot.yaml"
        config_file.write_text((config or DEMO_CONFIG).replace("{sre}", workspace.usergroup("sre").id))
        env = {
            **slack.bot_settings().env(),
            "KUBECONFIG": str(sim.kubeconfig_path),
            "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'podbot.sqlite3'}",
        }
        if database_url is None:
            (tmp_path / "podbot.sqlite3").write_bytes(migrated_sqlite())
        runtime = Runtime(load_settings(env, str(config_file)), now=sim.clock.now)
        if socket_mode:
            gateway = slack.use_socket_mode()
            runtime.serve_socket_mode()
            assert gateway.wait_connected(timeout=10), "the bot did not connect over Socket Mode"
        else:
            web = runtime.serve_http("127.0.0.1", 0)
            slack.use_http(f"{web.url}/slack/events")
        # Installed with its manifest: Slack sends the message metadata events it subscribes to.
        slack.install(app_manifest(socket_mode=True) if socket_mode else app_manifest("https://podbot.test"))
        harness = Harness(sim, slack, runtime)
        try:
            yield harness
        finally:
            harness.stop_bot()
