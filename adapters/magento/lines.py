"""Which Magento order rows become warehouse lines, and how many of each are still to ship.

Magento lists a configurable or bundle product as a parent row *and* child rows (``parent_item_id``).
Picking one level per product type keeps a product from being counted twice:

* configurable: the parent row carries the price and the quantities, the child row (price 0) names
  the variant that is actually picked; we ship the child's SKU with the parent's price and quantity;
* bundle: each child is a real product with its own price and quantity; the parent row (whose SKU is
  a concatenation of the children's) is left out;
* virtual and downloadable rows never reach a warehouse.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from adapters.coerce import number, price, text
from adapters.errors import MappingError

Row = dict[str, Any]

NON_SHIPPING_TYPES = frozenset({"virtual", "downloadable"})


@dataclass(frozen=True)
class ShipLine:
    """One row that ships: its SKU, how many are still to ship, and the row it came from."""

    sku: str
    quantity: int
    name: str | None
    price: float | None
    item_id: str


def remaining_quantity(row: Row) -> float:
    """What is still to ship of a row: ordered minus cancelled, refunded and shipped (never below 0)."""
    ordered = number(row.get("qty_ordered"))
    done = sum(number(row.get(key)) for key in ("qty_canceled", "qty_refunded", "qty_shipped"))
    return max(0.0, ordered - done)


def is_virtual(row: Row) -> bool:
    product_type = row.get("product_type")
    return bool(number(row.get("is_virtual"))) or (
        isinstance(product_type, str) and product_type in NON_SHIPPING_TYPES
    )


def ship_lines(items: list[Row], *, reference: str) -> list[ShipLine]:
    """The rows the warehouse ships, one level per product; rows with nothing left are dropped."""
    children: dict[str, list[Row]] = {}
    for row in items:
        parent_id = _parent_id(row)
        if parent_id is not None:
            children.setdefault(parent_id, []).append(row)
    lines: list[ShipLine] = []
    for row in items:
        if _parent_id(row) is not None:
            continue  # children are reached through their parent, so each is judged once
        lines.extend(_lines_of(row, children.get(_item_id(row), []), reference=reference))
    return lines


def _lines_of(row: Row, children: list[Row], *, reference: str) -> Iterator[ShipLine]:
    product_type = row.get("product_type")
    if product_type == "bundle":
        if not children:
            raise MappingError(
                f"order {reference}: bundle row {_describe(row)} has no child rows to ship",
                field=f"items[item_id={_item_id(row)}]",
            )
        for child in children:
            yield from _line(child, sku_row=child, reference=reference)
    elif product_type == "configurable":
        # the child names the variant; without one, the parent's SKU is already the variant's SKU
        yield from _line(row, sku_row=children[0] if children else row, reference=reference)
    else:
        yield from _line(row, sku_row=row, reference=reference)


def _line(row: Row, *, sku_row: Row, reference: str) -> Iterator[ShipLine]:
    """``row`` gives the price and quantities; ``sku_row`` the product that is picked."""
    if is_virtual(row) or is_virtual(sku_row):
        return
    remaining = remaining_quantity(row)
    if remaining <= 0:
        return
    field = f"items[item_id={_item_id(sku_row)}]"
    if not math.isclose(remaining, round(remaining)):
        # Picqer counts whole products; a fractional rest (qty_decimal products) needs a person
        raise MappingError(
            f"order {reference}: row {_describe(row)} has a fractional quantity {remaining:g} to ship",
            field=f"{field}.qty_ordered",
        )
    sku = text(sku_row.get("sku")) or text(row.get("sku"))
    if sku is None:
        raise MappingError(f"order {reference}: row {_describe(sku_row)} has no SKU", field=f"{field}.sku")
    yield ShipLine(
        sku=sku,
        quantity=round(remaining),
        name=text(sku_row.get("name")) or text(row.get("name")),
        price=price(row.get("price")),
        item_id=_item_id(row),  # the row holding the quantities, as the shop's shipments count them
    )


def _item_id(row: Row) -> str:
    return text(row.get("item_id")) or ""


def _parent_id(row: Row) -> str | None:
    parent = row.get("parent_item_id")
    if parent is None and isinstance(row.get("parent_item"), dict):
        parent = row["parent_item"].get("item_id")
    parent_id = text(parent)
    return None if parent_id in (None, "0") else parent_id


def _describe(row: Row) -> str:
    name = text(row.get("name"))
    return f"{_item_id(row)} ({name})" if name else _item_id(row)
