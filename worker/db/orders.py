"""Repository functions for ``orders`` and their lines, picklists and shipments (keyword-only)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from adapters.picqer.status import PicqerStatus
from worker.db.models import Order, OrderLine, Picklist, Shipment, SyncState, utcnow
from worker.db.upsert import dialect_insert


def ensure_order(
    session: Session, *, source: str, shop_order_id: str, shop_order_number: str, reference: str
) -> Order:
    """The row of this shop order, inserted first when missing (safe when two workers race)."""
    values = {
        "source": source,
        "shop_order_id": shop_order_id,
        "shop_order_number": shop_order_number,
        "reference": reference,
        "sync_state": SyncState.PENDING,
        "sync_step": "",
        "attempts": 0,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    session.execute(dialect_insert(session, Order).values(**values).on_conflict_do_nothing())
    order = get_order(session, source=source, shop_order_id=shop_order_id)
    assert order is not None  # inserted above or by the worker we raced
    return order


def get_order(session: Session, *, source: str, shop_order_id: str) -> Order | None:
    statement = select(Order).where(Order.source == source, Order.shop_order_id == shop_order_id)
    return session.exec(statement).first()


def get_order_by_id(session: Session, *, order_id: int) -> Order | None:
    return session.get(Order, order_id)


def get_order_by_idorder(session: Session, *, idorder: int) -> Order | None:
    return session.exec(select(Order).where(Order.idorder == idorder)).first()


def find_unlinked_by_reference(session: Session, *, reference: str) -> list[Order]:
    """Rows with this reference that have no Picqer order yet (candidates for adoption)."""
    statement = select(Order).where(Order.reference == reference, col(Order.idorder).is_(None))
    return list(session.exec(statement).all())


def update_order(session: Session, *, order_id: int, **fields: Any) -> Order:
    """Set ``fields`` on the row and stamp ``updated_at``; returns the row."""
    order = session.get(Order, order_id)
    if order is None:
        raise LookupError(f"mirror order {order_id} does not exist")
    change_order(order, **fields)
    session.add(order)
    session.flush()
    return order


def change_order(order: Order, **fields: Any) -> None:
    """Set ``fields`` on a row of the session and stamp ``updated_at``; written when it flushes.

    Many rows changed in one transaction are written together (one ``executemany``), where
    :func:`update_order` writes each at once.
    """
    for name, value in fields.items():
        if not hasattr(order, name):
            raise AttributeError(f"orders has no column {name}")
        setattr(order, name, value)
    order.updated_at = utcnow()


def lock_order(session: Session, *, order_id: int) -> Order | None:
    """The row as it is now, locked (PostgreSQL ``FOR UPDATE``) until the transaction ends.

    A decision read off a row and written back (newest ``updated`` wins) must not race another
    writer of the same row between the read and the write. On SQLite the whole database is locked
    for writing instead (:func:`_hold_write_lock`).
    """
    _hold_write_lock(session)
    statement = (
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    )
    return session.exec(statement).first()


def _hold_write_lock(session: Session) -> None:
    """On SQLite, take the database's write lock now, before the rows are read.

    SQLite has no ``FOR UPDATE``, and Python's driver opens the transaction only at the first
    write: a read before it sees the rows as they were, and another writer may change them before
    this one writes. A write that touches no row opens the transaction and takes the lock
    (waiting for the writer before, as any write does); the reads after it see the newest rows.
    """
    if session.get_bind().dialect.name == "sqlite":
        table = Order.__table__  # type: ignore[attr-defined]
        session.execute(sa.update(table).where(sa.false()).values(id=table.c.id))


def lock_orders_by_idorder(session: Session, *, idorders: Iterable[int]) -> dict[int, Order]:
    """The rows of these Picqer orders (those we have), as they are now, locked until the
    transaction ends; by ``idorder``.

    Locked in ascending ``idorder``: two transactions that lock overlapping sets this way never
    wait for each other in a circle (no deadlock).
    """
    wanted = sorted(set(idorders))
    if not wanted:
        return {}
    _hold_write_lock(session)
    statement = (
        select(Order)
        .where(col(Order.idorder).in_(wanted))
        .order_by(col(Order.idorder))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {order.idorder: order for order in session.exec(statement).all() if order.idorder is not None}


def replace_lines(session: Session, *, order_id: int, lines: Iterable[OrderLine]) -> None:
    session.execute(sa.delete(OrderLine).where(col(OrderLine.order_id) == order_id))
    for line in lines:
        line.order_id = order_id
        session.add(line)
    session.flush()


def list_lines(session: Session, *, order_id: int) -> list[OrderLine]:
    statement = select(OrderLine).where(OrderLine.order_id == order_id).order_by(col(OrderLine.id))
    return list(session.exec(statement).all())


def upsert_picklist(
    session: Session,
    *,
    order_id: int,
    idpicklist: int,
    picklistid: str | None,
    status: str | None,
    updated: datetime | None,
) -> Picklist:
    """Insert or refresh a picklist; an older ``updated`` never overwrites a newer one.

    One statement (``INSERT ... ON CONFLICT (idpicklist) DO UPDATE``), so two jobs storing the same
    picklist at once both succeed instead of one failing on ``uq_picklists_idpicklist``.
    """
    upsert_picklists(
        session,
        [
            PicklistRow(
                order_id=order_id,
                idpicklist=idpicklist,
                picklistid=picklistid,
                status=status,
                updated=updated,
            )
        ],
    )
    return session.exec(
        select(Picklist).where(Picklist.idpicklist == idpicklist).execution_options(populate_existing=True)
    ).one()


@dataclass(frozen=True)
class PicklistRow:
    """A picklist as an event or a listing gave it, to store with :func:`upsert_picklists`."""

    order_id: int
    idpicklist: int
    picklistid: str | None
    status: str | None
    updated: datetime | None


def upsert_picklists(session: Session, rows: Sequence[PicklistRow]) -> None:
    """:func:`upsert_picklist` for many rows, in their order, with a statement per round.

    One ``INSERT ... ON CONFLICT`` may not touch a row twice, so each round holds at most one row
    per picklist (the first round every picklist's first row, the second its second row, ...):
    the result is that of storing the rows one by one, an older ``updated`` never overwriting a
    newer one. Each round is sorted by ``idpicklist``, the order every batch locks them in.
    """
    rounds: list[dict[int, PicklistRow]] = []
    for row in rows:
        for batch in rounds:
            if row.idpicklist not in batch:
                batch[row.idpicklist] = row
                break
        else:
            rounds.append({row.idpicklist: row})
    for batch in rounds:
        session.execute(
            _picklist_upsert(session),
            [
                {
                    "order_id": row.order_id,
                    "idpicklist": row.idpicklist,
                    "picklistid": row.picklistid or None,
                    "status": row.status or None,
                    "updated": row.updated,
                }
                for _, row in sorted(batch.items())
            ],
        )


def _picklist_upsert(session: Session) -> Any:
    """``INSERT ... ON CONFLICT (idpicklist) DO UPDATE``: each field kept when the new one is
    missing, and nothing changed when the stored picklist is newer."""
    table = Picklist.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(session, Picklist)
    stored, new = table.c, insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[stored.idpicklist],
        set_={
            "picklistid": sa.func.coalesce(new.picklistid, stored.picklistid),
            "status": sa.func.coalesce(new.status, stored.status),
            "updated": sa.func.coalesce(new.updated, stored.updated),
        },
        where=sa.or_(stored.updated.is_(None), new.updated.is_(None), new.updated >= stored.updated),
    )


def find_picklist(session: Session, *, idpicklist: int) -> Picklist | None:
    return session.exec(select(Picklist).where(Picklist.idpicklist == idpicklist)).first()


def upsert_shipment(
    session: Session,
    *,
    order_id: int,
    idshipment: int,
    idpicklist: int | None,
    trackingcode: str | None,
    trackingurl: str | None,
    carrier: str | None,
    cancelled: bool = False,
) -> tuple[Shipment, bool]:
    """Insert or refresh a shipment; returns it and whether it was new.

    ``INSERT ... ON CONFLICT (idshipment) DO NOTHING`` first: exactly one of two racing writers
    inserts (and reports it new); the other waits for it and then refreshes the row.
    """
    table = Shipment.__table__  # type: ignore[attr-defined]
    inserted = session.execute(
        dialect_insert(session, Shipment)
        .values(
            order_id=order_id,
            idshipment=idshipment,
            idpicklist=idpicklist,
            trackingcode=trackingcode or None,
            trackingurl=trackingurl or None,
            carrier=carrier or None,
            cancelled=cancelled,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[table.c.idshipment])
        .returning(table.c.id)
    ).first()
    created = inserted is not None
    if not created:
        stored = table.c
        session.execute(
            sa.update(table)
            .where(stored.idshipment == idshipment)
            .values(
                idpicklist=sa.func.coalesce(sa.literal(idpicklist, sa.BigInteger()), stored.idpicklist),
                trackingcode=sa.func.coalesce(
                    sa.literal(trackingcode or None, sa.String()), stored.trackingcode
                ),
                trackingurl=sa.func.coalesce(sa.literal(trackingurl or None, sa.Text()), stored.trackingurl),
                carrier=sa.func.coalesce(sa.literal(carrier or None, sa.String()), stored.carrier),
                cancelled=cancelled,
            )
        )
    shipment = session.exec(
        select(Shipment).where(Shipment.idshipment == idshipment).execution_options(populate_existing=True)
    ).one()
    return shipment, created


def list_shipments(session: Session, *, order_id: int, include_cancelled: bool = False) -> list[Shipment]:
    statement = select(Shipment).where(Shipment.order_id == order_id)
    if not include_cancelled:
        statement = statement.where(col(Shipment.cancelled).is_(False))
    return list(session.exec(statement.order_by(col(Shipment.id))).all())


def list_failed_orders(
    session: Session, *, source: str | None = None, include_conflicts: bool = False, limit: int = 500
) -> list[Order]:
    """Failed orders (and conflicts, when asked), most recently changed first."""
    states = [SyncState.FAILED, SyncState.CONFLICT] if include_conflicts else [SyncState.FAILED]
    statement = select(Order).where(col(Order.sync_state).in_(states))
    if source is not None:
        statement = statement.where(Order.source == source)
    statement = statement.order_by(col(Order.updated_at).desc(), col(Order.id).desc()).limit(limit)
    return list(session.exec(statement).all())


def reset_for_retry(session: Session, *, order_ids: Sequence[int] | None = None) -> list[Order]:
    """Put failed orders back to pending (all of them when ``order_ids`` is None).

    The sync step stays as it was, so the retry resumes where the push stopped.
    """
    statement = select(Order).where(Order.sync_state == SyncState.FAILED)
    if order_ids is not None:
        statement = statement.where(col(Order.id).in_(list(order_ids)))
    orders = list(session.exec(statement.order_by(col(Order.id))).all())
    for order in orders:
        order.sync_state = SyncState.PENDING
        order.last_error = None
        order.failed_step = None
        order.updated_at = utcnow()
        session.add(order)
    session.flush()
    return orders


def list_to_fulfil(session: Session, *, source: str | None = None, limit: int = 100) -> list[Order]:
    """Orders completed in Picqer whose fulfilment the shop has not heard of yet, oldest first."""
    statement = select(Order).where(
        Order.picqer_status == PicqerStatus.COMPLETED, col(Order.fulfilment_reported_at).is_(None)
    )
    if source is not None:
        statement = statement.where(Order.source == source)
    statement = statement.order_by(col(Order.completed_at), col(Order.id)).limit(limit)
    return list(session.exec(statement).all())


def count_by_state(session: Session, *, source: str | None = None) -> dict[str, int]:
    """How many orders are in each sync state (for ``status``)."""
    statement = sa.select(col(Order.sync_state), sa.func.count()).group_by(col(Order.sync_state))
    if source is not None:
        statement = statement.where(col(Order.source) == source)
    return {str(state): int(count) for state, count in session.execute(statement).all()}


def _holds_json(column: Any) -> sa.ColumnElement[bool]:
    """The JSON column holds a value: neither SQL NULL nor the JSON ``null`` an ORM write of None
    leaves (SQLAlchemy's JSON type stores None as ``'null'``)."""
    return sa.and_(column.is_not(None), sa.cast(column, sa.Text()) != "null")


def _finished() -> sa.ColumnElement[bool]:
    """Nothing is left to do for the order, and a person is not asked to look at it.

    Completed in Picqer with the shop told of its fulfilment; cancelled in Picqer (by us or a
    person); or never pushed and skipped (unpaid, cancelled before a push, nothing to ship). Failed
    orders, conflicts, paused orders and fulfilments still to report are not finished.
    """
    return sa.or_(
        sa.and_(
            col(Order.sync_state) == SyncState.SYNCED,
            col(Order.picqer_status) == PicqerStatus.COMPLETED,
            col(Order.fulfilment_reported_at).is_not(None),
        ),
        sa.and_(
            col(Order.sync_state).in_([SyncState.SYNCED, SyncState.CANCELLED]),
            col(Order.picqer_status) == PicqerStatus.CANCELLED,
        ),
        col(Order.sync_state) == SyncState.CANCELLED,
        sa.and_(col(Order.sync_state) == SyncState.SKIPPED, col(Order.idorder).is_(None)),
    )


def _finished_before(cutoff: datetime) -> sa.ColumnElement[bool]:
    # ``updated_at`` is stamped by every change, the completion included, so it is never earlier
    # than the moment an order was finished; an order still being touched (a shop that keeps
    # sending it) keeps its data until it has been quiet for as long
    return sa.and_(_finished(), col(Order.updated_at) < cutoff)


def list_finished_with_personal_data(
    session: Session, *, finished_before: datetime, after_id: int = 0, limit: int = 500
) -> list[int]:
    """Ids (ascending, above ``after_id``) of orders finished and untouched since
    ``finished_before`` that still hold personal data: a stored draft, or a shipment's tracking."""
    tracked = sa.exists().where(
        col(Shipment.order_id) == col(Order.id),
        sa.or_(col(Shipment.trackingcode).is_not(None), col(Shipment.trackingurl).is_not(None)),
    )
    statement = (
        select(Order.id)
        .where(
            _finished_before(finished_before),
            col(Order.id) > after_id,
            sa.or_(_holds_json(col(Order.mapped_json)), _holds_json(col(Order.pushed_draft)), tracked),
        )
        .order_by(col(Order.id))
        .limit(limit)
    )
    return [order_id for order_id in session.exec(statement).all() if order_id is not None]


def blank_personal_data(session: Session, *, order_ids: Sequence[int], finished_before: datetime) -> int:
    """Blank the drafts of these orders and the tracking of their shipments; returns how many
    orders were blanked. ``updated_at`` is left alone: blanking is not a change of the order.

    The finished condition is checked again, so an order a webhook touched since it was listed keeps
    its data. ``pushed_draft_hash`` stays: a repeat of the same shop order is still recognised.
    """
    if not order_ids:
        return 0
    table = Order.__table__  # type: ignore[attr-defined]
    blanked = [
        int(order_id)
        for (order_id,) in session.execute(
            sa.update(table)
            .where(table.c.id.in_(list(order_ids)), _finished_before(finished_before))
            # SQL NULL, not the JSON null a None would become
            .values(mapped_json=sa.null(), pushed_draft=sa.null())
            .returning(table.c.id)
        ).all()
    ]
    if blanked:
        shipments = Shipment.__table__  # type: ignore[attr-defined]
        session.execute(
            sa.update(shipments)
            .where(shipments.c.order_id.in_(blanked))
            .values(trackingcode=None, trackingurl=None)
        )
    return len(blanked)
