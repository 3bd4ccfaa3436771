"""What the demo expects of each order it makes in a shop."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Expect(StrEnum):
    """What a demo order must end as."""

    SHIPPED = "shipped"  # in Picqer, processed, shipped, completed, fulfilment reported to the shop
    FAILED = "failed"  # recorded as failed with a readable reason, nothing in Picqer
    SKIPPED = "skipped"  # unpaid: not for the warehouse


@dataclass(frozen=True)
class PlannedOrder:
    """An order the demo created in a shop simulator, and what it must end as."""

    source: str
    platform: str
    shop_order_id: str
    shop_order_number: str
    expect: Expect
    description: str
