"""Repository functions for ``orders`` and their lines, picklists and shipments (keyword-only)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    for name, value in fields.items():
        if not hasattr(order, name):
            raise AttributeError(f"orders has no column {name}")
        setattr(order, name, value)
    order.updated_at = utcnow()
    session.add(order)
    session.flush()
    return order


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
    table = Picklist.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(session, Picklist).values(
        order_id=order_id,
        idpicklist=idpicklist,
        picklistid=picklistid or None,
        status=status or None,
        updated=updated,
    )
    stored, new = table.c, insert.excluded
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[stored.idpicklist],
            set_={
                "picklistid": sa.func.coalesce(new.picklistid, stored.picklistid),
                "status": sa.func.coalesce(new.status, stored.status),
                "updated": sa.func.coalesce(new.updated, stored.updated),
            },
            where=sa.or_(stored.updated.is_(None), new.updated.is_(None), new.updated >= stored.updated),
        )
    )
    return session.exec(
        select(Picklist).where(Picklist.idpicklist == idpicklist).execution_options(populate_existing=True)
    ).one()


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
