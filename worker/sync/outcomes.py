"""What a use case did, as plain values the caller (actor, command, test) can report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from worker.db.models import Order


class PushKind(StrEnum):
    PUSHED = "pushed"  # created, tagged and processed in Picqer now
    UNCHANGED = "unchanged"  # nothing to do (a duplicate, or an older version of the shop order)
    SKIPPED = "skipped"  # not for the warehouse: unpaid, cancelled before a push, nothing to ship
    UPDATED = "updated"  # an address or remark change was sent to Picqer
    CANCELLED = "cancelled"  # cancelled in Picqer because the shop cancelled it
    PAUSED = "paused"  # paused in Picqer: cancelled in the shop while being picked
    CONFLICT = "conflict"  # the shop and Picqer disagree; recorded for a person
    FAILED = "failed"  # cannot succeed as it is; recorded with its reason


@dataclass(frozen=True)
class PushOutcome:
    kind: PushKind
    source: str
    shop_order_id: str
    reference: str
    order_id: int | None = None  # the mirror row
    idorder: int | None = None  # the Picqer order
    reason: str | None = None  # why, for skipped, paused, conflict and failed


def outcome(order: Order, kind: PushKind, reason: str | None = None) -> PushOutcome:
    """The outcome of a push, read off the order's row."""
    return PushOutcome(
        kind=kind,
        source=order.source,
        shop_order_id=order.shop_order_id,
        reference=order.reference,
        order_id=order.id,
        idorder=order.idorder,
        reason=reason,
    )


class EventKind(StrEnum):
    APPLIED = "applied"  # the mirror moved forward
    STALE = "stale"  # late or duplicate: the mirror already knows something newer
    SHIPMENT = "shipment"  # a shipment (tracking code) was stored or updated
    IGNORED = "ignored"  # not one of our orders, or an event we do not act on


@dataclass(frozen=True)
class EventOutcome:
    kind: EventKind
    event: str
    idorder: int | None = None
    order_id: int | None = None
    status: str | None = None
    newly_completed: bool = False  # report fulfilment to the shop (see worker.sync.fulfilment)
    reason: str | None = None
