"""The shapes every shop platform package shares with the worker.

Each ``adapters/<platform>/`` package has the same modules with the same names in them:

* ``source.py``: the declared ``OrderSource`` subclass (client and listing);
* ``auth.py``: its ``httpx.Auth`` schemes and ``build_auth(connection)``;
* ``mapper.py``: the pure ``map_order``;
* ``webhooks.py``: ``verify_webhook`` and ``needs_full_order`` (None where they do not apply);
* ``fulfilment.py``: ``report_fulfilment``;
* ``subscriptions.py``: ``ORDER_TOPICS`` and ``ensure_webhooks`` (None where there are none).

The package's ``__init__.py`` bundles them as ``PLATFORM = ShopPlatform(...)`` so the receiver, the
scheduler and the CLI look platforms up by name (see ``adapters/registry.py``). What the platforms
do alike is written once beside them: ``adapters/auth.py``, ``webhooks.py`` and ``fulfilment.py``
(for the modules of those names), ``mapping.py`` (the verdict and the draft's tail) and
``coerce.py`` (reading shop JSON).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.draft import MappedOrder, MappingRules
from adapters.settings import ShopConnection
from adapters.source import OrderSource
from adapters.types import Platform


@dataclass(frozen=True)
class ShopWebhook:
    """A verified, parsed shop webhook.

    ``event_key`` deduplicates deliveries (the platform's delivery/event id when it sends one, else
    order id + its modification time). ``order`` is the order JSON when the body carries it;
    ``order_json`` its text as received, when the order is the whole body (the inbox keeps that text
    as it came instead of encoding ``order`` again: the receiver's hot path).
    A ping (WooCommerce's ``webhook_id=N`` on creation) has ``is_ping`` set and nothing to do.
    """

    topic: str
    event_key: str
    shop_order_id: str | None = None
    order: dict[str, Any] | None = None
    is_ping: bool = False
    deleted: bool = False  # the order is gone from the shop (WooCommerce order.deleted)
    order_json: str | None = None


@dataclass(frozen=True)
class Tracking:
    """One Picqer shipment's tracking, as the shop should show it.

    ``idpicklist`` says which picklist (so which part of an order) shipped it; a shipment without a
    tracking code still counts (the mirror knows its picklist shipped), but the adapters are handed
    only shipments that have a code. ``products`` are the ``(productcode, amount)`` pairs that
    picklist held, when the caller knows them: a shop that fulfils by line (Shopify) then reports
    each picklist as its own fulfilment; without them the parts go out as one fulfilment.
    """

    trackingcode: str | None
    trackingurl: str | None = None
    carrier: str | None = None
    idpicklist: int | None = None
    products: tuple[tuple[str, int], ...] = ()


MapOrder = Callable[[dict[str, Any], MappingRules], MappedOrder]
# (source, receiver address, signing secret) -> the shop's webhook subscriptions for that address
EnsureWebhooks = Callable[[Any, str, str], list[dict[str, Any]]]
VerifyWebhook = Callable[[bytes, Mapping[str, str], ShopConnection], ShopWebhook]
ReportFulfilment = Callable[..., None]
# True for a webhook order that lacks what the mapper needs: read the order from the shop instead
NeedsFullOrder = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class ShopPlatform:
    """Everything the worker needs of one platform."""

    name: Platform
    source_class: type[OrderSource]
    map_order: MapOrder
    verify_webhook: VerifyWebhook | None  # None: the platform has no webhooks (Magento: polling only)
    report_fulfilment: ReportFulfilment
    webhook_topics: tuple[str, ...] = field(default=())
    # True for a webhook order that lacks what the mapper needs (WooCommerce refunds given only as
    # totals): the worker then reads the order from the shop instead of trusting the body
    needs_full_order: NeedsFullOrder | None = None
    # create the shop's order webhooks for an address, reactivating disabled ones; idempotent
    ensure_webhooks: EnsureWebhooks | None = None
