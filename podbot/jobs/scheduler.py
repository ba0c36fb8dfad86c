"""APScheduler 3.11 on the bot's clock: digest jobs in the database, fired when *our* time says so.

Why a scheduler subclass: APScheduler 3 reads ``datetime.now()`` in exactly two places that
decide *when* jobs run — ``BaseScheduler._process_jobs`` (which jobs are due, when to wake up
next) and the executors' ``run_job`` (has a run time been missed beyond ``misfire_grace_time``?).
Tests and ``podbot demo`` run on a simulated clock that can jump hours ahead (``sim.advance``), and
a digest due "at 09:00" must fire at 09:00 *simulated*, without waiting real hours. Computing fire
times ourselves from APScheduler's triggers would keep the triggers but lose the job store,
coalescing, ``max_instances`` and misfire handling; patching ``datetime`` would change every
scheduler in the process. So:

* ``ClockScheduler`` is a ``BackgroundScheduler`` whose ``_process_jobs`` is APScheduler 3.11's own
  loop with one change: "now" is the injected clock (``runtime.now``). Its thread sleeps for the
  computed wait, capped at ``poll_seconds`` of real time (a sped-up simulated clock runs faster
  than the wait suggests), and ``wakeup()`` — which tests call after ``sim.advance`` — makes it
  look again at once. With the real clock it behaves like a plain BackgroundScheduler. A pass that
  fails (the database went away between two of its queries) is tried again; APScheduler's own loop
  would end the thread, and no job would run until a restart.
* ``ClockExecutor`` runs jobs on a thread pool, applying ``misfire_grace_time`` against the same
  clock, and hands each due run time to a callback (the digest service) instead of calling
  ``job.func``: the run time *is* the digest's identity (``store.claims`` keys posts on it).
* Jobs are added with an explicit ``next_run_time`` computed on the injected clock, and
  ``IntervalTrigger``s get an explicit ``start_date``, since both would otherwise default to
  the real ``datetime.now()``.

Everything else — the SQLAlchemy job store (``SQLAlchemyJobStore(engine=store.engine)``),
triggers, coalescing, ``max_instances`` and events — is APScheduler's, unchanged.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from threading import TIMEOUT_MAX
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.base import BaseExecutor, MaxInstancesReachedError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from podbot.core.errors import PodbotError
from podbot.core.records import Schedule

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
JobRunner = Callable[[Any, datetime], None]  # (apscheduler Job, scheduled run time)


def trigger_for(schedule: Schedule, created_at: datetime) -> BaseTrigger:
    """The APScheduler trigger of a subscription's schedule. ``--every`` counts from when the
    subscription was made (so every replica computes the same run times); cron is a crontab."""
    if schedule.every_seconds is not None:
        every = timedelta(seconds=schedule.every_seconds)
        return IntervalTrigger(seconds=schedule.every_seconds, start_date=created_at + every, timezone=UTC)
    assert schedule.cron is not None
    return CronTrigger.from_crontab(schedule.cron, timezone=schedule.timezone)


class ClockExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs each due run time of a job through ``runner`` on a small thread pool."""

    def __init__(self, clock: Clock, runner: JobRunner, max_workers: int = 4) -> None:
        super().__init__()
        self._clock = clock
        self._runner = runner
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="podbot-digest")
        self._idle = threading.Condition()
        self._in_flight = 0

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def run() -> list[JobExecutionEvent]:
            events = []
            for run_time in run_times:
                late = self._clock() - run_time
                if job.misfire_grace_time is not None and late > timedelta(seconds=job.misfire_grace_time):
                    log.warning("job %s missed its run time %s by %s", job.id, run_time, late)
                    events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, job._jobstore_alias, run_time))
                    continue
                try:
                    self._runner(job, run_time)
                except Exception as exc:
                    if isinstance(exc, PodbotError):  # e.g. the database is down: the next run retries
                        log.warning("job %s (run time %s) skipped: %s", job.id, run_time, exc.message)
                    else:
                        log.exception("job %s (run time %s) failed", job.id, run_time)
                    events.append(
                        JobExecutionEvent(
                            EVENT_JOB_ERROR, job.id, job._jobstore_alias, run_time, exception=exc
                        )
                    )
                else:
                    events.append(
                        JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, job._jobstore_alias, run_time)
                    )
            return events

        def done(future: concurrent.futures.Future[list[JobExecutionEvent]]) -> None:
            error = future.exception()
            if error is not None:
                self._run_job_error(job.id, error, error.__traceback__)
            else:
                self._run_job_success(job.id, future.result())
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

        with self._idle:
            self._in_flight += 1
        try:
            self._pool.submit(run).add_done_callback(done)
        except BaseException:
            with self._idle:
                self._in_flight -= 1
            raise

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted run has finished (``podbot demo`` after a time jump)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def drain(self) -> None:
        """Take no more runs and wait for the running ones (before the scheduler's own shutdown)."""
        self._pool.shutdown(wait=True)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


