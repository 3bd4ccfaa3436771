"""Wire the queue of one process: broker, actors, handlers and the shared Picqer budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dramatiq
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from worker.config import Settings
from worker.queue import broker as broker_module
from worker.queue.actors import ActorFollowUps, Actors, declare_actors
from worker.queue.budget import make_budget
from worker.queue.handlers import Handlers


@dataclass
class QueueRuntime:
    """Everything a process needs to enqueue (web, scheduler) or to work (worker, run)."""

    broker: dramatiq.Broker
    actors: Actors
    handlers: Handlers
    redis_client: Any = None

    @property
    def in_process(self) -> bool:
        return broker_module.is_in_process(self.broker)

    def enqueue_inbox(self, source: str, inbox_id: int) -> None:
        self.actors.enqueue_inbox(source, inbox_id)

    def depths(self) -> dict[str, int]:
        return broker_module.queue_depths(self.broker)

    def ping(self) -> None:
        broker_module.ping(self.broker)

    def receiver_app(self, settings: Settings, engine: Engine) -> FastAPI:
        """The receiver wired to this queue: it enqueues stored events here and reports its health."""
        from worker.receiver.app import create_receiver_app

        return create_receiver_app(
            settings,
            engine=engine,
            enqueue=self.enqueue_inbox,
            queue_ping=self.ping,
            queue_depths=self.depths,
        )

    def start_worker(self, threads: int) -> dramatiq.Worker:
        return broker_module.start_worker(self.broker, threads=threads)

    def close(self) -> None:
        close = getattr(self.handlers, "close", None)
        if callable(close):
            close()
        self.broker.close()


def build_queue(
    settings: Settings,
    *,
    engine: Engine,
    redis_client: Any = None,
    handlers: Handlers | None = None,
    fulfilment_delay_ms: int | None = None,
) -> QueueRuntime:
    """The broker (Redis or in-process), the actors declared on it and the handlers behind them.

    Without ``handlers``, :class:`SyncHandlers` with the shared Picqer budget (in Redis when Redis
    is used) are built; they open their Picqer client only when a message needs it.
    ``fulfilment_delay_ms`` overrides their wait between an order's completion and its fulfilment
    report (``FULFILMENT_DELAY_MS``; the demo and tests use a short one).
    """
    client = redis_client if redis_client is not None else broker_module.redis_client_from_settings(settings)
    broker = broker_module.make_broker(settings, redis_client=client)
    if handlers is None:
        from worker.queue.sync_handlers import FULFILMENT_DELAY_MS, SyncHandlers

        sync_handlers = SyncHandlers(
            settings,
            engine=engine,
            redis_client=client,
            budget=make_budget(settings.picqer, redis_client=client),
            fulfilment_delay_ms=FULFILMENT_DELAY_MS if fulfilment_delay_ms is None else fulfilment_delay_ms,
        )
        actors = declare_actors(broker, sync_handlers)
        sync_handlers.followups = ActorFollowUps(actors)
        return QueueRuntime(broker=broker, actors=actors, handlers=sync_handlers, redis_client=client)
    return QueueRuntime(
        broker=broker, actors=declare_actors(broker, handlers), handlers=handlers, redis_client=client
    )
