"""``SimCluster``: the whole simulated cluster in one object (API server + kubelets + clock).

    with SimCluster(speed=0) as cluster:          # speed 0: time moves only with advance()
        run(["kubectl", "get", "pods", "-A"], env={"KUBECONFIG": str(cluster.kubeconfig_path)})
        cluster.advance(300)                      # five simulated minutes, timers included
        cluster.faults.fail(503, count=2)         # the next two API calls fail

The API server and the kubelets share one ObjectStore and one SimClock; the kubelets are
in-process controllers writing the store directly. ``start()`` registers the resources and the
bootstrap objects, starts the kubelets, the clock's timer thread and HTTPS, and writes the
kubeconfig (admin bearer token) under ``state_dir``; ``stop()`` undoes all of it.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from podbot.sim.api.faults import Faults
from podbot.sim.api.server import ApiServer
from podbot.sim.auth.rbac import Policy
from podbot.sim.clock import SimClock
from podbot.sim.images.registry import RegistryTable
from podbot.sim.kubelet.pool import KubeletPool
from podbot.sim.objects.store import ObjectStore
from podbot.sim.wire.kubeconfig import write_kubeconfig

log = logging.getLogger(__name__)


class SimCluster:
    def __init__(
        self,
        *,
        nodes: Sequence[str] = ("node01", "node02"),
        speed: float = 1.0,
        registry: RegistryTable | None = None,
        rbac_policy: Path | None = None,
        state_dir: Path | None = None,
        control_plane_static_pods: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._owns_state_dir = state_dir is None
        self.state_dir = (
            Path(state_dir) if state_dir is not None else Path(tempfile.mkdtemp(prefix="podbot-sim-"))
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = ObjectStore()
        self.clock = SimClock(speed=speed)
        self.faults = Faults(self.store)
        # The admin credential lives only in memory and in the 0600 kubeconfig.
        self._admin_token = secrets.token_urlsafe(32)
        self.kubelets: KubeletPool = KubeletPool(
            self.store,
            self.clock,
            list(nodes),
            registry if registry is not None else RegistryTable.default(),
            self.state_dir,
            control_plane_static_pods,
        )
        self.api = ApiServer(
            self.store,
            self.clock,
            admin_token=self._admin_token,
            logs=self.kubelets,
            policy=Policy.load(rbac_policy),
            faults=self.faults,
            host=host,
            port=port,
        )
        self.kubeconfig_path = self.state_dir / "kubeconfig"
        self._clock_thread: threading.Thread | None = None
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> SimCluster:
        if self._started:
            return self
        self.api.prepare()
        self.kubelets.start()
        self._clock_thread = threading.Thread(target=self.clock.run_forever, name="sim-clock", daemon=True)
        self._clock_thread.start()
        self.api.start()
        write_kubeconfig(self.kubeconfig_path, self.url, self._admin_token, self.api.ca_pem)
        self._started = True
        log.info("podbot.sim: API server at %s (kubeconfig %s)", self.url, self.kubeconfig_path)
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.api.stop()
        self.kubelets.stop()
        self.clock.stop()
        if self._clock_thread is not None:
            self._clock_thread.join(timeout=5)
        self.store.close_watches()
        if self._owns_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- handy accessors -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.api.url

    @property
    def ca_pem(self) -> bytes:
        """The CA (self-signed serving certificate) in the kubeconfig."""
        return self.api.ca_pem

    @property
    def admin_token(self) -> str:
        """The admin bearer token (also in the kubeconfig); never log it."""
        return self._admin_token

    def advance(self, seconds: float) -> None:
        """Move simulated time forward, running every timer that falls due on the way."""
        self.clock.advance(seconds)
