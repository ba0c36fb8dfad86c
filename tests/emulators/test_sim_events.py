"""Event recording like client-go: counting, aggregation, spam filtering, series, expiry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from podbot.sim.clock import SimClock
from podbot.sim.kubelet.events import EventExpiry, EventRecorder, SeriesRecorder
from podbot.sim.objects.store import ObjectStore
from tests.support.simkube import register_resources

JSON = dict[str, Any]
POD = {"apiVersion": "v1", "kind": "Pod", "name": "nginx", "namespace": "default", "uid": "u-1"}


@pytest.fixture
def setup() -> tuple[ObjectStore, SimClock]:
    store = ObjectStore()
    register_resources(store)
    return store, SimClock(speed=0, start=datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


def _events(store: ObjectStore) -> list[JSON]:
    items, _, _ = store.list("events", "default")
    return sorted((s.load() for s in items), key=lambda e: e["metadata"]["name"])


def test_identical_events_bump_count_and_last_timestamp(setup: tuple[ObjectStore, SimClock]) -> None:
    store, clock = setup
    recorder = EventRecorder(store, clock, "kubelet", "node01")
    ref = {**POD, "fieldPath": "spec.containers{nginx}"}
    for _ in range(4):
        recorder.event(ref, "Warning", "Failed", "Error: ErrImagePull")
        clock.advance(60)
    recorder.event(ref, "Normal", "Pulling", 'Pulling image "nginx"')
    failed, pulling = _events(store)
    assert failed["count"] == 4
    assert (failed["firstTimestamp"], failed["lastTimestamp"]) == (
        "2025-03-01T09:00:00Z",
        "2025-03-01T09:03:00Z",
    )
    assert failed["metadata"]["name"].startswith("nginx.")
    assert failed["involvedObject"] == ref
    assert failed["source"] == {"component": "kubelet", "host": "node01"}
    assert (failed["reportingComponent"], failed["reportingInstance"]) == ("kubelet", "node01")
    assert pulling["count"] == 1


def test_many_messages_for_one_reason_are_combined(setup: tuple[ObjectStore, SimClock]) -> None:
    store, clock = setup
    recorder = EventRecorder(store, clock, "kubelet", "node01")
    for i in range(12):
        recorder.event(POD, "Warning", "FailedMount", f"volume {i} is not ready")
    messages = [e["message"] for e in _events(store)]
    assert len(messages) == 10
    combined = next(e for e in _events(store) if e["message"].startswith("(combined from similar events): "))
    assert combined["message"] == "(combined from similar events): volume 11 is not ready"
    assert combined["count"] == 3  # the 10th, 11th and 12th


def test_spam_filter_drops_beyond_25_and_counts_reach_the_api_later(
    setup: tuple[ObjectStore, SimClock],
) -> None:
    store, clock = setup
    recorder = EventRecorder(store, clock, "kubelet", "node01")
    for i in range(25):
        recorder.event(POD, "Normal", f"Reason{i}", "m")
    for _ in range(10):
        recorder.event(POD, "Warning", "BackOff", "Back-off pulling image")
    names = {e["reason"] for e in _events(store)}
    assert "BackOff" not in names  # the bucket is empty
    other = {**POD, "name": "other", "uid": "u-2"}
    recorder.event(other, "Normal", "Pulled", "x")  # another object has its own bucket
    assert any(e["involvedObject"]["name"] == "other" for e in _events(store))
    clock.advance(300)  # one token back
    recorder.event(POD, "Warning", "BackOff", "Back-off pulling image")
    backoff = next(e for e in _events(store) if e["reason"] == "BackOff")
    assert backoff["count"] == 11
    assert backoff["firstTimestamp"] == "2025-03-01T09:00:00Z"


def test_series_events_of_the_scheduler(setup: tuple[ObjectStore, SimClock]) -> None:
    store, clock = setup
    recorder = SeriesRecorder(store, clock, "default-scheduler", "default-scheduler-node01")
    recorder.event(POD, "Warning", "FailedScheduling", "Scheduling", "0/2 nodes are available: ...")
    [event] = _events(store)
    assert event["eventTime"].startswith("2025-03-01T09:00:00.") and event["eventTime"].endswith("Z")
    assert (event["firstTimestamp"], event["lastTimestamp"], event["source"]) == (None, None, {})
    assert (event["action"], event["reportingComponent"]) == ("Scheduling", "default-scheduler")
    assert "count" not in event and "series" not in event
    clock.advance(10)
    recorder.event(POD, "Warning", "FailedScheduling", "Scheduling", "0/2 nodes are available: ...")
    assert _events(store)[0]["series"]["count"] == 2
    for _ in range(3):
        clock.advance(10)
        recorder.event(POD, "Warning", "FailedScheduling", "Scheduling", "0/2 nodes are available: ...")
    assert _events(store)[0]["series"]["count"] == 2  # later repeats are only counted in memory...
    clock.advance(31 * 60)
    assert _events(store)[0]["series"]["count"] == 5  # ...and written by the 30 minute heartbeat
    recorder.stop()


def test_events_expire_an_hour_after_their_last_update(setup: tuple[ObjectStore, SimClock]) -> None:
    store, clock = setup
    EventExpiry(store, clock).start()
    recorder = EventRecorder(store, clock, "kubelet", "node01")
    recorder.event(POD, "Normal", "Pulled", "a")
    recorder.event(POD, "Normal", "Started", "b")
    clock.advance(1800)
    recorder.event(POD, "Normal", "Started", "b")  # refreshed
    clock.advance(1801)
    assert [e["reason"] for e in _events(store)] == ["Started"]
    clock.advance(1800)
    assert _events(store) == []
    recorder.event(POD, "Normal", "Started", "b")  # the recorder still remembers the count: created again
    assert _events(store)[0]["count"] == 3
