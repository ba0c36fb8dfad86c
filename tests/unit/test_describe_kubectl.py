"""describe's Status line and Events table, case by case from kubectl's describe.go.

Status (describePod): the phase; "Terminating (lasts <HumanDuration until deletionTimestamp>)" plus
"Termination Grace Period" while a pod that has not finished is being deleted; Reason and Message
lines when status carries them. Events (DescribeEvents): sorted by lastTimestamp only
(SortableEvents; events.k8s.io events without one come first), Age is the first time
(eventTime, else firstTimestamp) or "<last> (xN over <first>)" for series and counted events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from podbot.core.pods.describe import describe_text, event_age, event_rows, sort_events
from tests.support.builders import cstatus, pod, waiting

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def status_lines(raw: dict[str, Any]) -> list[str]:
    text = describe_text(raw, (), NOW)
    return [
        line
        for line in text.splitlines()
        if line.split(":")[0] in ("Status", "Reason", "Message", "Termination Grace Period")
    ]


def pull_failing() -> dict[str, Any]:
    image = "10.0.0.130:5000/nginx:latest"
    return pod(
        "nginx",
        containers=[{"name": "nginx", "image": image}],
        statuses=[cstatus("nginx", image, waiting("ImagePullBackOff", "Back-off pulling image"))],
        phase="Pending",
    )


def evicted() -> dict[str, Any]:
    raw = pod("web", phase="Failed", statuses=[])
    raw["status"]["reason"] = "Evicted"
    raw["status"]["message"] = "The node was low on resource: memory."
    return raw


def deleting(phase: str, in_seconds: int) -> dict[str, Any]:
    when = datetime.fromtimestamp(NOW.timestamp() + in_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return pod("web", phase=phase, deletion=when)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The STATUS column would say ImagePullBackOff; describe says the phase.
        (pull_failing(), ["Status:           Pending"]),
        (pod("web"), ["Status:           Running"]),
        (pod("job", phase="Succeeded", statuses=[]), ["Status:           Succeeded"]),
        (
            evicted(),
            [
                "Status:           Failed",
                "Reason:           Evicted",
                "Message:          The node was low on resource: memory.",
            ],
        ),
        (
            deleting("Running", 27),
            ["Status:           Terminating (lasts 27s)", "Termination Grace Period:  30s"],
        ),
        # Past its deadline: HumanDuration of a negative duration below -1s is <invalid>.
        (
            deleting("Running", -90),
            ["Status:           Terminating (lasts <invalid>)", "Termination Grace Period:  30s"],
        ),
        # A finished pod being deleted keeps its phase.
        (deleting("Succeeded", 27), ["Status:           Succeeded"]),
    ],
    ids=["pull-backoff", "running", "succeeded", "evicted", "terminating", "overdue", "finished-deleting"],
)
def test_status_is_the_phase_as_kubectl_describe_prints_it(raw: dict[str, Any], expected: list[str]) -> None:
    assert status_lines(raw) == expected


def ev(reason: str, **fields: Any) -> dict[str, Any]:
    return {"type": "Normal", "reason": reason, "message": reason, **fields}


@pytest.mark.parametrize(
    ("event", "age"),
    [
        (
            ev(
                "Pulling",
                firstTimestamp="2026-03-01T11:59:20Z",
                lastTimestamp="2026-03-01T11:59:20Z",
                count=1,
            ),
            "40s",
        ),
        (ev("Scheduled", eventTime="2026-03-01T11:59:20.600000Z"), "39s"),
        # eventTime wins over firstTimestamp for the first time
        (ev("X", eventTime="2026-03-01T11:59:00.000000Z", firstTimestamp="2026-03-01T11:50:00Z"), "60s"),
        (
            ev(
                "Failed", firstTimestamp="2026-03-01T11:45:00Z", lastTimestamp="2026-03-01T11:46:00Z", count=4
            ),
            "14m (x4 over 15m)",
        ),
        (
            ev(
                "BackOff",
                eventTime="2026-03-01T11:30:00.000000Z",
                series={"count": 7, "lastObservedTime": "2026-03-01T11:58:00.000000Z"},
            ),
            "2m (x7 over 30m)",
        ),
        # no first time at all: translateTimestampSince of a zero time
        (ev("Odd", lastTimestamp="2026-03-01T11:59:30Z"), "<unknown>"),
    ],
    ids=["first-timestamp", "event-time", "event-time-first", "counted", "series", "no-first-time"],
)
def test_event_age_cells(event: dict[str, Any], age: str) -> None:
    assert event_age(event, NOW) == age


def test_events_sort_by_last_timestamp_with_events_k8s_io_events_first() -> None:
    # What the simulator (and a real cluster) records for a new pod: the scheduler's event has only
    # an eventTime (a fraction of a second later than the kubelet's "Pulling", whose timestamps have
    # whole seconds). kubectl sorts on lastTimestamp alone, so Scheduled comes first.
    pulled = ev(
        "Pulled", firstTimestamp="2026-03-01T11:59:21Z", lastTimestamp="2026-03-01T11:59:21Z", count=1
    )
    pulling = ev(
        "Pulling", firstTimestamp="2026-03-01T11:59:20Z", lastTimestamp="2026-03-01T11:59:20Z", count=1
    )
    scheduled = ev(
        "Scheduled", eventTime="2026-03-01T11:59:20.600000Z", reportingComponent="default-scheduler"
    )
    started = ev(
        "Started", firstTimestamp="2026-03-01T11:59:21Z", lastTimestamp="2026-03-01T11:59:21Z", count=1
    )
    ordered = [e["reason"] for e in sort_events([pulled, pulling, started, scheduled])]
    assert ordered == ["Scheduled", "Pulling", "Pulled", "Started"]  # ties keep the API's order
    rows = event_rows([pulling, scheduled], NOW)
    assert [(r.reason, r.age, r.source) for r in rows] == [
        ("Scheduled", "39s", "default-scheduler"),
        ("Pulling", "40s", ""),
    ]
