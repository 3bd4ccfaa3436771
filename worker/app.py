"""The one wiring module: every long-lived object of a process, built once from the settings.

:func:`build_app` gives an :class:`App`: the engine, the one Redis client (none without Redis),
the Picqer request budget and client, the :class:`SyncContext`, the use cases behind the actors,
and, on first use, the broker with the actors declared on it; the receiver app and the scheduler
are made from those. Every command (``run``, ``web``, ``worker``, ``scheduler``, ``hooks sync``,
the foreground ones), the demo and the tests get their objects here; pass any part to use yours.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any

import dramatiq
from sqlalchemy.engine import Engine

from adapters.picqer.client import PicqerClient
from adapters.platform import ShopPlatform
from adapters.registry import get_platform
from worker.config import Settings
from worker.db.models import utcnow
from worker.db.session import DatabaseTimeouts, make_engine
from worker.infra.budget import make_budget
from worker.infra.ingest import IngestPressure
from worker.infra.locks import order_locks, running_job_locks
from worker.infra.redis import connect_redis
from worker.infra.shared_store import RedisSharedStore
from worker.infra.spool import RedisWebhookSpool
from worker.queue import broker as broker_module
from worker.queue.actors import ACCOUNT_RETRY_MS, FULFILMENT_DELAY_MS, Actors, Handlers, declare_actors
from worker.queue.middleware import IngestFirst
from worker.scheduler import LocalJobLock, RedisJobLock, Scheduler, SchedulerTargets, build_jobs
from worker.sync.context import SyncContext
from worker.sync.fulfilment import orders_to_fulfil
from worker.sync.handlers import SyncHandlers
from worker.sync.health import AccountHealth, PicqerAccountGuard, check_accounts
from worker.sync.hooks import check_hook_health
from worker.sync.inbox import InboxSweeper, enqueue_noting_failures
from worker.sync.retention import prune_expired
from worker.sync.spool import WebhookSpool, drain_spool
from worker.sync.tags import TagCache, shared_tag_cache

if TYPE_CHECKING:
    from fastapi import FastAPI


@dataclass
class App:
    """The objects of one process. Close it (or use it as a context manager) when done."""

    settings: Settings
    engine: Engine
    redis: Any  # the one redis-py client; None: no Redis (in-process queue, local budget and locks)
    picqer: PicqerClient
    context: SyncContext
    handlers: Handlers  # what the actors call
    health: AccountHealth  # which accounts refuse our credentials (worker.sync.health)
    fulfilment_delay_ms: int = FULFILMENT_DELAY_MS
    account_retry_ms: int = ACCOUNT_RETRY_MS
    # the receiver's webhooks in flight, for worker threads in the same process (``run``)
    ingest: IngestPressure = field(default_factory=IngestPressure)
    _owned: list[Any] = field(default_factory=list, repr=False)  # what build_app opened
    _actors: Actors | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- the queue -----------------------------------------------------------------------------

    @property
    def actors(self) -> Actors:
        """The broker (Redis, or in-process without Redis) and its actors, declared on first use."""
        with self._lock:
            if self._actors is None:
                broker = broker_module.make_broker(self.settings, redis_client=self.redis)
                self._actors = declare_actors(
                    broker,
                    self.handlers,
                    fulfilment_delay_ms=self.fulfilment_delay_ms,
                    account_retry_ms=self.account_retry_ms,
                )
            return self._actors

    @property
    def broker(self) -> dramatiq.Broker:
        return self.actors.broker

    @property
    def in_process(self) -> bool:
        """Whether messages live only in this process (lost on exit; the inbox sweeper repairs)."""
        return broker_module.is_in_process(self.broker)

    def enqueue_inbox(self, source: str, inbox_id: int) -> None:
        self.actors.enqueue_inbox(source, inbox_id)

    def queue_depths(self) -> dict[str, int]:
        return broker_module.queue_depths(self.broker)

    def ping_queue(self) -> None:
        broker_module.ping(self.broker)

    def start_worker(
        self, threads: int, *, worker_timeout_ms: int | None = None, ingest_first: bool = False
    ) -> dramatiq.Worker:
        """``threads`` worker threads on this process's broker; ``stop()`` them when done.

        ``ingest_first`` (``run``: the receiver in the same process) makes each thread wait while
        this process's receiver stores a burst of webhooks (:mod:`worker.infra.ingest`).
        """
        if ingest_first and not any(isinstance(m, IngestFirst) for m in self.broker.middleware):
            self.broker.add_middleware(IngestFirst(self.ingest))
        timeout = broker_module.WORKER_TIMEOUT_MS if worker_timeout_ms is None else worker_timeout_ms
        return broker_module.start_worker(self.broker, threads=threads, worker_timeout_ms=timeout)

    def sweep_inbox(self) -> int:
        """Enqueue every stored webhook not yet processed, at once (``run`` on start: the
        in-process queue of the process before is gone, so everything unprocessed is ours now)."""
        return InboxSweeper(self.engine, self.enqueue_inbox).sweep(grace_seconds=0)

    # -- the receiver and the scheduler --------------------------------------------------------

    def webhook_spool(self) -> WebhookSpool | None:
        """Where the receiver keeps webhooks while the database is away (Redis only)."""
        if self.redis is None:
            return None
        return RedisWebhookSpool(self.redis, namespace=self.settings.redis_namespace)

    def receiver(self) -> FastAPI:
        """The receiver app: it enqueues stored events on this queue and reports its health."""
        from worker.receiver.app import create_receiver_app, receiver_timeouts
        from worker.receiver.gate import ThreadGate

        actors = self.actors  # declared now, not by the first webhook's thread
        engine = writer_engine = self.engine
        if engine in self._owned and engine.url.database not in (None, "", ":memory:"):
            # its own pool with short timeouts: a sick database gets a 503 within seconds
            timeouts = receiver_timeouts(self.settings)
            engine = make_engine(self.settings.database_url, timeouts=timeouts)
            # the inbox writer's: one thread, so one connection, reused without a ping per group
            # (a connection the database dropped is replaced and the group written again)
            writer_engine = make_engine(
                self.settings.database_url, timeouts=timeouts, pool_pre_ping=False, pool_size=1
            )
            self._owned += [engine, writer_engine]
        gate = ThreadGate(self.settings.receiver_max_in_flight, on_enter=self.ingest.note)
        return create_receiver_app(
            self.settings,
            engine=engine,
            # a failed enqueue is noted on the stored row: the scheduler's ``inbox-requeue`` enqueues
            # it within seconds of the queue's return
            enqueue=enqueue_noting_failures(self.engine, actors.enqueue_inbox),
            queue_ping=self.ping_queue,
            queue_depths=self.queue_depths,
            spool=self.webhook_spool(),
            gate=gate,
            # each group commit's new webhooks in one Redis round trip (failures noted by the writer)
            enqueue_many=actors.enqueue_inbox_many,
            writer_engine=writer_engine,
        )

    def scheduler_targets(self) -> SchedulerTargets:
        """The scheduler's jobs bound to this process's actors and mirror."""
        actors = self.actors
        sweeper = InboxSweeper(self.engine, actors.enqueue_inbox)
        spool = self.webhook_spool()

        def sweep_fulfilment() -> None:
            for task in orders_to_fulfil(self.engine):
                actors.report_fulfilment.send(task.order_id)

        return SchedulerTargets(
            poll_source=actors.poll_source.send,
            reconcile=lambda: actors.enqueue_reconcile(None),
            sweep_inbox=sweeper.sweep,
            requeue_inbox=sweeper.requeue_not_enqueued,
            prune_personal_data=lambda: prune_expired(self.engine, self.settings),
            drain_spool=(
                None
                if spool is None
                else partial(
                    drain_spool,
                    spool,
                    engine=self.engine,
                    enqueue=enqueue_noting_failures(self.engine, actors.enqueue_inbox),
                )
            ),
            sweep_fulfilment=sweep_fulfilment,
            check_hooks=lambda: check_hook_health(self.context),
            check_accounts=lambda: check_accounts(
                self.context, self.health, enqueue_push=actors.push_shop_order.send
            ),
        )

    def scheduler(self) -> Scheduler:
        """The scheduler; with Redis, each firing is taken by one scheduler only."""
        if self.redis is not None:
            lock: RedisJobLock | LocalJobLock = RedisJobLock(
                self.redis, namespace=self.settings.redis_namespace
            )
        else:
            lock = LocalJobLock()
        return Scheduler(build_jobs(self.settings, self.scheduler_targets()), lock=lock)

    # -- the end -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the broker and what :func:`build_app` opened (not what the caller passed in)."""
        with self._lock:
            if self._actors is not None:
                self._actors.broker.close()
                self._actors = None
        for resource in reversed(self._owned):
            if isinstance(resource, Engine):
                resource.dispose()
            else:
                resource.close()
        self._owned.clear()

    def __enter__(self) -> App:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def build_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    redis: Any = None,
    picqer_client: PicqerClient | None = None,
    tag_cache: TagCache | None = None,
    clock: Callable[[], datetime] | None = None,
    platforms: Callable[[str], ShopPlatform] = get_platform,
    handlers: Handlers | None = None,
    fulfilment_delay_ms: int | None = None,
    account_retry_ms: int = ACCOUNT_RETRY_MS,
) -> App:
    """Build the process's objects from ``settings``; any part given is used instead (and left open).

    Redis is used for the queue, the Picqer request budget, the order locks and the scheduler's
    locks when ``redis`` is given or ``settings.redis_url`` is set. Without it the order lock is
    PostgreSQL's for a PostgreSQL mirror, a file lock beside a SQLite file, and this process's for
    an in-memory database. ``handlers`` replaces the use cases behind the actors (queue tests).
    The Picqer client built here reports a refused key to the app's :class:`AccountHealth`;
    ``account_retry_ms`` is how long work that met one waits before it tries again.
    ``fulfilment_delay_ms`` overrides ``settings.fulfilment_delay_seconds`` (the demo's is shorter).
    """
    owned: list[Any] = []
    if engine is None:
        engine = make_engine(settings.database_url, timeouts=worker_timeouts(settings))
        owned.append(engine)
    if fulfilment_delay_ms is None:
        fulfilment_delay_ms = int(settings.fulfilment_delay_seconds * 1000)
    health = AccountHealth(engine, retry_after=account_retry_ms / 1000)
    if redis is None and settings.redis_url:
        redis = connect_redis(settings)
        owned.append(redis)
    if picqer_client is None:
        picqer_client = PicqerClient(
            settings.picqer.url,
            settings.picqer.api_key.get_secret_value(),
            user_agent=settings.picqer.user_agent,
            timeout=settings.picqer.timeout_seconds,
            budget=make_budget(settings.picqer, redis_client=redis, namespace=settings.redis_namespace),
            transport=PicqerAccountGuard(health),
        )
        owned.append(picqer_client)
    context = SyncContext(
        engine=engine,
        picqer=picqer_client,
        tags=tag_cache or shared_tag_cache(settings.picqer.url),
        order_lock=order_locks(engine, redis, namespace=settings.redis_namespace),
        settings=settings,
        clock=clock or utcnow,
        platforms=platforms,
        shop_state=RedisSharedStore(redis, namespace=settings.redis_namespace) if redis is not None else None,
    )
    return App(
        settings=settings,
        engine=engine,
        redis=redis,
        picqer=picqer_client,
        context=context,
        handlers=handlers
        if handlers is not None
        else SyncHandlers(
            context,
            health=health,
            running=running_job_locks(redis, namespace=settings.redis_namespace),
        ),
        health=health,
        fulfilment_delay_ms=fulfilment_delay_ms,
        account_retry_ms=account_retry_ms,
        _owned=owned,
    )


def worker_timeouts(settings: Settings) -> DatabaseTimeouts:
    """The process's own engine: a database that refuses or never answers a connection fails the
    work within seconds (connect and pool timeouts), and the actor tries again a few seconds later
    (``worker.queue.actors``); ``make_engine``'s ``pool_pre_ping`` drops the connections an outage
    broke, so the first try after it succeeds. No statement timeout: a reconcile's queries may be
    long, and the actor's time limit bounds them."""
    return DatabaseTimeouts(
        connect_seconds=settings.database_connect_timeout_seconds,
        pool_seconds=settings.database_pool_timeout_seconds,
    )
