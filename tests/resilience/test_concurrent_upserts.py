"""Two jobs writing the same picklist, shipment or hook at once both succeed (no unique violation)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlmodel import select

from worker.db import hooks, orders
from worker.db.models import HookRegistration, Picklist, Shipment
from worker.db.session import make_engine, session_scope

ROUNDS = 10


def _race(database_url: str, write: Callable[..., object]) -> list[object]:
    """Run ``write(session, writer)`` in two threads, each on its own engine, released together."""
    barrier = threading.Barrier(2)
    results: list[object] = []
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        engine = make_engine(database_url)
        try:
            with session_scope(engine) as session:
                barrier.wait(timeout=10)
                results.append(write(session, number))
        except BaseException as error:
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


def _order_id(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            order = orders.ensure_order(
                session, source="shop", shop_order_id="1", shop_order_number="1", reference="#1"
            )
            assert order.id is not None
            return order.id
    finally:
        engine.dispose()


def test_two_writers_store_the_same_picklist_at_once(mirror_url: str) -> None:
    order_id = _order_id(mirror_url)
    for round_ in range(ROUNDS):

        def write(session: object, number: int, idpicklist: int = 1000 + round_) -> object:
            return orders.upsert_picklist(
                session,  # type: ignore[arg-type]
                order_id=order_id,
                idpicklist=idpicklist,
                picklistid=f"P{idpicklist}",
                status="new" if number == 0 else "closed",
                updated=datetime(2026, 3, 1, 10, 0, number),
            )

        _race(mirror_url, write)
    engine = make_engine(mirror_url)
    try:
        with session_scope(engine) as session:
            stored = session.exec(select(Picklist)).all()
            assert len(stored) == ROUNDS
            # the newer ``updated`` wins, whichever writer came last
            assert {picklist.status for picklist in stored} == {"closed"}
            older = orders.upsert_picklist(
                session,
                order_id=order_id,
                idpicklist=1000,
                picklistid=None,
                status="new",
                updated=datetime(2026, 3, 1, 9, 0, 0),
            )
            assert older.status == "closed"
            assert older.picklistid == "P1000"
    finally:
        engine.dispose()


def test_two_writers_store_the_same_shipment_at_once_and_one_creates_it(mirror_url: str) -> None:
    order_id = _order_id(mirror_url)
    for round_ in range(ROUNDS):

        def write(session: object, number: int, idshipment: int = 2000 + round_) -> object:
            return orders.upsert_shipment(
                session,  # type: ignore[arg-type]
                order_id=order_id,
                idshipment=idshipment,
                idpicklist=None if number else 1000,
                trackingcode=f"TRACK-{idshipment}",
                trackingurl=None,
                carrier="PostNL" if number else None,
            )

        results = _race(mirror_url, write)
        assert sorted(created for _, created in results) == [False, True]  # type: ignore[misc]
    engine = make_engine(mirror_url)
    try:
        with session_scope(engine) as session:
            stored = session.exec(select(Shipment)).all()
            assert len(stored) == ROUNDS
            assert all(shipment.trackingcode == f"TRACK-{shipment.idshipment}" for shipment in stored)
            refreshed, created = orders.upsert_shipment(
                session,
                order_id=order_id,
                idshipment=2000,
                idpicklist=None,
                trackingcode=None,
                trackingurl="https://track.example/2000",
                carrier=None,
                cancelled=True,
            )
            assert not created
            assert refreshed.trackingcode == "TRACK-2000"  # kept: nothing new came
            assert refreshed.trackingurl == "https://track.example/2000"
            assert refreshed.cancelled
    finally:
        engine.dispose()


def test_two_hook_checks_record_the_same_hook_at_once(mirror_url: str) -> None:
    for round_ in range(ROUNDS):

        def write(session: object, number: int, remote_id: str = f"hook-{round_}") -> object:
            return hooks.upsert_hook_registration(
                session,  # type: ignore[arg-type]
                target="picqer",
                remote_id=remote_id,
                event="orders.status_changed",
                address="https://example.test/webhooks/picqer",
                active=bool(number),
            )

        _race(mirror_url, write)
    engine = make_engine(mirror_url)
    try:
        with session_scope(engine) as session:
            assert len(session.exec(select(HookRegistration)).all()) == ROUNDS
    finally:
        engine.dispose()
