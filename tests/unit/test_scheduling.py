"""APScheduler on an injected clock: jobs fire at the clock's time, coalesce, honour misfire grace."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from podbot.core.records import Schedule
from podbot.jobs.scheduler import ClockExecutor, ClockScheduler, trigger_for

T0 = datetime(2026, 5, 4, 8, 30, tzinfo=UTC)  # a Monday


class ManualClock:
    def __init__(self) -> None:
        self.value = T0
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.value

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.value += timedelta(**delta)


def job_target() -> None:
    """Referenced by text from the job store; the executor's runner is what actually runs."""


class Recorder:
    def __init__(self) -> None:
        self.runs: list[datetime] = []
        self.changed = threading.Condition()

    def __call__(self, job: Any, run_time: datetime) -> None:
        with self.changed:
            self.runs.append(run_time)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[datetime]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.runs) >= count, timeout), self.runs
            return list(self.runs)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[ManualClock, Recorder, ClockScheduler]]:
    clock, recorder = ManualClock(), Recorder()
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    scheduler = ClockScheduler(
        clock,
        poll_seconds=30,  # long: every run below must come from wakeup(), not from polling
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        executors={"default": ClockExecutor(clock, recorder)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600},
    )
    scheduler.start()
    try:
        yield clock, recorder, scheduler
    finally:
        scheduler.shutdown()
        engine.dispose()


def add_hourly(scheduler: ClockScheduler, clock: ManualClock) -> None:
    trigger = IntervalTrigger(hours=1, start_date=T0 + timedelta(hours=1), timezone=UTC)
    scheduler.add_job(
        "tests.unit.test_scheduling:job_target",
        trigger=trigger,
        id="hourly",
        next_run_time=trigger.get_next_fire_time(None, clock()),
    )


def settle(scheduler: ClockScheduler) -> None:
    """Hand what is due by the clock to the executor now and wait until it has run. A run that has
    not happened after this does not come: the scheduler thread looks at the same clock, under
    the same lock."""
    scheduler.run_due()
    assert scheduler._lookup_executor("default").wait_idle(5)


def test_a_job_fires_when_the_injected_clock_reaches_its_time(
    parts: tuple[ManualClock, Recorder, ClockScheduler],
) -> None:
    clock, recorder, scheduler = parts
    add_hourly(scheduler, clock)
    clock.advance(minutes=59)
    scheduler.wakeup()
    settle(scheduler)
    assert recorder.runs == []  # not due yet
    clock.advance(minutes=1)
    scheduler.wakeup()
    assert recorder.wait_for(1) == [T0 + timedelta(hours=1)]
    clock.advance(hours=1)
    scheduler.wakeup()
    assert recorder.wait_for(2) == [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    job = scheduler.get_job("hourly")
    assert job.next_run_time == T0 + timedelta(hours=3)  # persisted in the SQL job store


def test_missed_run_times_coalesce_into_the_latest_within_grace(
    parts: tuple[ManualClock, Recorder, ClockScheduler],
) -> None:
    clock, recorder, scheduler = parts
    add_hourly(scheduler, clock)
    clock.advance(hours=5, minutes=5)  # the bot slept through five run times
    scheduler.wakeup()
    assert recorder.wait_for(1) == [T0 + timedelta(hours=5)]  # one run, the latest: 5 minutes late
    settle(scheduler)
    assert recorder.runs == [T0 + timedelta(hours=5)]


def test_a_run_time_later_than_the_misfire_grace_is_skipped(
    parts: tuple[ManualClock, Recorder, ClockScheduler],
) -> None:
    clock, recorder, scheduler = parts
    add_hourly(scheduler, clock)
    clock.advance(hours=1, minutes=30)  # 30 minutes late, grace is 10
    scheduler.wakeup()
    settle(scheduler)
    assert recorder.runs == []
    clock.advance(minutes=30)  # the next one, on time
    scheduler.wakeup()
    assert recorder.wait_for(1) == [T0 + timedelta(hours=2)]


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        (Schedule(every_seconds=3600), T0, T0 + timedelta(hours=1)),
        (Schedule(every_seconds=3600), T0 + timedelta(hours=2, minutes=1), T0 + timedelta(hours=3)),
        (Schedule(cron="0 9 * * mon,tue,wed,thu,fri"), T0, datetime(2026, 5, 4, 9, 0, tzinfo=UTC)),
        (
            Schedule(cron="0 9 * * mon,tue,wed,thu,fri"),
            datetime(2026, 5, 8, 9, 1, tzinfo=UTC),
            datetime(2026, 5, 11, 9, 0, tzinfo=UTC),
        ),
    ],
)
def test_triggers_of_subscription_schedules(schedule: Schedule, after: datetime, expected: datetime) -> None:
    assert trigger_for(schedule, T0).get_next_fire_time(None, after) == expected


