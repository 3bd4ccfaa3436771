"""Reading a store: orders (one, a page, or all), refunds, notes and fulfilments, as copies."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.woocommerce.listing import OrderQuery
from sandbox.woocommerce.state import OrderJSON, WooState


class OrderReads:
    """Reads under the lock; every answer is a copy, never the state itself."""

    def __init__(self, state: WooState) -> None:
        self.state = state

    def get_order(self, shop: str, order_id: int) -> OrderJSON:
        with self.state.lock:
            return copy.deepcopy(self.state.shop(shop).order(order_id))

    def list_orders(
        self, shop: str, query: Mapping[str, Sequence[str]]
    ) -> tuple[list[OrderJSON], int, int, int]:
        """One page of ``GET orders``: (orders, total, total pages, page)."""
        wanted = OrderQuery.parse(query)
        with self.state.lock:
            the_shop = self.state.shop(shop)
            chunk, total, pages = wanted.select_indexed(the_shop)
            return copy.deepcopy(chunk), total, pages, wanted.page

    def all_orders(self, shop: str) -> list[OrderJSON]:
        """Every order of ``shop`` by id, trash included (for the control API)."""
        with self.state.lock:
            return copy.deepcopy(sorted(self.state.shop(shop).orders.values(), key=lambda order: order["id"]))

    def refunds(self, shop: str, order_id: int) -> list[OrderJSON]:
        with self.state.lock:
            the_shop = self.state.shop(shop)
            the_shop.order(order_id)
            return copy.deepcopy(the_shop.refunds.get(order_id, []))

    def notes(self, shop: str, order_id: int) -> list[OrderJSON]:
        """Newest first, as Woo lists them."""
        with self.state.lock:
            the_shop = self.state.shop(shop)
            the_shop.order(order_id)
            return copy.deepcopy(list(reversed(the_shop.notes.get(order_id, []))))

    def fulfilments(self, shop: str) -> list[dict[str, Any]]:
        """Completed orders with the customer notes they got (where tracking codes end up)."""
        with self.state.lock:
            the_shop = self.state.shop(shop)
            return [
                {
                    "order_id": order["id"],
                    "number": order["number"],
                    "status": order["status"],
                    "date_completed_gmt": order["date_completed_gmt"],
                    "customer_notes": [
                        note["note"] for note in the_shop.notes.get(order["id"], []) if note["customer_note"]
                    ],
                }
                for order in the_shop.orders.values()
                if order["status"] == "completed"
            ]
