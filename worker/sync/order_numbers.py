"""Which shop order an operator means: ``resync --order #1009`` as well as ``--order 450789469``.

People know an order by the number the shop shows them (Shopify's name ``#1009``, WooCommerce's
``number``, Magento's ``increment_id``); the platforms key orders by an internal id. A value that
looks like an internal id (digits without a leading zero, or a Shopify gid) and exists is that
order; otherwise it is looked up as a display number (each source's ``find_order_by_number``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from adapters.source import OrderSource
from worker.db.models import Order
from worker.db.session import session_scope
from worker.errors import ApiRejected, SyncError
from worker.sync.foreground import run_with_retries

NOTHING_MATCHED = "matched no order id or order number in the shop"
LINKS_PER_QUERY = 500  # ids in one IN (...): far below SQLite's and PostgreSQL's parameter limits


@runtime_checkable
class FindsOrderByNumber(Protocol):
    def find_order_by_number(self, number: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class ResolvedOrder:
    """One ``--order`` value: the shop's id it names, or why it names none."""

    given: str
    shop_order_id: str | None = None
    matched_by: str = ""  # "id" or "number"; empty when nothing matched
    reason: str = ""


@dataclass(frozen=True)
class PicqerLink:
    """What the mirror knows of a shop order after a push: the number people see and its Picqer order."""

    shop_order_id: str
    shop_order_number: str
    idorder: int | None
    orderid: str | None


def looks_like_id(value: str) -> bool:
    """Platform ids are positive numbers (or Shopify gids); ``000000042`` is a Magento number."""
    return value.startswith("gid://") or (value.isdigit() and not value.startswith("0"))


def resolve_orders(
    shop: OrderSource,
    values: Iterable[str],
    *,
    primary_key: str,
    sleep: Callable[[float], None] | None = None,
) -> list[ResolvedOrder]:
    """Each distinct value (in the order given) resolved to the shop's id of the order it names."""
    options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    return [_resolve(shop, value, primary_key, options) for value in dict.fromkeys(values)]


def _resolve(shop: OrderSource, given: str, primary_key: str, options: dict[str, Any]) -> ResolvedOrder:
    value = given.strip()
    try:
        if looks_like_id(value):
            raw = _by_id(shop, value, options)
            if raw is not None:
                return ResolvedOrder(given, str(raw.get(primary_key) or value), "id")
        if isinstance(shop, FindsOrderByNumber) and value:
            raw = run_with_retries(partial(shop.find_order_by_number, value), **options)
            if raw is not None and raw.get(primary_key) not in (None, ""):
                return ResolvedOrder(given, str(raw[primary_key]), "number")
    except SyncError as error:
        return ResolvedOrder(given, reason=f"cannot look it up: {error.reason}")
    return ResolvedOrder(given, reason=NOTHING_MATCHED)


def _by_id(shop: OrderSource, value: str, options: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return run_with_retries(partial(shop.get_order, value), **options)
    except ApiRejected as error:
        if error.status in (400, 404):  # no such id (Magento answers 404, Woo 404, Shopify none)
            return None
        raise


def picqer_links(engine: Engine, *, source: str, shop_order_ids: Sequence[str]) -> dict[str, PicqerLink]:
    """The mirror's shop number and Picqer order of each given shop order it knows (one query per
    ``LINKS_PER_QUERY`` ids: ``resync --json`` asks this for every order it writes)."""
    wanted = list(dict.fromkeys(shop_order_ids))
    links: dict[str, PicqerLink] = {}
    with session_scope(engine) as session:
        for start in range(0, len(wanted), LINKS_PER_QUERY):
            chunk = wanted[start : start + LINKS_PER_QUERY]
            statement = select(
                Order.shop_order_id, Order.shop_order_number, Order.idorder, Order.orderid
            ).where(Order.source == source, col(Order.shop_order_id).in_(chunk))
            for shop_order_id, number, idorder, orderid in session.exec(statement):
                links[shop_order_id] = PicqerLink(shop_order_id, number, idorder, orderid)
    return links
