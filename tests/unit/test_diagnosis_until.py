"""diagnose_until: the findings hold, unchanged, at every later time before the moment it names.

The watch cache reuses a problem pod's findings on that promise (podbot.k8s.watch.WatchCache.diagnosis)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podbot.core.diagnosis.credentials import RegistryCredentialIndex
from podbot.core.diagnosis.rules import diagnose, diagnose_until
from podbot.core.pods.summary import keep_note, note_from_event, remember, summarize
from tests.support.builders import NOW, ago, cstatus, pod, running, terminated, waiting
from tests.support.podgen import events, pods

CREDENTIALS = RegistryCredentialIndex.build([("default", "regcred", ["registry.corp.example"])], ["default"])
LATER = (0, 1, 59, 61, 299, 301, 599, 601, 3599, 3601, 86_400)  # seconds after the first look

TIMED = [  # pods whose findings come and go with time alone
    pod(deletion=ago(minutes=3), finalizers=["x/y"]),  # stuck terminating in 2 minutes
    pod(phase="Pending", node=None, created=ago(seconds=30), statuses=[]),  # pending, then too long
    pod(
        phase="Pending",
        node=None,
        created=ago(seconds=20),
        statuses=[],
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3"}],
    ),
    pod(
        statuses=[
            cstatus("web", "nginx:1.25", running(), restarts=4, last=terminated(1, finished=ago(minutes=8)))
        ]
    ),
    pod(statuses=[cstatus("web", "nginx:1.25", running(), restarts=1, last=terminated(137, "OOMKilled"))]),
    pod(
        created=ago(minutes=50),
        statuses=[
            cstatus("web", "nginx:1.25", running(), restarts=6, last=terminated(0, finished=ago(minutes=1)))
        ],
    ),
    pod(phase="Pending", statuses=[cstatus("web", "nginx:1.25", waiting("ImagePullBackOff", "Back-off"))]),
]


def assert_holds(raw: dict[str, Any], notes: tuple[Any, ...], start: float) -> None:
    summary = summarize(raw, now=NOW)
    for note in notes:
        summary = remember(summary, note)
    first = NOW + timedelta(seconds=start)
    found, until = diagnose_until(summary, notes, CREDENTIALS, first)
    assert found == diagnose(summary, notes, CREDENTIALS, first)
    assert until >= first.timestamp()
    for later in LATER:
        moment = first + timedelta(seconds=later)
        if moment.timestamp() < until:
            assert diagnose(summary, notes, CREDENTIALS, moment) == found, (later, until - first.timestamp())


def test_time_dependent_findings_say_when_they_change() -> None:
    for raw in TIMED:
        for start in (-600, 0, 61, 240, 700, 3000):
            assert_holds(raw, (), start)


def assert_holds_with_events(raw: dict[str, Any], raw_events: list[dict[str, Any]], start: int) -> None:
    notes: tuple[Any, ...] = ()
    for raw_event in raw_events:
        note = note_from_event(raw_event)
        if note is not None:
            notes = keep_note(notes, note)
    assert_holds(raw, notes, start)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods(), st.lists(events(), max_size=3), st.integers(-4 * 3600, 4 * 3600))
def test_a_few_random_pods_keep_their_findings_until_the_moment_named(
    raw: dict[str, Any], raw_events: list[dict[str, Any]], start: int
) -> None:
    assert_holds_with_events(raw, raw_events, start)  # the fast loop's sample of the property below


@pytest.mark.slow  # a big property test: 300 generated pods with their events, ~5 s
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods(), st.lists(events(), max_size=3), st.integers(-4 * 3600, 4 * 3600))
def test_any_pod_keeps_its_findings_until_the_moment_named(
    raw: dict[str, Any], raw_events: list[dict[str, Any]], start: int
) -> None:
    assert_holds_with_events(raw, raw_events, start)
