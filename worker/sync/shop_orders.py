"""One shop order, as the shop hands it out, through mapping into the push pipeline.

Used by the worker (webhooks, polls) and by the operator's commands (``push``, ``resync``); an order
the mapper rejects is recorded as failed with the mapper's reason, never half-pushed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.draft import MappedOrder, MappingRules
from adapters.platform import ShopPlatform
from worker.config import SourceSettings
from worker.db import orders
from worker.db.session import session_scope
from worker.errors import MappingError, RetriableError
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.foreground import run_with_retries
from worker.sync.outcomes import PushOutcome
from worker.sync.push import push_order, record_failure

log = get_logger(__name__)


def mapping_rules(source: SourceSettings) -> MappingRules:
    """The mapper's per-source choices, from ``[[sources]]``."""
    return MappingRules(
        source=source.name,
        platform=source.platform,
        paid_statuses=source.paid_statuses,
        tags=source.tags,
        language=source.language,
        shipping_profiles=source.shipping_profiles,
        reference_template=source.reference,
    )


def shop_order_id_of(platform: ShopPlatform, raw: dict[str, Any]) -> str:
    """The shop's own id of ``raw`` (``id``; Magento ``entity_id``)."""
    value = raw.get(platform.source_class.primary_key)
    if value in (None, ""):
        raise MappingError(
            f"the order has no {platform.source_class.primary_key!r}", field=platform.source_class.primary_key
        )
    return str(value)


def order_number_of(raw: dict[str, Any], shop_order_id: str) -> str:
    """A readable name for an order that could not be mapped (Shopify name, Woo number, Magento increment)."""
    for key in ("name", "number", "increment_id", "order_number"):
        value = raw.get(key)
        if value not in (None, ""):
            return str(value)
    return shop_order_id


def map_and_push(
    ctx: SyncContext, platform: ShopPlatform, source: SourceSettings, raw: dict[str, Any], shop_order_id: str
) -> PushOutcome:
    """Map one shop order and push it; an order that cannot be mapped is recorded as failed."""
    try:
        mapped: MappedOrder = platform.map_order(raw, mapping_rules(source))
    except MappingError as error:
        return record_failure(
            ctx,
            source=source.name,
            shop_order_id=shop_order_id,
            shop_order_number=order_number_of(raw, shop_order_id),
            reason=error.reason,
        )
    return push_order(ctx, mapped)


def push_shop_order_now(
    ctx: SyncContext,
    platform: ShopPlatform,
    source: SourceSettings,
    raw: dict[str, Any],
    *,
    sleep: Callable[[float], None] | None = None,
) -> PushOutcome:
    """Map and push ``raw`` in the foreground, retrying as the worker would.

    When the retries run out the order is recorded as failed at the step it reached, with the
    last error's reason, exactly as the worker's dead-letter step would record it.
    """
    try:
        shop_order_id = shop_order_id_of(platform, raw)
    except MappingError as error:
        number = order_number_of(raw, "?")
        return record_failure(
            ctx, source=source.name, shop_order_id=number, shop_order_number=number, reason=error.reason
        )
    retry_options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    try:
        return run_with_retries(
            lambda: map_and_push(ctx, platform, source, raw, shop_order_id), **retry_options
        )
    except RetriableError as error:
        with session_scope(ctx.engine) as session:
            row = orders.get_order(session, source=source.name, shop_order_id=shop_order_id)
            step = row.sync_step if row is not None and row.sync_step else "push"
        return record_failure(
            ctx,
            source=source.name,
            shop_order_id=shop_order_id,
            shop_order_number=order_number_of(raw, shop_order_id),
            reason=f"gave up after retries: {error.reason}",
            step=step,
        )
