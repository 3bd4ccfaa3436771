"""Shop orders given as files: the platform's own JSON, in any of the shapes it hands out.

A file holds one order (a webhook body), ``{"order": {...}}`` (Shopify single-order response),
``{"orders": [...]}`` (Shopify list), a JSON array (WooCommerce list) or ``{"items": [...]}``
(Magento search result).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from worker.errors import SkippableError


class UnreadableOrderFile(SkippableError):
    """A file that holds no shop order we can read; the reason names the file."""


def orders_in(document: Any, *, origin: str) -> list[dict[str, Any]]:
    """The order objects in a parsed JSON document."""
    if isinstance(document, list):
        candidates: list[Any] = document
    elif isinstance(document, dict) and isinstance(document.get("order"), dict):
        candidates = [document["order"]]
    elif isinstance(document, dict) and isinstance(document.get("orders"), list):
        candidates = document["orders"]
    elif isinstance(document, dict) and isinstance(document.get("items"), list) and "total_count" in document:
        candidates = document["items"]
    elif isinstance(document, dict):
        candidates = [document]
    else:
        raise UnreadableOrderFile(f"{origin}: expected an order object or a list of orders")
    orders = [candidate for candidate in candidates if isinstance(candidate, dict)]
    if len(orders) != len(candidates):
        raise UnreadableOrderFile(f"{origin}: every entry of the list must be an order object")
    if not orders:
        raise UnreadableOrderFile(f"{origin}: holds no orders")
    return orders


def read_order_file(path: Path) -> list[dict[str, Any]]:
    """The orders in ``path``; ``UnreadableOrderFile`` with a readable reason otherwise."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UnreadableOrderFile(f"{path}: cannot be read ({error.strerror})") from None
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableOrderFile(f"{path}: is not JSON ({error})") from None
    return orders_in(document, origin=str(path))