class ClockScheduler(BackgroundScheduler):  # type: ignore[misc]
    """A BackgroundScheduler whose notion of "now" is ``clock`` (see the module docstring)."""

    def __init__(self, clock: Clock, *, poll_seconds: float = 5.0, **options: Any) -> None:
        self._clock = clock
        self._poll_seconds = poll_seconds
        super().__init__(timezone=UTC, **options)

    def now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def shutdown(self, wait: bool = True) -> None:
        """APScheduler's shutdown waits for running jobs while holding its job-store lock; a job
        that adds or removes jobs (the digest service's maintenance does) would deadlock on it.
        So: pause (no new runs), let running jobs finish without the lock, then shut down."""
        if self.state != STATE_STOPPED:
            # Under the job-store lock: a _process_jobs pass in progress finishes its submits first
            # (else it would submit to the drained executor: "cannot schedule new futures").
            with self._jobstores_lock:
                self.pause()
            if wait:
                for executor in list(self._executors.values()):
                    if isinstance(executor, ClockExecutor):
                        executor.drain()
        super().shutdown(wait)

    def run_due(self) -> None:
        """Hand every run that is due by the clock to the executor now, on the caller's thread
        (``podbot demo`` after a time jump; the scheduler thread would only see it on its next poll)."""
        if self.state != STATE_STOPPED:
            self._process_jobs()

    def _main_loop(self) -> None:
        wait_seconds: float | None = TIMEOUT_MAX
        while self.state != STATE_STOPPED:
            self._event.wait(
                min(wait_seconds if wait_seconds is not None else TIMEOUT_MAX, self._poll_seconds)
            )
            self._event.clear()
            try:
                wait_seconds = self._process_jobs()
            except Exception as exc:  # noqa: BLE001 - the database went away mid-pass: live on
                retry = self.jobstore_retry_interval
                log.warning("scheduling pass failed, trying again in %ss: %s", retry, exc)
                wait_seconds = retry

    def _process_jobs(self) -> float | None:
        """APScheduler 3.11's BaseScheduler._process_jobs, reading the injected clock."""
        if self.state == STATE_PAUSED:
            return None
        now = self.now()
        next_wakeup_time: datetime | None = None
        events: list[Any] = []
        with self._jobstores_lock:
            for jobstore_alias, jobstore in self._jobstores.items():
                try:
                    due_jobs = jobstore.get_due_jobs(now)
                except Exception as exc:  # noqa: BLE001 - a database hiccup: try again soon
                    log.warning("error getting due jobs from job store %r: %s", jobstore_alias, exc)
                    retry = now + timedelta(seconds=self.jobstore_retry_interval)
                    if next_wakeup_time is None or next_wakeup_time > retry:
                        next_wakeup_time = retry
                    continue
                for job in due_jobs:
                    try:
                        executor = self._lookup_executor(job.executor)
                    except KeyError:
                        log.error("executor %r of job %s is missing: removing the job", job.executor, job)
                        self.remove_job(job.id, jobstore_alias)
                        continue
                    run_times = job._get_run_times(now)
                    run_times = run_times[-1:] if run_times and job.coalesce else run_times
                    if run_times:
                        try:
                            executor.submit_job(job, run_times)
                        except MaxInstancesReachedError:
                            log.warning(
                                "job %s skipped: %d instance(s) still running", job, job.max_instances
                            )
                            events.append(
                                JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, job.id, jobstore_alias, run_times)
                            )
                        except Exception:  # as APScheduler does: log it, keep scheduling
                            log.exception("error submitting job %s", job)
                        else:
                            events.append(
                                JobSubmissionEvent(EVENT_JOB_SUBMITTED, job.id, jobstore_alias, run_times)
                            )
                        job_next_run = job.trigger.get_next_fire_time(run_times[-1], now)
                        if job_next_run:
                            job._modify(next_run_time=job_next_run)
                            jobstore.update_job(job)
                        else:
                            self.remove_job(job.id, jobstore_alias)
                jobstore_next = jobstore.get_next_run_time()
                if jobstore_next and (next_wakeup_time is None or jobstore_next < next_wakeup_time):
                    next_wakeup_time = jobstore_next.astimezone(UTC)
        for event in events:
            self._dispatch_event(event)
        if self.state == STATE_PAUSED or next_wakeup_time is None:
            return None
        return min(max((next_wakeup_time - self.now()).total_seconds(), 0.0), TIMEOUT_MAX)