def test_shutdown_waits_for_a_running_job_that_changes_the_jobs(tmp_path: Path) -> None:
    """APScheduler's own shutdown holds the job-store lock while it waits for running jobs; a job
    that adds a job then (the digest service's maintenance does) must not deadlock it."""
    clock = ManualClock()
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    started, release = threading.Event(), threading.Event()
    holder: dict[str, ClockScheduler] = {}

    def runner(job: Any, run_time: datetime) -> None:
        started.set()
        release.wait(5)
        trigger = IntervalTrigger(hours=1, start_date=T0, timezone=UTC)
        holder["scheduler"].add_job(
            "tests.unit.test_scheduling:job_target", trigger=trigger, id="added-late", next_run_time=T0
        )

    scheduler = ClockScheduler(
        clock,
        poll_seconds=30,
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        executors={"default": ClockExecutor(clock, runner)},
    )
    holder["scheduler"] = scheduler
    scheduler.start()
    add_hourly(scheduler, clock)
    clock.advance(hours=1)
    scheduler.wakeup()
    assert started.wait(5)
    stopper = threading.Thread(target=scheduler.shutdown)
    stopper.start()
    time.sleep(0.2)
    release.set()
    stopper.join(5)
    assert not stopper.is_alive(), "shutdown deadlocked"
    engine.dispose()


def test_run_due_hands_due_runs_over_at_once_and_wait_idle_waits_for_them(
    parts: tuple[ManualClock, Recorder, ClockScheduler],
) -> None:
    """What ``podbot demo`` does after a time jump: no wakeup, no poll (30 s here), no waiting loop."""
    clock, recorder, scheduler = parts
    add_hourly(scheduler, clock)
    executor = scheduler._lookup_executor("default")
    clock.advance(hours=1)
    scheduler.run_due()
    assert executor.wait_idle(5)
    assert recorder.runs == [T0 + timedelta(hours=1)]


class SlowDueJobs(SQLAlchemyJobStore):  # type: ignore[misc]
    """A job store whose due-jobs query takes a while (a busy database), announcing when it starts."""

    def __init__(self, entered: threading.Event, **options: Any) -> None:
        super().__init__(**options)
        self.entered = entered

    def get_due_jobs(self, now: datetime) -> list[Any]:
        if (jobs := super().get_due_jobs(now)) and not self.entered.is_set():
            self.entered.set()
            time.sleep(0.3)
        return jobs  # type: ignore[no-any-return]


def test_a_shutdown_during_a_scheduling_pass_lets_that_pass_submit_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14: shutting down while a pass was collecting due jobs drained the executor under it,
    and the pass's submit failed with "cannot schedule new futures after shutdown"."""
    clock, recorder, entered = ManualClock(), Recorder(), threading.Event()
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    scheduler = ClockScheduler(
        clock,
        poll_seconds=30,
        jobstores={"default": SlowDueJobs(entered, engine=engine)},
        executors={"default": ClockExecutor(clock, recorder)},
    )
    scheduler.start()
    add_hourly(scheduler, clock)
    clock.advance(hours=1)
    passing = threading.Thread(target=scheduler.run_due)
    passing.start()
    assert entered.wait(5)
    scheduler.shutdown(wait=True)  # while the pass sleeps in get_due_jobs
    passing.join(5)
    engine.dispose()
    assert "error submitting job" not in caplog.text
    assert recorder.runs == [T0 + timedelta(hours=1)]  # the pass submitted it; shutdown waited for it


class FailingOnce(SQLAlchemyJobStore):  # type: ignore[misc]
    """A job store whose next-run-time query fails once: the database went away during a pass."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.failed = threading.Event()

    def get_next_run_time(self) -> datetime | None:
        if not self.failed.is_set():
            self.failed.set()
            raise OperationalError(
                "SELECT next_run_time FROM apscheduler_jobs", {}, Exception("disk I/O error")
            )
        return super().get_next_run_time()  # type: ignore[no-any-return]


def test_a_database_error_during_a_pass_does_not_stop_the_scheduler(tmp_path: Path) -> None:
    """A pass that failed outside the due-jobs query ended the scheduler's thread: no digest was
    posted again until a restart (seen in test_digest_posts, the database cut at the wrong moment)."""
    clock, recorder = ManualClock(), Recorder()
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    jobs = FailingOnce(engine=engine)
    scheduler = ClockScheduler(
        clock,
        poll_seconds=30,
        jobstores={"default": jobs},
        executors={"default": ClockExecutor(clock, recorder)},
    )
    scheduler.start()
    try:
        assert jobs.failed.wait(5)  # the first pass, at start
        add_hourly(scheduler, clock)
        clock.advance(hours=1)
        scheduler.wakeup()
        assert recorder.wait_for(1) == [T0 + timedelta(hours=1)]
    finally:
        scheduler.shutdown()
        engine.dispose()
