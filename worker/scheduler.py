"""The scheduler: the safety nets on a clock (PRODUCT.md, behaviour 6).

It only enqueues (or, for the cheap ones, runs) jobs; the work happens in the worker:

* ``poll:<source>`` every ``poll_interval_seconds`` per enabled source (the poll itself reads the
  cursor and an overlapping window, see ``worker/sync/polling.py``);
* ``reconcile`` every ``reconcile_interval_seconds``, and the fulfilment sweep with it (completed
  orders the shop has not heard of yet);
* ``inbox-sweep`` every ``inbox_sweep_interval_seconds``: webhooks stored but never processed;
* ``inbox-requeue`` every ``INBOX_REQUEUE_SECONDS``: webhooks stored but whose enqueue failed (the
  receiver answered 503 while the queue was away), enqueued within seconds of the queue's return;
* ``accounts`` every minute: each account that refused our key is probed, and orders a refused
  key failed are retried once it works (``worker/sync/health.py``);
* ``hooks`` every ``hook_check_interval_seconds``: Picqer hooks found inactive are reactivated, and
  the shops' order webhooks are ensured (recreated when deleted, reactivated when disabled);
* ``retention`` every ``RETENTION_PRUNE_SECONDS``: processed webhooks older than
  ``inbox_retention_days`` are deleted and finished orders' personal data blanked
  (``worker/sync/retention.py``); ``run`` prunes on start too, as its scheduler's first tick fires
  every job;
* ``spool-drain`` every ``INBOX_REQUEUE_SECONDS`` (with Redis): webhooks a receiver kept in Redis
  while the database was away, moved into the inbox and enqueued (``worker/sync/spool.py``); the
  web process drains too, this catches a spool whose web process is gone.

With Redis, each firing takes a per-job lock (``SET NX PX``, held for most of the interval), so two
schedulers, by accident or for availability, do not fire the same job twice. When Redis is down the
lock cannot be taken: the job stays due, and the scheduler waits (``service_unavailable``, 1 s
doubling to 30 s) and fires it once Redis answers, instead of dying with a traceback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from worker import metrics
from worker.config import Settings
from worker.infra.redis import DEFAULT_NAMESPACE
from worker.infra.services import REDIS, wait_for_service
from worker.logging import get_logger

log = get_logger(__name__)

LOCK_SHARE = 0.9  # a firing holds its job's lock for this share of the interval
MAX_IDLE_SECONDS = 5.0  # wake up at least this often to notice the stop event
ACCOUNT_CHECK_SECONDS = 60.0  # a fixed key is noticed within a minute
INBOX_REQUEUE_SECONDS = 10.0  # a webhook stored while the queue was away moves this soon after it returns
RETENTION_PRUNE_SECONDS = 3600.0  # the retention is counted in days: hourly keeps it to the hour


@dataclass
class Job:
    name: str
    interval: float  # seconds
    action: Callable[[], object]
    next_due: float = 0.0  # monotonic seconds; 0 fires on the first tick


class RedisJobLock:
    """``acquire(job, ttl)`` is true for exactly one scheduler per job per ``ttl``."""

    def __init__(self, client: Any, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        self._client = client
        self._prefix = f"{namespace}:scheduler"

    def acquire(self, job: str, ttl: float) -> bool:
        return bool(self._client.set(f"{self._prefix}:{job}", "1", nx=True, px=max(1, int(ttl * 1000))))


class LocalJobLock:
    """Without Redis there is one process (``run``): every firing is ours."""

    def acquire(self, job: str, ttl: float) -> bool:
        return True


@dataclass
class SchedulerTargets:
    """What the scheduler fires; ``worker.app`` binds these to the actors and the mirror."""

    poll_source: Callable[[str], object]
    reconcile: Callable[[], object]
    sweep_inbox: Callable[[], object]
    sweep_fulfilment: Callable[[], object]
    check_hooks: Callable[[], object]
    # probe the accounts that refused our key; retry what a refused key failed (worker.sync.health)
    check_accounts: Callable[[], object] | None = None
    # enqueue the stored webhooks whose enqueue failed (worker.sync.inbox.InboxSweeper.requeue_not_enqueued)
    requeue_inbox: Callable[[], object] | None = None
    # delete processed webhooks and blank finished orders past the retention (worker.sync.retention)
    prune_personal_data: Callable[[], object] | None = None
    # move webhooks kept in Redis while the database was away into the inbox (worker.sync.spool)
    drain_spool: Callable[[], object] | None = None


def build_jobs(settings: Settings, targets: SchedulerTargets) -> list[Job]:
    jobs = [
        Job(
            f"poll:{source.name}",
            float(source.poll_interval_seconds),
            _bind(targets.poll_source, source.name),
        )
        for source in settings.sources
        if source.enabled
    ]
    jobs += [
        Job("reconcile", float(settings.reconcile_interval_seconds), targets.reconcile),
        Job("fulfilment-sweep", float(settings.reconcile_interval_seconds), targets.sweep_fulfilment),
        Job("inbox-sweep", float(settings.inbox_sweep_interval_seconds), targets.sweep_inbox),
        Job("hooks", float(settings.hook_check_interval_seconds), targets.check_hooks),
    ]
    if targets.check_accounts is not None:
        jobs.append(Job("accounts", ACCOUNT_CHECK_SECONDS, targets.check_accounts))
    if targets.requeue_inbox is not None:
        jobs.append(Job("inbox-requeue", INBOX_REQUEUE_SECONDS, targets.requeue_inbox))
    if targets.prune_personal_data is not None:
        jobs.append(Job("retention", RETENTION_PRUNE_SECONDS, targets.prune_personal_data))
    if targets.drain_spool is not None:
        jobs.append(Job("spool-drain", INBOX_REQUEUE_SECONDS, targets.drain_spool))
    return jobs


def _bind(fn: Callable[[str], object], name: str) -> Callable[[], object]:
    return lambda: fn(name)


@dataclass
class Scheduler:
    jobs: list[Job]
    lock: RedisJobLock | LocalJobLock = field(default_factory=LocalJobLock)
    clock: Callable[[], float] = time.monotonic

    def tick(self) -> list[str]:
        """Fire every job that is due; returns the names fired. A failing job waits its next turn."""
        now = self.clock()
        fired = []
        for job in self.jobs:
            if now < job.next_due:
                continue
            # may raise (Redis down): the job then stays due and run() waits before the next tick
            taken = self.lock.acquire(job.name, job.interval * LOCK_SHARE)
            job.next_due = now + job.interval
            if not taken:
                continue  # another scheduler fired it
            try:
                job.action()
            except Exception as error:
                log.error(
                    "scheduled_job_failed",
                    job=job.name,
                    error_type=type(error).__name__,
                    error=str(error)[:300],
                )
                continue
            metrics.SCHEDULER_RUNS.labels(job.name).inc()
            fired.append(job.name)
        return fired

    def seconds_until_next(self) -> float:
        now = self.clock()
        return max(0.0, min((job.next_due - now for job in self.jobs), default=MAX_IDLE_SECONDS))

    def run(self, stop: threading.Event, *, sleep: Callable[[float], object] | None = None) -> None:
        """Tick until ``stop`` is set; while the lock's service is down, wait for it with back-off."""
        pause = sleep or stop.wait
        log.info("scheduler_started", jobs=[job.name for job in self.jobs])
        while not stop.is_set():
            if not wait_for_service(
                REDIS, "the scheduler's job locks", self._tick_and_log, stop=stop, sleep=pause
            ):
                break
            pause(min(self.seconds_until_next(), MAX_IDLE_SECONDS))
        log.info("scheduler_stopped")

    def _tick_and_log(self) -> None:
        fired = self.tick()
        if fired:
            log.info("scheduler_fired", jobs=fired)
