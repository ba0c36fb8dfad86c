"""A store + clock + KubeletPool for in-process kubelet tests (no HTTP server involved)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podbot.sim.clock import SimClock, rfc3339
from podbot.sim.images.credentials import docker_config_json
from podbot.sim.images.registry import RegistryTable
from podbot.sim.kubelet.pool import KubeletPool
from podbot.sim.objects.meta import stamp_new
from podbot.sim.objects.podspec import default_pod
from podbot.sim.objects.store import NotFoundError, ObjectStore

JSON = dict[str, Any]
START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


def _pod_fields(obj: JSON) -> dict[str, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.schedulerName": spec.get("schedulerName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.phase": status.get("phase", ""),
        "status.podIP": status.get("podIP", ""),
    }


def _event_fields(obj: JSON) -> dict[str, str]:
    involved = obj.get("involvedObject") or {}
    fields = {f"involvedObject.{k}": str(v) for k, v in involved.items()}
    fields.update({"reason": obj.get("reason", ""), "type": obj.get("type", "")})
    fields["source"] = (obj.get("source") or {}).get("component", "") or obj.get("reportingComponent", "")
    return fields


def register_resources(store: ObjectStore) -> None:
    store.register("namespaces")
    store.register(
        "nodes",
        lambda o: {"spec.unschedulable": str(bool((o.get("spec") or {}).get("unschedulable"))).lower()},
    )
    store.register("pods", _pod_fields)
    store.register("events", _event_fields)
    store.register("secrets", lambda o: {"type": o.get("type", "")})
    store.register("serviceaccounts")
    store.register("configmaps")
    store.register("leases.coordination.k8s.io")


class KubeEnv:
    def __init__(
        self,
        state_dir: Path,
        *,
        nodes: tuple[str, ...] = ("node01", "node02"),
        control_plane_static_pods: bool = False,
        registry: RegistryTable | None = None,
    ) -> None:
        self.clock = SimClock(speed=0, start=START)
        self.store = ObjectStore()
        register_resources(self.store)
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.store.create(
                "namespaces",
                stamp_new({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, self.clock),
            )
            sa = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": ns},
            }
            self.store.create("serviceaccounts", stamp_new(sa, self.clock))
        self.pool = KubeletPool(
            self.store,
            self.clock,
            nodes,
            registry or RegistryTable.default(),
            state_dir,
            control_plane_static_pods,
        )
        self.pool.start()
        self.clock.advance(0)

    def close(self) -> None:
        self.pool.stop()

    # --- API-server-like helpers ------------------------------------------------------------------
    def create_pod(self, manifest: JSON, namespace: str = "default") -> JSON:
        pod = copy.deepcopy(manifest)
        pod.setdefault("apiVersion", "v1")
        pod.setdefault("kind", "Pod")
        pod["metadata"].setdefault("namespace", namespace)
        try:
            sa = self.store.get("serviceaccounts", pod["metadata"]["namespace"], "default").load()
        except NotFoundError:
            sa = None
        default_pod(pod, service_account=sa)
        stamp_new(pod, self.clock)
        created = self.store.create("pods", pod)
        self.clock.advance(0)
        return created

    def delete_pod(self, name: str, namespace: str = "default", grace: int | None = None) -> None:
        """What the API server does on DELETE (the contract's graceful deletion)."""
        pod = self.pod(name, namespace)
        effective = pod["spec"].get("terminationGracePeriodSeconds", 30) if grace is None else grace
        if pod["spec"].get("nodeName") and effective > 0:

            def mark(obj: JSON) -> JSON:
                obj["metadata"]["deletionTimestamp"] = rfc3339(self.clock.time() + effective)
                obj["metadata"]["deletionGracePeriodSeconds"] = effective
                return obj

            self.store.mutate("pods", namespace, name, mark)
        else:
            self.store.delete("pods", namespace, name)
        self.clock.advance(0)

    def create_secret(
        self, name: str, server: str, username: str, password: str, namespace: str = "default"
    ) -> None:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "kubernetes.io/dockerconfigjson",
            "data": docker_config_json(server, username, password),
        }
        self.store.create("secrets", stamp_new(secret, self.clock))

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def pod(self, name: str, namespace: str = "default") -> JSON:
        return self.store.get("pods", namespace, name).load()

    def exists(self, name: str, namespace: str = "default") -> bool:
        try:
            self.store.get("pods", namespace, name)
        except NotFoundError:
            return False
        return True

    def events(self, name: str | None = None, namespace: str = "default") -> list[JSON]:
        items, _, _ = self.store.list("events", namespace)
        events = [s.load() for s in items]
        if name is not None:
            events = [e for e in events if e["involvedObject"].get("name") == name]
        return sorted(
            events, key=lambda e: (e.get("firstTimestamp") or e.get("eventTime") or "", e["metadata"]["name"])
        )

    def messages(self, name: str, namespace: str = "default") -> list[tuple[str, str, str]]:
        return [(e["type"], e["reason"], e["message"]) for e in self.events(name, namespace)]

    def container(
        self, name: str, container: str | None = None, namespace: str = "default", *, init: bool = False
    ) -> JSON:
        pod = self.pod(name, namespace)
        key = "initContainerStatuses" if init else "containerStatuses"
        statuses = pod["status"][key]
        if container is None:
            return statuses[0]  # type: ignore[no-any-return]
        return next(s for s in statuses if s["name"] == container)  # type: ignore[no-any-return]

    def condition(self, name: str, ctype: str, namespace: str = "default") -> JSON:
        pod = self.pod(name, namespace)
        return next(c for c in pod["status"]["conditions"] if c["type"] == ctype)  # type: ignore[no-any-return]


def nginx_pod(name: str = "nginx", image: str = "nginx:1.16", **spec: Any) -> JSON:
    return {
        "metadata": {"name": name, "labels": {"run": name}},
        "spec": {"containers": [{"name": name, "image": image}], **spec},
    }
