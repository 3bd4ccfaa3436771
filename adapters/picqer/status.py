"""Picqer's order statuses (Orders doc: concept, expected, processing, paused, completed, cancelled)
and picklist statuses.

Defined once here; every rule that asks "may this order still change?" reads these sets.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class PicqerStatus(StrEnum):
    """An order's ``status`` as Picqer reports it (a ``str``, so it compares equal to the raw word)."""

    CONCEPT = "concept"  # created, editable, no stock reserved; may be processed or cancelled
    EXPECTED = "expected"  # waiting for an expected date; may be processed or cancelled
    PROCESSING = "processing"  # final: picklists are made; may be paused or (forced) cancelled
    PAUSED = "paused"  # processing on hold; may be resumed
    COMPLETED = "completed"  # shipped
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        """How far along an order is: with equal ``updated`` stamps only a step forward is taken."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: str | None) -> PicqerStatus | None:
        """The status for ``value``; None for an empty or unknown word (a newer Picqer may add one)."""
        try:
            return cls(value) if value else None
        except ValueError:
            return None


class PicklistStatus(StrEnum):
    """A picklist's ``status`` (Picklists doc: new, closed, snoozed, cancelled; ``paused`` follows from
    the ``picklists.paused`` hook, UNCONFIRMED as a status word)."""

    NEW = "new"
    CLOSED = "closed"
    SNOOZED = "snoozed"
    PAUSED = "paused"
    CANCELLED = "cancelled"


_RANK: Final = {
    PicqerStatus.CONCEPT: 0,
    PicqerStatus.EXPECTED: 0,
    PicqerStatus.PROCESSING: 1,
    PicqerStatus.PAUSED: 1,
    PicqerStatus.COMPLETED: 2,
    PicqerStatus.CANCELLED: 2,
}

# still moving in the warehouse: reconcile reads these (in this order) every run
OPEN_STATUSES: Final = (
    PicqerStatus.CONCEPT,
    PicqerStatus.PROCESSING,
    PicqerStatus.PAUSED,
    PicqerStatus.EXPECTED,
)
# nothing changes any more: no PUT, no cancel
FINAL_STATUSES: Final = frozenset({PicqerStatus.COMPLETED, PicqerStatus.CANCELLED})
# not yet processed: may still be processed, edited (concept) or cancelled without force
UNPROCESSED_STATUSES: Final = frozenset({PicqerStatus.CONCEPT, PicqerStatus.EXPECTED})
# in the warehouse's hands: cancelling needs force, or a pause for a person to decide
PICKING_STATUSES: Final = frozenset({PicqerStatus.PROCESSING, PicqerStatus.PAUSED})


def status_rank(value: str | None) -> int:
    """The rank of a raw status word; 0 for an unknown or missing one."""
    status = PicqerStatus.parse(value)
    return status.rank if status is not None else 0
