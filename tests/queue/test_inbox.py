"""The inbox: stored once, swept when lost, processed (applied) once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.queue.fakes import make_settings
from worker.app import build_app
from worker.db.models import InboxEvent, utcnow
from worker.db.session import session_scope
from worker.sync import picqer_events
from worker.sync.events import AppliedEvent
from worker.sync.inbox import InboxSweeper, mark_processed, store_event
from worker.sync.outcomes import EventKind, EventOutcome


def _age(engine: Engine, inbox_id: int, seconds: float) -> None:
    with session_scope(engine) as session:
        row = session.get(InboxEvent, inbox_id)
        assert row is not None
        row.received_at = utcnow() - timedelta(seconds=seconds)
        session.add(row)


def test_store_is_idempotent_per_event_key(engine: Engine) -> None:
    first = store_event(engine, source="picqer", event_key="k1", topic="orders.completed", payload="{}")
    again = store_event(engine, source="picqer", event_key="k1", topic="orders.completed", payload="{}")
    other = store_event(engine, source="shop-nl", event_key="k1", topic="orders/updated", payload="{}")
    assert not first.duplicate
    assert again.duplicate
    assert again.inbox_id == first.inbox_id
    assert other.inbox_id != first.inbox_id
    long_key = store_event(engine, source="picqer", event_key="x" * 400, topic="t", payload="{}")
    assert store_event(engine, source="picqer", event_key="x" * 400, topic="t", payload="{}").duplicate
    assert not long_key.duplicate


def test_sweeper_reenqueues_lost_events_only(engine: Engine) -> None:
    lost = store_event(engine, source="picqer", event_key="lost", topic="t", payload="{}").inbox_id
    fresh = store_event(engine, source="shop-nl", event_key="fresh", topic="t", payload="{}").inbox_id
    done = store_event(engine, source="picqer", event_key="done", topic="t", payload="{}").inbox_id
    _age(engine, lost, 300)
    _age(engine, done, 300)
    mark_processed(engine, inbox_id=done)
    sent: list[tuple[str, int]] = []
    sweeper = InboxSweeper(
        engine, lambda source, inbox_id: sent.append((source, inbox_id)), grace_seconds=120
    )
    assert sweeper.sweep() == 1
    assert sent == [("picqer", lost)]
    # swept a moment ago: maybe just waiting in a long queue, so not again yet
    assert sweeper.sweep() == 0
    assert sweeper.sweep(now=utcnow() + timedelta(seconds=600)) == 2  # now fresh is past its grace too
    assert (("shop-nl", fresh)) in sent


def test_a_picqer_event_is_applied_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[Any] = []

    def fake_apply(session: Any, events: Any) -> list[AppliedEvent]:
        applied.extend(event.event_key for event in events)
        return [AppliedEvent(EventOutcome(kind=EventKind.IGNORED, event=event.event)) for event in events]

    monkeypatch.setattr(picqer_events, "apply_picqer_events", fake_apply)
    body = {
        "idhook": 1,
        "name": "n",
        "event": "orders.completed",
        "event_triggered_at": "2026-01-01 10:00:00",
        "data": {"idorder": 5},
    }
    inbox_id = store_event(
        engine, source="picqer", event_key="e", topic="orders.completed", payload=json.dumps(body)
    ).inbox_id
    handlers = build_app(make_settings(), engine=engine).handlers
    handlers.process_picqer_event(inbox_id)
    handlers.process_picqer_event(inbox_id)  # a duplicate message (sweeper, redelivery)
    assert len(applied) == 1
    with session_scope(engine) as session:
        row = session.get(InboxEvent, inbox_id)
        assert row is not None
        assert row.processed_at is not None


def test_a_failed_attempt_is_counted_with_its_reason(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.errors import TransientError

    def failing(session: Any, events: Any) -> list[AppliedEvent]:
        raise TransientError("timeout", service="Picqer")

    monkeypatch.setattr(picqer_events, "apply_picqer_events", failing)
    body = {
        "idhook": 1,
        "name": "n",
        "event": "orders.completed",
        "event_triggered_at": "2026-01-01 10:00:00",
        "data": {"idorder": 5},
    }
    inbox_id = store_event(
        engine, source="picqer", event_key="f", topic="t", payload=json.dumps(body)
    ).inbox_id
    handlers = build_app(make_settings(), engine=engine).handlers
    with pytest.raises(TransientError):
        handlers.process_picqer_event(inbox_id)
    with session_scope(engine) as session:
        row = session.get(InboxEvent, inbox_id)
        assert row is not None
        assert row.attempts == 1
        assert row.processed_at is None
        assert row.error == "Picqer answered no response: timeout"
