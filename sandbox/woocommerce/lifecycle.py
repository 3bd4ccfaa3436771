"""Changing orders as Woo does: create, pay, edit, refund, trash, restore, delete, notes.

Each change bumps ``date_modified`` and sends the webhooks Woo would send, after the lock is released.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sandbox.woocommerce import orders as build
from sandbox.woocommerce.errors import WooError, invalid_param
from sandbox.woocommerce.state import OrderJSON, Shop, WooState
from sandbox.woocommerce.webhook_delivery import WebhookOutbox

CREATABLE_STATUSES = ("pending", "processing", "on-hold")


class OrderLifecycle:
    """Order changes; each one bumps ``date_modified`` and sends its webhooks once the lock is released."""

    def __init__(self, state: WooState, hooks: WebhookOutbox) -> None:
        self.state = state
        self.hooks = hooks

    def create_order(
        self,
        shop: str,
        *,
        status: str = "processing",
        line_items: Sequence[Mapping[str, Any]] = (),
        billing: dict[str, str] | None = None,
        shipping: dict[str, str] | None = None,
        customer_note: str = "",
    ) -> OrderJSON:
        """``billing``/``shipping``: ``None`` for the demo address, ``{}`` for an empty one; each
        line ``{"sku", "name"?, "quantity"?, "price"?}`` (``sku`` may be "")."""
        if status not in CREATABLE_STATUSES:
            raise invalid_param("status", f"status is not one of {', '.join(CREATABLE_STATUSES)}.")
        with self.state.lock:
            the_shop = self.state.shop(shop)
            lines = [
                build.line_item(
                    the_shop.item_id(),
                    the_shop.product_id(str(item.get("sku", ""))),
                    str(item.get("sku", "")),
                    str(item.get("name") or item.get("sku") or "Product"),
                    int(item.get("quantity", 1)),
                    float(item.get("price", 10.0)),
                )
                for item in line_items
            ]
            order = build.new_order(
                order_id=the_shop.post_id(),
                status=status,
                billing=build.address(billing, with_contact=True),
                shipping=build.address(shipping if shipping is not None else billing, with_contact=False),
                lines=lines,
                shipping_line_id=the_shop.item_id(),
                customer_note=customer_note,
                now=self.state.now(),
                utc_offset=the_shop.utc_offset,
                api_base=self.state.api_base(shop),
            )
            the_shop.add_order(order)
            pending = self.hooks.for_topic(the_shop, "order.created", order)
            result = copy.deepcopy(order)
        self.hooks.send(pending)
        return result

    def pay(self, shop: str, order_id: int) -> OrderJSON:
        return self.set_status(shop, order_id, "processing")

    def cancel(self, shop: str, order_id: int) -> OrderJSON:
        return self.set_status(shop, order_id, "cancelled")

    def set_status(self, shop: str, order_id: int, status: str) -> OrderJSON:
        if status == "trash":
            return self.trash(shop, order_id)
        if status not in build.STATUSES:
            raise invalid_param("status", f"status is not one of {', '.join(build.STATUSES)}.")
        with self.state.lock:
            the_shop = self.state.shop(shop)
            order = the_shop.order(order_id)
            self._change_status(the_shop, order, status)
            pending = self.hooks.for_topic(the_shop, "order.updated", order)
            result = copy.deepcopy(order)
        self.hooks.send(pending)
        return result

    def _change_status(self, shop: Shop, order: OrderJSON, status: str) -> None:
        old = order["status"]
        if old == status:
            return
        now = self.state.now()
        order["status"] = status
        if status in ("processing", "completed") and order["date_paid_gmt"] is None:
            build.stamp(order, "date_paid", now, shop.utc_offset)
        if status == "completed":
            build.stamp(order, "date_completed", now, shop.utc_offset)
        self.state.touch(shop, order)
        label = build.STATUS_LABELS
        self._add_note(
            shop, order["id"], f"Order status changed from {label[old]} to {label[status]}.", False, "system"
        )

    def edit(
        self,
        shop: str,
        order_id: int,
        *,
        billing: dict[str, str] | None = None,
        shipping: dict[str, str] | None = None,
        customer_note: str | None = None,
        status: str | None = None,
    ) -> OrderJSON:
        """Merge address fields and/or set the customer note (and status): one ``order.updated``."""
        if status is not None and (status not in build.STATUSES or status == "trash"):
            # trashing goes through trash(): it sends order.deleted, not order.updated
            raise invalid_param("status", "status is not a status a PUT may set.")
        with self.state.lock:
            the_shop = self.state.shop(shop)
            order = the_shop.order(order_id)
            if billing is not None:
                order["billing"] = {**order["billing"], **{k: str(v) for k, v in billing.items()}}
            if shipping is not None:
                order["shipping"] = {**order["shipping"], **{k: str(v) for k, v in shipping.items()}}
            if customer_note is not None:
                order["customer_note"] = customer_note
            if status is not None:
                self._change_status(the_shop, order, status)
            self.state.touch(the_shop, order)
            pending = self.hooks.for_topic(the_shop, "order.updated", order)
            result = copy.deepcopy(order)
        self.hooks.send(pending)
        return result

    def refund(
        self,
        shop: str,
        order_id: int,
        *,
        line_id: int | None = None,
        quantity: int = 1,
        amount: float | None = None,
        reason: str = "",
    ) -> OrderJSON:
        """Refund ``quantity`` units of a line (or only ``amount`` of money); a full refund of
        every line makes the order ``refunded``, as Woo does."""
        with self.state.lock:
            the_shop = self.state.shop(shop)
            order = the_shop.order(order_id)
            refund_lines: list[OrderJSON] = []
            total = amount or 0.0
            if line_id is not None:
                line = next((item for item in order["line_items"] if item["id"] == line_id), None)
                if line is None:
                    raise invalid_param("line_items", f"line {line_id} is not on order {order_id}.")
                left = line["quantity"] - self._refunded(the_shop, order_id).get(line_id, 0)
                if quantity < 1 or quantity > left:
                    raise WooError(
                        400, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount."
                    )
                refund_lines.append(
                    build.refund_line(
                        item_id=the_shop.item_id(), meta_id=the_shop.meta_id(), line=line, quantity=quantity
                    )
                )
                total = amount if amount is not None else float(line["price"]) * quantity
            refund = build.refund_object(
                refund_id=the_shop.post_id(),
                order_id=order_id,
                reason=reason,
                amount=total,
                refund_lines=refund_lines,
                now=self.state.now(),
                utc_offset=the_shop.utc_offset,
                api_base=self.state.api_base(shop),
            )
            the_shop.refunds.setdefault(order_id, []).insert(0, refund)
            order["refunds"] = [
                {"id": r["id"], "reason": r["reason"], "total": f"-{r['amount']}"}
                for r in the_shop.refunds[order_id]
            ]
            refunded = self._refunded(the_shop, order_id)
            if all(refunded.get(item["id"], 0) >= item["quantity"] for item in order["line_items"]):
                self._change_status(the_shop, order, "refunded")
            self.state.touch(the_shop, order)
            pending = self.hooks.for_topic(the_shop, "order.updated", order)
            result = copy.deepcopy(order)
        self.hooks.send(pending)
        return result

    @staticmethod
    def _refunded(shop: Shop, order_id: int) -> dict[int, int]:
        counts: dict[int, int] = {}
        for refund in shop.refunds.get(order_id, []):
            for line in refund["line_items"]:
                target = int(line["meta_data"][0]["value"])
                counts[target] = counts.get(target, 0) - int(line["quantity"])
        return counts

    def trash(self, shop: str, order_id: int) -> OrderJSON:
        """Move to the trash: Woo sends ``order.deleted`` with only ``{"id": N}``."""
        with self.state.lock:
            the_shop = self.state.shop(shop)
            order = the_shop.order(order_id)
            if order["status"] != "trash":
                the_shop.status_before_trash[order_id] = order["status"]
                order["status"] = "trash"
                self.state.touch(the_shop, order)
            pending = self.hooks.for_topic(the_shop, "order.deleted", {"id": order_id})
            result = copy.deepcopy(order)
        self.hooks.send(pending)
        return result

    def delete(self, shop: str, order_id: int) -> OrderJSON:
        """Delete for good; an order still outside the trash also sends ``order.deleted``."""
        with self.state.lock:
            the_shop = self.state.shop(shop)
            order = the_shop.remove_order(order_id)
            if order is None:
                raise WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            the_shop.notes.pop(order_id, None)
            the_shop.refunds.pop(order_id, None)
            was_trashed = the_shop.status_before_trash.pop(order_id, None) is not None
            pending = [] if was_trashed else self.hooks.for_topic(the_shop, "order.deleted", {"id": order_id})
        self.hooks.send(pending)
        return order

    def restore(self, shop: str, order_id: int) -> OrderJSON:
        """Take an order out of the trash (``order.restored`` with the full order)."""
        with self.state.lock:
            the_shop = self.state.shop(shop)
            order = the_shop.order(order_id)
            if order["status"] != "trash":
                raise WooError(400, "woocommerce_rest_cannot_restore", "The order is not in the trash.")
            order["status"] = the_shop.status_before_trash.pop(order_id, "pending")
            self.state.touch(the_shop, order)
            pending = self.hooks.for_topic(the_shop, "order.restored", order)
            result = copy.deepcopy(order)
        self.hooks.send(pending)
        return result

    def add_note(self, shop: str, order_id: int, note: str, *, customer_note: bool) -> OrderJSON:
        """A note as the API adds it (author "WooCommerce"); no webhook, as in Woo."""
        if not note:
            raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"])
        with self.state.lock:
            the_shop = self.state.shop(shop)
            the_shop.order(order_id)
            return copy.deepcopy(self._add_note(the_shop, order_id, note, customer_note, "WooCommerce"))

    def _add_note(self, shop: Shop, order_id: int, note: str, customer_note: bool, author: str) -> OrderJSON:
        created = build.note_object(
            note_id=shop.next_note_id,
            note=note,
            customer_note=customer_note,
            author=author,
            now=self.state.now(),
            utc_offset=shop.utc_offset,
        )
        shop.next_note_id += 1
        shop.notes.setdefault(order_id, []).append(created)
        return created
