"""What kube-controller-manager does that API clients can see, for the API-server half.

- bootstrap: the namespaces a kubeadm cluster starts with and the ``kubernetes`` Service;
- every namespace gets a ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap
  (serviceaccount controller, root-ca-cert-publisher);
- a deleted namespace stays ``Terminating`` while its contents are deleted (pods gracefully, so a
  kubelet or a finalizer may hold it), then goes (namespace controller).

Work runs on the simulated clock's timers, so tests drive it with ``advance()``.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from podbot.sim.objects.meta import SimApiError, stamp_new
from podbot.sim.objects.resources import ResourceType
from podbot.sim.objects.rest import Rest
from podbot.sim.objects.store import AlreadyExistsError, NotFoundError

log = logging.getLogger(__name__)

JSON = dict[str, Any]

BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
RECHECK_SECONDS = 1.0  # the namespace controller's retry while contents are still terminating
SIM_CA = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIBADAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwprdWJlcm5ldGVz\n"
    "cG9kYm90LnNpbSBzaW11bGF0ZWQgY2x1c3RlciBDQSAobm90IGEgcmVhbCBrZXkp\n"
    "-----END CERTIFICATE-----\n"
)
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such "
    "as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters."
)
KUBERNETES_SERVICE: JSON = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "kubernetes",
        "namespace": "default",
        "labels": {"component": "apiserver", "provider": "kubernetes"},
    },
    "spec": {
        "clusterIP": "10.96.0.1",
        "clusterIPs": ["10.96.0.1"],
        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
    },
}


class Controllers:
    def __init__(self, rest: Rest) -> None:
        self.rest = rest
        rest.on_namespace_created = self.populate_namespace
        rest.on_namespace_deleting = self._schedule_finalize

    def _schedule_finalize(self, name: str) -> None:
        self.rest.clock.call_later(0, lambda: self.finalize_namespace(name))

    def bootstrap(self) -> None:
        """The namespaces, service accounts and ``kubernetes`` Service a new cluster has."""
        registry = self.rest.registry
        for name in BOOTSTRAP_NAMESPACES:
            namespace = {"kind": "Namespace", "metadata": {"name": name}}
            self._create_once(registry.by_storage("namespaces"), "", namespace)
        self._create_once(registry.by_storage("services"), "default", KUBERNETES_SERVICE)

    def _create_once(self, rt: ResourceType, namespace: str, obj: JSON) -> None:
        try:
            self.rest.create(rt, namespace, {"apiVersion": rt.api_version, **obj})
        except SimApiError as e:
            if e.reason != "AlreadyExists":
                raise

    def populate_namespace(self, namespace: str) -> None:
        """The serviceaccount controller and the root CA publisher."""
        defaults: tuple[tuple[str, JSON], ...] = (
            (
                "serviceaccounts",
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "default", "namespace": namespace},
                },
            ),
            (
                "configmaps",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": "kube-root-ca.crt",
                        "namespace": namespace,
                        "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
                    },
                    "data": {"ca.crt": SIM_CA},
                },
            ),
        )
        for storage, obj in defaults:
            with contextlib.suppress(AlreadyExistsError):
                self.rest.store.create(storage, stamp_new(obj, self.rest.clock))

    def finalize_namespace(self, name: str) -> None:
        """The namespace controller: delete everything in it, then the namespace itself."""
        rest = self.rest
        remaining = 0
        for rt in rest.registry.all:
            if rt.virtual or not rt.namespaced:
                continue
            items, _, _ = rest.store.list(rt.storage, name)
            for stored in items:
                if stored.load()["metadata"].get("deletionTimestamp"):
                    remaining += 1  # being deleted gracefully: a kubelet or a finalizer finishes it
                    continue
                try:
                    _, finished = rest.delete(rt, name, stored.name, {})
                except SimApiError as e:
                    log.debug("namespace %s: deleting %s/%s: %s", name, rt.plural, stored.name, e.message)
                    finished = False
                remaining += 0 if finished else 1
        if remaining:
            rest.clock.call_later(RECHECK_SECONDS, lambda: self.finalize_namespace(name))
            return
        with contextlib.suppress(NotFoundError):
            rest.store.delete("namespaces", "", name)
