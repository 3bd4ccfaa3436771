"""The two things every platform's ``report_fulfilment`` says it did, each named and keyed once.

``shop_fulfilment_reported``: the shop now shows the order shipped; ``shop_fulfilment_skipped``:
nothing was sent (nothing open, or the shop gave the order up). Both carry ``platform``, ``source``
and ``shop_order_id``; the worker's own ``fulfilment_reported`` line follows a reported one.
"""

from __future__ import annotations

import structlog

from adapters.source import OrderSource

log = structlog.get_logger(__name__)


def fulfilment_reported(source: OrderSource, *, shop_order_id: str, parcels: int, **details: object) -> None:
    log.info(
        "shop_fulfilment_reported",
        platform=source.platform,
        source=source.settings.name,
        shop_order_id=shop_order_id,
        parcels=parcels,
        **details,
    )


def fulfilment_skipped(
    source: OrderSource, *, shop_order_id: str, reason: str, needs_a_person: bool = False, **details: object
) -> None:
    """``needs_a_person``: a shipment the shop cannot take any more (a warning, not news)."""
    (log.warning if needs_a_person else log.info)(
        "shop_fulfilment_skipped",
        platform=source.platform,
        source=source.settings.name,
        shop_order_id=shop_order_id,
        reason=reason,
        **details,
    )
