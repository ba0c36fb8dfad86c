"""The demo world: a simulated (or real) cluster, the local Slack workspace and the real podbot app.

Test and demo infrastructure (it imports podbot.sim and podbot.localslack); ``podbot.cli`` starts it.

The bot's leader-only work (digest scheduler, watch caches, alert fan-out) runs here as in
``podbot serve``. After every step ``settle`` waits until the bot has done what the simulated
clock asks of it, so digests and alerts appear in the step that caused them: the bot's requests
finish, the watch caches reach the simulator's newest resourceVersion, the scheduler posts what
is due, and the alert fan-out completes one cycle.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from podbot.localslack import LocalSlack, Workspace
from podbot.server.config import load_settings
from podbot.server.runtime import Runtime, utc_now
from podbot.sim.cluster import SimCluster
from podbot.sim.objects.store import WatchEvent

DEMO_CONFIG = """\
# podbot demo configuration: bob (in @sre) approves deletes; #ops works in namespace default.
locale: {locale}
timezone: {timezone}
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

SETTLE_SECONDS = 30.0
# The longest simulated jump between two looks of the bot: a real podbot's alert sweep (30 s),
# longer for long waits (a 60th of the wait), so that `wait 1d` takes seconds, not minutes.
STEP_SECONDS = 30.0
STEPS_PER_WAIT = 60


class SettleTimeout(RuntimeError):
    """The bot did not finish its work within ``SETTLE_SECONDS`` (a podbot bug, or a stuck cluster)."""


@dataclass
class Versions:
    """The simulator's newest resourceVersion per resource and per (resource, namespace)."""

    newest: dict[object, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, event: WatchEvent) -> None:  # a store listener: called under the store lock
        with self.lock:
            self.newest[event.resource] = event.rv
            self.newest[(event.resource, event.obj.namespace)] = event.rv

    def target(self, resource: str, namespace: str) -> int:
        with self.lock:
            return self.newest.get((resource, namespace) if namespace else resource, 0)


@dataclass
class DemoWorld:
    slack: LocalSlack
    runtime: Runtime
    sim: SimCluster | None
    channel: str = "ops"
    versions: Versions = field(default_factory=Versions)

    def advance(self, seconds: float) -> None:
        """Let time pass: simulated time on the simulator (stopping at every digest due on the
        way, so each one is posted at its time), real time on a real cluster."""
        if self.sim is None:
            time.sleep(seconds)
            self.settle()
            return
        end = self.sim.clock.now() + timedelta(seconds=seconds)
        step = timedelta(seconds=max(STEP_SECONDS, seconds / STEPS_PER_WAIT))
        while True:
            now = self.sim.clock.now()
            due = self.runtime.scheduler.next_due()
            stop = min(end, now + step)
            if due is not None and now < due < stop:
                stop = due
            self.sim.advance(max(0.0, (stop - now).total_seconds()))
            self.settle()
            if stop >= end:
                return

    @contextmanager
    def scripted(self) -> Iterator[None]:
        """Simulated time moves only with ``wait`` while a scenario plays (the tour at the prompt
        plays as it does without a terminal), then flows again at the speed it had."""
        if self.sim is None:
            yield
            return
        speed = self.sim.clock.speed
        self.sim.clock.set_speed(0.0)
        try:
            yield
        finally:
            self.sim.clock.set_speed(speed)

    def settle(self, timeout: float = SETTLE_SECONDS) -> None:
        """Wait until the bot has finished every piece of work it accepted and everything the
        cluster's current state and the clock ask of its leader-only work."""
        if not self.runtime.pool.wait_idle(timeout):
            raise SettleTimeout(f"the bot's requests did not finish within {timeout:g}s")
        if self.sim is None or not self.runtime.digests.running:
            return
        self._caught_up(timeout)
        self.runtime.sweeper.wake()  # approvals that expired on the way
        if not (self.runtime.scheduler.settle(timeout) and self.runtime.alerts.settle(timeout)):
            raise SettleTimeout(f"digests and alerts did not settle within {timeout:g}s")

    def _caught_up(self, timeout: float) -> None:
        """Wait until every watch stream has seen the simulator's newest change of its resource."""
        deadline = time.monotonic() + timeout
        for cache in self.runtime.caches.running():
            for (resource, namespace), stats in list(cache.stats.items()):
                target = self.versions.target(resource.value, namespace)
                while not (stats.synced and int(stats.resource_version or 0) >= target):
                    if time.monotonic() > deadline:
                        raise SettleTimeout(
                            f"the watch of {resource.value} did not catch up within {timeout:g}s"
                        )
                    time.sleep(0.01)


@contextmanager
def demo_world(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    locale: str = "en",
    timezone: str = "UTC",
    state_dir: Path | None = None,
    sim_speed: float = 1.0,
) -> Iterator[DemoWorld]:
    """Start everything on loopback; stop it all on exit."""
    with ExitStack() as stack:
        if state_dir is None:
            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="podbot-demo-")))
        sim = None
        versions = Versions()
        if kubeconfig is None:
            sim = stack.enter_context(SimCluster(speed=sim_speed, state_dir=state_dir / "sim"))
            sim.store.add_listener(versions.saw)
            kubeconfig = str(sim.kubeconfig_path)
        workspace = Workspace.demo()
        slack = stack.enter_context(LocalSlack(workspace))
        config = state_dir / "podbot.yaml"
        config.write_text(
            DEMO_CONFIG.format(locale=locale, timezone=timezone, sre=workspace.usergroup("sre").id)
        )
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
        world = DemoWorld(slack, runtime, sim, versions=versions)
        world.settle()
        yield world
