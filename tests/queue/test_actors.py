"""Actors on dramatiq's in-process broker and on Redis (fakeredis, and a real Redis under CI)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from adapters.retry import SHOP_REQUEST
from adapters.source import DEFAULT_TIMEOUT_SECONDS
from tests.queue.fakes import RecordingHandlers, make_settings
from worker.errors import ApiRejected, RateLimited, TransientError
from worker.queue.actors import EVENT_OPTIONS, Actors, declare_actors
from worker.queue.broker import QUEUE_NAME, make_broker, queue_depths, start_worker
from worker.queue.middleware import DEAD_LETTER_ACTOR

FAST = {"min_backoff": 5, "max_backoff": 20}


@pytest.fixture(params=["in-process", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def broker(request: pytest.FixtureRequest) -> Iterator[dramatiq.Broker]:
    """The in-process broker, fakeredis, and a real Redis (skipped locally without one, required on CI)."""
    client: Any = None
    if request.param == "fakeredis":
        import fakeredis

        client = fakeredis.FakeRedis()
    elif request.param == "redis":
        client = request.getfixturevalue("real_redis")
    broker = make_broker(make_settings(), redis_client=client)
    yield broker
    broker.close()


@pytest.fixture
def actors(broker: dramatiq.Broker, handlers: RecordingHandlers) -> Actors:
    return declare_actors(broker, handlers)


@pytest.fixture
def worker(broker: dramatiq.Broker, actors: Actors) -> Iterator[dramatiq.Worker]:
    running = start_worker(broker, threads=2, worker_timeout_ms=50)
    yield running
    running.stop()


def join(broker: dramatiq.Broker) -> None:
    broker.join(QUEUE_NAME, timeout=20_000)


def test_factory_picks_the_broker_from_the_settings(redis_client: Any) -> None:
    assert isinstance(make_broker(make_settings()), StubBroker)
    assert isinstance(make_broker(make_settings(), redis_client=redis_client), RedisBroker)
    # actors are declared on the broker given, which is also installed as the global one
    broker = make_broker(make_settings())
    declare_actors(broker, RecordingHandlers())
    assert dramatiq.get_broker() is broker
    assert "push_shop_order" in broker.actors


def test_a_sent_message_reaches_its_handler(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers, worker: dramatiq.Worker
) -> None:
    actors.enqueue_inbox("picqer", 7)
    actors.enqueue_inbox("shop-nl", 8)
    actors.push_shop_order.send("shop-nl", "1001")
    join(broker)
    assert [call[:2] for call in sorted(handlers.calls)] == [
        ("process_picqer_event", (7,)),
        ("process_shop_event", (8,)),
        ("push_shop_order", ("shop-nl", "1001")),
    ]
    # the log context names the message, the actor and its id arguments
    context = handlers.calls_to("push_shop_order")[0][2]["context"]
    assert context["actor"] == "push_shop_order"
    assert context["source"] == "shop-nl"
    assert context["shop_order_id"] == "1001"
    assert context["message_id"]


def test_a_429_is_waited_out_without_spending_a_retry(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers, worker: dramatiq.Worker
) -> None:
    """More 429s than max_retries, then a transient error: only the transient error counts."""
    max_retries = 3
    failures: list[Exception] = [RateLimited("429", retry_after=0.02)] * (max_retries + 2)
    failures.append(TransientError("502"))

    succeeded = threading.Event()

    def flaky(source: str, shop_order_id: str) -> None:
        if failures:
            raise failures.pop(0)
        succeeded.set()

    handlers.behaviour["push_shop_order"] = flaky
    actors.push_shop_order.send_with_options(args=("shop-nl", "1"), max_retries=max_retries, **FAST)
    # wait for the success itself: a queue that looks empty between a retry's requeue and its
    # delivery would end a join() early on Redis
    assert succeeded.wait(30)
    # dramatiq's own count takes every failure; the 429s waited out are not spent
    retries = [
        info["retries"] - info["rate_limit_waits"] for _, _, info in handlers.calls_to("push_shop_order")
    ]
    assert len(retries) == max_retries + 4  # every 429, the 502, and the success
    assert retries[: max_retries + 4 - 1] == [0] * (max_retries + 3)
    assert retries[-1] == 1
    assert handlers.dead_letters == []


def test_a_message_stuck_on_429s_still_ends(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers, worker: dramatiq.Worker
) -> None:
    """Past ``max_rate_limit_waits``, each 429 spends a retry like any failure."""

    def always_429(source: str, shop_order_id: str) -> None:
        raise RateLimited("429", retry_after=0.001)

    handlers.behaviour["push_shop_order"] = always_429
    actors.push_shop_order.send_with_options(args=("shop-nl", "9"), max_retries=1, **FAST)
    assert handlers.done.wait(60)
    waits = EVENT_OPTIONS.max_rate_limit_waits
    assert len(handlers.calls_to("push_shop_order")) == waits + 2  # the free waits, a try, one retry
    assert handlers.dead_letters[0][:2] == ("push_shop_order", ["shop-nl", "9"])


def test_exhausted_retries_go_to_the_dead_letter_with_the_reason(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers, worker: dramatiq.Worker
) -> None:
    def down(source: str, shop_order_id: str) -> None:
        raise TransientError("shop down", service="Shopify", status=503)

    handlers.behaviour["push_shop_order"] = down
    actors.push_shop_order.send_with_options(args=("shop-nl", "42"), max_retries=2, **FAST)
    assert handlers.done.wait(20)
    assert len(handlers.calls_to("push_shop_order")) == 3  # the first try and two retries
    [(actor, args, kwargs, reason)] = handlers.dead_letters
    assert (actor, args, kwargs) == ("push_shop_order", ["shop-nl", "42"], {})
    assert reason == "Shopify answered 503: shop down"


def test_a_fatal_error_is_not_retried(
    broker: dramatiq.Broker, actors: Actors, handlers: RecordingHandlers, worker: dramatiq.Worker
) -> None:
    def rejected(order_row_id: int) -> None:
        raise ApiRejected("bad", service="Shopify", status=422, error_message="order is archived")

    handlers.behaviour["report_fulfilment"] = rejected
    actors.report_fulfilment.send(5)
    assert handlers.done.wait(20)
    assert len(handlers.calls_to("report_fulfilment")) == 1
    assert handlers.dead_letters[0][0] == "report_fulfilment"
    assert "order is archived" in handlers.dead_letters[0][3]


def test_queue_depth_counts_waiting_messages(broker: dramatiq.Broker, actors: Actors) -> None:
    assert queue_depths(broker) == {QUEUE_NAME: 0}
    actors.poll_source.send("shop-nl")
    actors.enqueue_reconcile(None)
    assert queue_depths(broker) == {QUEUE_NAME: 2}


def test_messages_carry_ids_only(broker: dramatiq.Broker, actors: Actors) -> None:
    message = actors.process_shop_event.send(12)
    assert message.args == (12,)
    assert message.kwargs == {}
    encoded = message.encode()
    assert b"secret" not in encoded.lower()
    assert b"token" not in encoded.lower()


def test_every_actor_outlasts_a_shop_request_retried_to_the_end(
    broker: dramatiq.Broker, actors: Actors
) -> None:
    """A shop call inside an actor gives up (SHOP_REQUEST's bound, plus its last request's timeout)
    before the actor's time limit kills it mid-write."""
    longest_call_ms = (SHOP_REQUEST.total_seconds + DEFAULT_TIMEOUT_SECONDS) * 1000
    for name, actor in broker.actors.items():
        if name == DEAD_LETTER_ACTOR:
            continue  # records in the mirror only: it never calls a shop
        assert actor.options["time_limit"] > longest_call_ms, name
