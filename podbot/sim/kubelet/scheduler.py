"""default-scheduler: binds pending pods to nodes, or says why it cannot.

Filters run per node in the default plugin order and stop at the first failure, with the real
plugins' reasons: NodeUnschedulable ("node(s) were unschedulable"), TaintToleration ("node(s) had
untolerated taint {key: value}"), NodeAffinity ("node(s) didn't match Pod's node affinity/
selector"), NodeResourcesFit ("Too many pods", "Insufficient cpu", "Insufficient memory"). The
failure message is the FitError text kubectl shows, including the preemption post-filter part
(``0/2 nodes are available: ... preemption: 0/2 nodes are available: 2 Preemption is not helpful
for scheduling..`` -- the double period is real). Among feasible nodes the least allocated wins
(counting 100m CPU / 200Mi for containers without requests, as the scheduler's scoring does).
Unschedulable pods are retried when nodes change, when assigned pods go away, and every 5 minutes.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from podbot.sim.clock import SimClock, rfc3339
from podbot.sim.kubelet.events import SeriesRecorder, object_ref
from podbot.sim.objects.podspec import all_containers, pod_requests
from podbot.sim.objects.quantity import milli_of, units_of
from podbot.sim.objects.store import NotFoundError, ObjectStore

JSON = dict[str, Any]

UNSCHEDULABLE_RETRY = 300.0  # podMaxInUnschedulablePodsDuration
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 1024 * 1024
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def _tolerates(tolerations: list[JSON], taint: JSON) -> bool:
    for toleration in tolerations:
        effect = toleration.get("effect", "")
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key", "")
        operator = toleration.get("operator", "Equal")
        if operator == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def _match_expression(labels: dict[str, str], expression: JSON) -> bool:
    key, operator = expression.get("key", ""), expression.get("operator", "")
    values = [str(v) for v in expression.get("values") or []]
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def matches_affinity(pod: JSON, node: JSON) -> bool:
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
    ) or {}
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:
        expressions = term.get("matchExpressions") or []
        field_expressions = term.get("matchFields") or []
        if not expressions and not field_expressions:
            continue
        if all(_match_expression(labels, e) for e in expressions) and all(
            _match_expression(fields, e) for e in field_expressions
        ):
            return True
    return False


def _allocatable(node: JSON) -> tuple[int, int, int]:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    cpu = milli_of(alloc.get("cpu", "0"))
    mem = units_of(alloc.get("memory", "0"))
    pods = units_of(alloc.get("pods", "110"))
    return cpu, mem, pods


def _scoring_requests(pod: JSON) -> tuple[int, int]:
    cpu = mem = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += milli_of(requests["cpu"]) if "cpu" in requests else DEFAULT_MILLI_CPU
        mem += units_of(requests["memory"]) if "memory" in requests else DEFAULT_MEMORY
    return cpu, mem


class Scheduler:
    def __init__(
        self,
        store: ObjectStore,
        clock: SimClock,
        lock: threading.RLock,
        stopped: Callable[[], bool],
        *,
        host: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lock = lock
        self._stopped = stopped
        self.recorder = SeriesRecorder(store, clock, "default-scheduler", f"default-scheduler-{host}")
        self.nodes: dict[str, JSON] = {}
        self._node_signatures: dict[str, str] = {}
        # Per node: [requested milli-CPU, requested bytes, pods, scoring milli-CPU, scoring bytes].
        self.usage: dict[str, list[int]] = {}
        self._assigned: dict[str, tuple[str, int, int, int, int]] = {}  # pod uid -> node and its share
        self._pending: dict[tuple[str, str], str] = {}  # (namespace, name) -> uid
        self._written: dict[tuple[str, str], int] = {}  # our own writes, to ignore their events
        self._retry_timer: Any = None
        self._periodic_timer: Any = None

    # --- cluster state --------------------------------------------------------------------------
    def node_changed(self, node: JSON | None, name: str) -> None:
        if node is None:
            self.nodes.pop(name, None)
            self._node_signatures.pop(name, None)
            return
        self.nodes[name] = node
        self.usage.setdefault(name, [0, 0, 0, 0, 0])
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        signature = repr(
            (meta.get("labels"), spec.get("taints"), spec.get("unschedulable"), _allocatable(node))
        )
        if self._node_signatures.get(name) != signature:
            self._node_signatures[name] = signature
            self._retry_soon()

    def pod_assigned(self, pod: JSON, node: str, phase: str) -> None:
        """Account an assigned pod's requests; terminal pods and unknown nodes free them."""
        uid = pod["metadata"].get("uid", "")
        if phase in ("Succeeded", "Failed"):
            self.pod_gone(uid)
            return
        if uid in self._assigned:
            return
        cpu, mem = pod_requests(pod.get("spec") or {})
        score_cpu, score_mem = _scoring_requests(pod)
        self._assigned[uid] = (node, cpu, mem, score_cpu, score_mem)
        usage = self.usage.setdefault(node, [0, 0, 0, 0, 0])
        for i, amount in enumerate((cpu, mem, 1, score_cpu, score_mem)):
            usage[i] += amount

    def admit(self, pod: JSON, node: str) -> tuple[str, str] | None:
        """The kubelet's admission check: (reason, message) if the pod does not fit the node."""
        spec = pod.get("spec") or {}
        node_obj = self.nodes.get(node)
        if node_obj is None:
            return None
        alloc_cpu, alloc_mem, alloc_pods = _allocatable(node_obj)
        cpu, mem = pod_requests(spec)
        usage = self.usage.get(node, [0, 0, 0, 0, 0])
        share = self._assigned.get(pod["metadata"].get("uid", ""))
        own = (share[1], share[2], 1) if share is not None and share[0] == node else (0, 0, 0)
        used_cpu, used_mem, used_pods = usage[0] - own[0], usage[1] - own[1], usage[2] - own[2]
        for resource, requested, used, capacity in (
            ("pods", 1, used_pods, alloc_pods),
            ("cpu", cpu, used_cpu, alloc_cpu),
            ("memory", mem, used_mem, alloc_mem),
        ):
            if requested and used + requested > capacity:
                message = (
                    f"Node didn't have enough resource: {resource}, requested: {requested}, "
                    f"used: {used}, capacity: {capacity}"
                )
                self.pod_gone(pod["metadata"].get("uid", ""))
                return f"OutOf{resource}", message
        return None

    def pod_gone(self, uid: str) -> None:
        share = self._assigned.pop(uid, None)
        if share is None:
            return
        node, *amounts = share
        usage = self.usage.get(node)
        if usage is not None:
            for i, amount in enumerate([*amounts[:2], 1, *amounts[2:]]):
                usage[i] -= amount
        if self._pending:
            self._retry_soon()

    def pod_deleted(self, namespace: str, name: str, uid: str) -> None:
        self._pending.pop((namespace, name), None)
        self._written.pop((namespace, name), None)
        self.pod_gone(uid)

    # --- scheduling -----------------------------------------------------------------------------
    def consider(self, pod: JSON, rv: int) -> None:
        """A pod without a node changed: try to place it (unless the change was our own write)."""
        meta = pod["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if self._written.get(key) == rv:
            return
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
            return
        if meta.get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed"):
            self._pending.pop(key, None)
            return
        self._schedule(pod)

    def _schedule(self, pod: JSON) -> None:
        meta = pod["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        nodes = [self.nodes[n] for n in sorted(self.nodes)]
        if not nodes:
            self._fail(pod, "no nodes available to schedule pods")
            return
        cpu, mem = pod_requests(pod.get("spec") or {})
        score_cpu, score_mem = _scoring_requests(pod)
        reasons: dict[str, tuple[list[str], bool]] = {}
        best: tuple[float, str] | None = None
        for node in nodes:
            name = node["metadata"]["name"]
            failure = self._filter(pod, node, cpu, mem)
            if failure is not None:
                reasons[name] = failure
                continue
            alloc_cpu, alloc_mem, _ = _allocatable(node)
            usage = self.usage.get(name, [0, 0, 0, 0, 0])
            free_cpu = (alloc_cpu - usage[3] - score_cpu) / alloc_cpu if alloc_cpu else 0.0
            free_mem = (alloc_mem - usage[4] - score_mem) / alloc_mem if alloc_mem else 0.0
            score = (max(free_cpu, 0.0) + max(free_mem, 0.0)) / 2
            if best is None or score > best[0]:
                best = (score, name)
        if best is None:
            self._fail(pod, self._fit_error(pod, len(nodes), reasons))
            return
        self._bind(pod, best[1])
        self._pending.pop(key, None)

    def _filter(self, pod: JSON, node: JSON, cpu: int, mem: int) -> tuple[list[str], bool] | None:
        spec = pod.get("spec") or {}
        node_spec = node.get("spec") or {}
        tolerations = spec.get("tolerations") or []
        if node_spec.get("unschedulable") and not _tolerates(
            tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        ):
            return ["node(s) were unschedulable"], True
        for taint in node_spec.get("taints") or []:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(tolerations, taint):
                return [
                    f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"
                ], True
        if not matches_affinity(pod, node):
            return ["node(s) didn't match Pod's node affinity/selector"], True
        alloc_cpu, alloc_mem, alloc_pods = _allocatable(node)
        usage = self.usage.get(node["metadata"]["name"], [0, 0, 0, 0, 0])
        insufficient = []
        if usage[2] + 1 > alloc_pods:
            insufficient.append("Too many pods")
        if cpu and usage[0] + cpu > alloc_cpu:
            insufficient.append("Insufficient cpu")
        if mem and usage[1] + mem > alloc_mem:
            insufficient.append("Insufficient memory")
        for extended in self._extended_requests(pod):
            if extended not in ((node.get("status") or {}).get("allocatable") or {}):
                insufficient.append(f"Insufficient {extended}")
        return (insufficient, False) if insufficient else None

    @staticmethod
    def _extended_requests(pod: JSON) -> list[str]:
        names: list[str] = []
        for container in all_containers(pod.get("spec") or {}):
            for name in (container.get("resources") or {}).get("requests") or {}:
                if name not in ("cpu", "memory", "ephemeral-storage") and name not in names:
                    names.append(name)
        return names

    @staticmethod
    def _fit_error(pod: JSON, total: int, reasons: dict[str, tuple[list[str], bool]]) -> str:
        histogram: Counter[str] = Counter()
        for node_reasons, _ in reasons.values():
            histogram.update(node_reasons)
        text = (
            f"0/{total} nodes are available: "
            + ", ".join(sorted(f"{n} {r}" for r, n in histogram.items()))
            + "."
        )
        if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
            return text + " preemption: not eligible due to preemptionPolicy=Never.."
        post: Counter[str] = Counter(
            NOT_HELPFUL if unresolvable else NO_VICTIMS for _, unresolvable in reasons.values()
        )
        inner = ", ".join(sorted(f"{n} {r}" for r, n in post.items()))
        return text + f" preemption: 0/{total} nodes are available: {inner}.."

    def _bind(self, pod: JSON, node: str) -> None:
        meta = pod["metadata"]
        namespace, name, uid = meta.get("namespace", ""), meta["name"], meta.get("uid", "")
        now = rfc3339(self.clock.time())

        def bind(current: JSON) -> JSON | None:
            if current["metadata"].get("uid") != uid or (current.get("spec") or {}).get("nodeName"):
                return None
            current["spec"]["nodeName"] = node
            status = current.setdefault("status", {})
            others = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            status["conditions"] = [
                *others,
                {"lastProbeTime": None, "lastTransitionTime": now, "status": "True", "type": "PodScheduled"},
            ]
            return current

        try:
            stored = self.store.mutate("pods", namespace, name, bind)
        except NotFoundError:
            return
        if stored is None:
            return
        # Assume the pod on the node at once (the scheduler cache does), so that the next pod in
        # this batch already sees the requests.
        self.pod_assigned(stored, node, (stored.get("status") or {}).get("phase", ""))
        self.recorder.event(
            object_ref(stored),
            "Normal",
            "Scheduled",
            "Binding",
            f"Successfully assigned {namespace}/{name} to {node}",
        )

    def _fail(self, pod: JSON, message: str) -> None:
        meta = pod["metadata"]
        namespace, name, uid = meta.get("namespace", ""), meta["name"], meta.get("uid", "")
        key = (namespace, name)
        self._pending[key] = uid
        now = rfc3339(self.clock.time())

        def mark(current: JSON) -> JSON | None:
            if current["metadata"].get("uid") != uid or (current.get("spec") or {}).get("nodeName"):
                return None
            status = current.setdefault("status", {})
            existing = next(
                (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None
            )
            if existing and existing.get("status") == "False" and existing.get("message") == message:
                return None
            others = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            status["conditions"] = [
                *others,
                {
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                    "message": message,
                    "reason": "Unschedulable",
                    "status": "False",
                    "type": "PodScheduled",
                },
            ]
            return current

        try:
            stored = self.store.mutate("pods", namespace, name, mark)
        except NotFoundError:
            self._pending.pop(key, None)
            return
        if stored is not None:
            self._written[key] = int(stored["metadata"]["resourceVersion"])
        self.recorder.event(object_ref(stored or pod), "Warning", "FailedScheduling", "Scheduling", message)
        if self._periodic_timer is None:
            self._periodic_timer = self.clock.call_later(UNSCHEDULABLE_RETRY, self._periodic)

    # --- retries --------------------------------------------------------------------------------
    def _retry_soon(self) -> None:
        if self._pending and self._retry_timer is None:
            self._retry_timer = self.clock.call_later(1.0, self._retry)

    def _retry(self) -> None:
        with self.lock:
            self._retry_timer = None
            self.retry_pending()

    def _periodic(self) -> None:
        with self.lock:
            self.retry_pending()  # the timer stays set meanwhile, so failures do not arm another
            self._periodic_timer = None
            if self._pending and not self._stopped():
                self._periodic_timer = self.clock.call_later(UNSCHEDULABLE_RETRY, self._periodic)

    def retry_pending(self) -> None:
        if self._stopped():
            return
        for (namespace, name), uid in list(self._pending.items()):
            try:
                pod = self.store.get("pods", namespace, name).load()
            except NotFoundError:
                self._pending.pop((namespace, name), None)
                continue
            if pod["metadata"].get("uid") != uid or (pod.get("spec") or {}).get("nodeName"):
                self._pending.pop((namespace, name), None)
                continue
            self._schedule(pod)

    def stop(self) -> None:
        for timer in (self._retry_timer, self._periodic_timer):
            if timer is not None:
                timer.cancel()
        self._retry_timer = self._periodic_timer = None
        self.recorder.stop()
