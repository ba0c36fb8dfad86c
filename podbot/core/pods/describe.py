"""Pure: ``kubectl describe pod``-style text from a raw pod and its events.

Only what matters in chat: identity, node and IPs, labels, controller (or static-pod origin),
init containers then containers (image, state, last state, ready, restarts), conditions, QoS,
and the recent events table (Type, Reason, Age, From, Message) as kubectl lays it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from podbot.core.pods.status import human_duration, parse_time, since
from podbot.core.results import EventRow

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SOURCE_ANNOTATION = "kubernetes.io/config.source"

JSON = Mapping[str, Any]


def event_source(event: JSON) -> str:
    """kubectl's From column: the source component, else the reporting controller."""
    source = event.get("source") or {}
    return str(
        source.get("component") or event.get("reportingComponent") or event.get("reportingController") or ""
    )


def event_age(event: JSON, now: datetime) -> str:
    """kubectl describe's Age cell (DescribeEvents): ``14m (x4 over 15m)`` for repeated events.

    The first time is ``eventTime`` when set, else ``firstTimestamp``; the last one is the series'
    ``lastObservedTime`` for events.k8s.io series, else ``lastTimestamp`` when ``count`` > 1.
    """
    first = since(event.get("eventTime") or event.get("firstTimestamp"), now)
    series = event.get("series")
    if series:
        return f"{since(series.get('lastObservedTime'), now)} (x{int(series.get('count') or 0)} over {first})"
    count = int(event.get("count") or 0)
    if count > 1:
        return f"{since(event.get('lastTimestamp'), now)} (x{count} over {first})"
    return first


def sort_events(events: Sequence[JSON]) -> list[JSON]:
    """In kubectl describe's order: by ``lastTimestamp`` only, events without one (events.k8s.io
    events such as the scheduler's ``Scheduled``) first, ties in the order the API listed them."""

    def key(event: JSON) -> float:
        when = parse_time(event.get("lastTimestamp"))
        return when.timestamp() if when else float("-inf")

    return sorted(events, key=key)  # stable, like Go's sort.Sort for the <= 12 events of a pod


def _state(state: JSON, now: datetime) -> list[str]:
    if "running" in state:
        return ["Running", f"  Started:      {state['running'].get('startedAt', '')}"]
    if "terminated" in state:
        term = state["terminated"]
        lines = [
            "Terminated",
            f"  Reason:       {term.get('reason', '')}",
            f"  Exit Code:    {term.get('exitCode', '')}",
        ]
        if term.get("finishedAt"):
            lines.append(f"  Finished:     {term['finishedAt']} ({since(term['finishedAt'], now)} ago)")
        return lines
    if "waiting" in state:
        waiting = state["waiting"]
        lines = ["Waiting", f"  Reason:       {waiting.get('reason', '')}"]
        if waiting.get("message"):
            lines.append(f"  Message:      {waiting['message']}")
        return lines
    return ["<unknown>"]


def _containers(title: str, specs: Sequence[JSON], statuses: Sequence[JSON], now: datetime) -> list[str]:
    if not specs:
        return []
    by_name = {s.get("name"): s for s in statuses}
    lines = [f"{title}:"]
    for spec in specs:
        status = by_name.get(spec.get("name"), {})
        lines.append(f"  {spec.get('name')}:")
        lines.append(f"    Image:          {spec.get('image', '')}")
        if spec.get("restartPolicy") == "Always":
            lines.append("    Sidecar:        true (restartable init container)")
        state_lines = _state(status.get("state") or {}, now)
        lines.append(f"    State:          {state_lines[0]}")
        lines.extend("    " + line for line in state_lines[1:])
        last = status.get("lastState") or {}
        if last:
            last_lines = _state(last, now)
            lines.append(f"    Last State:     {last_lines[0]}")
            lines.extend("    " + line for line in last_lines[1:])
        lines.append(f"    Ready:          {'True' if status.get('ready') else 'False'}")
        lines.append(f"    Restart Count:  {status.get('restartCount', 0)}")
    return lines


def event_rows(events: Sequence[JSON], now: datetime) -> tuple[EventRow, ...]:
    """Events as kubectl describe lists them: oldest first, aged, with their source."""
    return tuple(
        EventRow(
            type=str(e.get("type", "")),
            reason=str(e.get("reason", "")),
            age=event_age(e, now),
            source=event_source(e),
            message=str(e.get("message", "")).strip(),
            count=int(e.get("count") or 1),
        )
        for e in sort_events(events)
    )


def _status_lines(meta: JSON, status: JSON, now: datetime) -> list[str]:
    """kubectl describe's Status (the phase, or Terminating with the time left), Reason, Message."""
    phase = str(status.get("phase") or "")
    deleted = parse_time(meta.get("deletionTimestamp"))
    if deleted is not None and phase not in ("Failed", "Succeeded"):
        lines = [
            f"Status:           Terminating (lasts {human_duration((deleted - now).total_seconds())})",
            f"Termination Grace Period:  {meta.get('deletionGracePeriodSeconds') or 0}s",
        ]
    else:
        lines = [f"Status:           {phase}"]
    if status.get("reason"):
        lines.append(f"Reason:           {status['reason']}")
    if status.get("message"):
        lines.append(f"Message:          {status['message']}")
    return lines


def describe_text(pod: JSON, events: Sequence[EventRow], now: datetime, *, max_events: int = 15) -> str:
    """The chat-sized ``kubectl describe pod`` text."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    annotations = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    lines = [
        f"Name:             {meta.get('name', '')}",
        f"Namespace:        {meta.get('namespace', '')}",
        f"Node:             {spec.get('nodeName') or '<none>'}"
        + (f"/{status['hostIP']}" if status.get("hostIP") else ""),
        f"Start Time:       {status.get('startTime') or '<unset>'}",
        "Labels:           "
        + ("\n                  ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"),
        *_status_lines(meta, status, now),
        f"IP:               {status.get('podIP') or '<none>'}",
    ]
    owners = [o for o in meta.get("ownerReferences") or () if o.get("controller")]
    if MIRROR_ANNOTATION in annotations:
        source = annotations.get(SOURCE_ANNOTATION, "file")
        lines.append(
            f"Controlled By:    Node/{spec.get('nodeName', '')} (static pod, manifest source: {source})"
        )
    elif owners:
        lines.append(f"Controlled By:    {owners[0].get('kind')}/{owners[0].get('name')}")
    lines += _containers(
        "Init Containers", spec.get("initContainers") or (), status.get("initContainerStatuses") or (), now
    )
    lines += _containers(
        "Containers", spec.get("containers") or (), status.get("containerStatuses") or (), now
    )
    conditions = status.get("conditions") or ()
    if conditions:
        lines.append("Conditions:")
        lines.append("  Type                        Status")
        lines.extend(f"  {c.get('type', ''):<28}{c.get('status', '')}" for c in conditions)
    if status.get("qosClass"):
        lines.append(f"QoS Class:        {status['qosClass']}")
    if spec.get("imagePullSecrets"):
        names = ", ".join(str(s.get("name")) for s in spec["imagePullSecrets"])
        lines.append(f"Pull Secrets:     {names}")
    lines.append(events_table(events[-max_events:]))
    return "\n".join(lines)


def events_table(events: Sequence[EventRow]) -> str:
    """kubectl describe's Events section."""
    if not events:
        return "Events:           <none>"
    rows = [("Type", "Reason", "Age", "From", "Message"), ("----", "------", "----", "----", "-------")]
    rows += [(e.type, e.reason, e.age, e.source, e.message) for e in events]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    body = ["  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
    return "Events:\n" + "\n".join(line.rstrip() for line in body)
