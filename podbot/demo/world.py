"""The demo world: a simulated (or real) cluster, the local Slack workspace and the real podbot app.

Test and demo infrastructure (it imports podbot.sim and podbot.localslack); ``podbot.cli`` starts it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from podbot.localslack import LocalSlack, Workspace
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime, utc_now
from podbot.sim.cluster import SimCluster

DEMO_CONFIG = """\
# podbot demo configuration: bob (in @sre) approves deletes; #ops works in namespace default.
locale: {locale}
approvals:
  approvers:
    - namespaces: ["*"]
      usergroups: [{sre}]
  expiry_seconds: 3600
channels:
  - channel: "#ops"
    default_namespace: default
  - channel: "#dev"
    default_namespace: default
"""


@dataclass
class DemoWorld:
    slack: LocalSlack
    runtime: Runtime
    sim: SimCluster | None
    channel: str = "ops"

    def advance(self, seconds: float) -> None:
        """Let time pass: simulated time on the simulator, real time on a real cluster."""
        if self.sim is not None:
            self.sim.advance(seconds)
        else:
            time.sleep(seconds)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the bot has finished every piece of work it accepted."""
        self.runtime.pool.wait_idle(timeout)


@contextmanager
def demo_world(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    locale: str = "en",
    state_dir: Path | None = None,
    sim_speed: float = 1.0,
) -> Iterator[DemoWorld]:
    """Start everything on loopback; stop it all on exit."""
    with ExitStack() as stack:
        if state_dir is None:
            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="podbot-demo-")))
        sim = None
        if kubeconfig is None:
            sim = stack.enter_context(SimCluster(speed=sim_speed, state_dir=state_dir / "sim"))
            kubeconfig = str(sim.kubeconfig_path)
        workspace = Workspace.demo()
        slack = stack.enter_context(LocalSlack(workspace))
        config = state_dir / "podbot.yaml"
        config.write_text(DEMO_CONFIG.format(locale=locale, sre=workspace.usergroup("sre").id))
        env = {
            **slack.bot_settings().env(),
            "KUBECONFIG": kubeconfig,
            "DATABASE_URL": f"sqlite:///{state_dir / 'podbot.sqlite3'}",
        }
        if context:
            env["PODBOT_CONTEXT"] = context
        runtime = Runtime(load_settings(env, str(config)), now=sim.clock.now if sim else utc_now)
        web = runtime.serve_http("127.0.0.1", 0)
        stack.callback(runtime.stop, 10)
        slack.use_http(f"{web.url}/slack/events")
        yield DemoWorld(slack, runtime, sim)
