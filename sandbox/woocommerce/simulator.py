"""A WooCommerce store (REST v3) with signed webhooks, for tests and the demo.

``WooCommerceSimulator(clock=..., dispatcher=...)`` keeps any number of shops (created on first
use) addressed as ``/woocommerce/{shop}/wp-json/wc/v3/...``. Every change bumps the order's
``date_modified`` and sends the webhooks Woo would send, signed like ``WC_Webhook`` signs them,
through the shared :class:`~sandbox.delivery.WebhookDispatcher`. Deliveries go out after the state
lock is released, so a receiver may call back into the API while handling one.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import itertools
import json
import math
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.clock import Clock
from sandbox.delivery import Delivery, WebhookDispatcher
from sandbox.woocommerce import orders as build
from sandbox.woocommerce.params import date_param, int_param, one, statuses_param
from sandbox.woocommerce.routes import build_api_router, build_control_router
from sandbox.woocommerce.state import (
    DEFAULT_WEBHOOK_SECRET,
    MAX_DELIVERY_FAILURES,
    ORDER_TOPICS,
    WEBHOOK_EVENTS,
    WEBHOOK_RESOURCES,
    ApiFaults,
    Shop,
    Webhook,
    WooError,
    invalid_param,
)

USER_AGENT = "WooCommerce/9.1.0 Hookshot (WordPress/6.6.0)"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8700/woocommerce"
DEMO_SHOP = "demo-shop"
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
CREATABLE_STATUSES = ("pending", "processing", "on-hold")
OrderJSON = dict[str, Any]
Pending = list[tuple[Webhook | None, Delivery]]


def wp_json(payload: Any) -> bytes:
    """JSON as PHP's ``wp_json_encode`` writes it: compact, ``\\/`` for slashes, ``\\uXXXX`` escapes."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def woo_signature(raw: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode("ascii")


class WooCommerceSimulator:
    """WooCommerce stores in memory; ``api`` and ``control`` are the routers to mount."""

    def __init__(
        self,
        *,
        clock: Clock,
        dispatcher: WebhookDispatcher,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        public_url: str = DEFAULT_PUBLIC_URL,
    ) -> None:
        """``consumer_key``/``consumer_secret``: the only accepted keys; ``None`` accepts any
        non-empty pair. ``public_url`` is where the API is reachable (for ``_links`` and
        ``X-WC-Webhook-Source``)."""
        self.clock = clock
        self.dispatcher = dispatcher
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.public_url = public_url.rstrip("/")
        self._lock = threading.RLock()
        self._shops: dict[str, Shop] = {}
        self.faults = ApiFaults()
        self.outbox: list[tuple[str, Delivery]] = []  # (shop, delivery), pings included
        self._window: tuple[int, int] = (0, 0)  # (minute, requests in it) for the optional rate limit
        self._delivery_counter = itertools.count(1)
        self.api = build_api_router(self)
        self.control = build_control_router(self)

    # -- lifecycle ----------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._shops.clear()
            self.faults = ApiFaults()
            self.outbox.clear()
            self._window = (0, 0)

    def seed_demo(self) -> None:
        """Shop "demo-shop": three paid orders with the SKUs the Picqer sandbox seeds, one pending."""
        lines = [
            [{"sku": "TSHIRT-RED-M", "name": "T-shirt red M", "quantity": 2, "price": 19.95}],
            [
                {"sku": "MUG-LOGO", "name": "Mug with logo", "quantity": 1, "price": 9.5},
                {"sku": "IPOD2008GREEN", "name": "iPod 2008 green", "quantity": 1, "price": 149.0},
            ],
            [
                {"sku": "TSHIRT-RED-M", "name": "T-shirt red M", "quantity": 1, "price": 19.95},
                {"sku": "MUG-LOGO", "name": "Mug with logo", "quantity": 2, "price": 9.5},
            ],
        ]
        for items in lines:
            self.create_order(DEMO_SHOP, status="processing", line_items=items)
        self.create_order(
            DEMO_SHOP,
            status="pending",
            line_items=[{"sku": "MUG-LOGO", "name": "Mug with logo", "quantity": 1, "price": 9.5}],
            customer_note="Pay by bank transfer",
        )

    # -- helpers ----------------------------------------------------------------------------

    def shop(self, name: str) -> Shop:
        with self._lock:
            return self._shops.setdefault(name, Shop(name=name))

    def now(self) -> datetime:
        # WordPress keeps times to the second; so do we, which makes same-second ties real
        return self.clock.now().astimezone(UTC).replace(microsecond=0, tzinfo=None)

    def api_base(self, shop: str) -> str:
        return f"{self.public_url}/{shop}/wp-json/wc/v3/"

    def _touch(self, shop: Shop, order: OrderJSON) -> None:
        build.stamp(order, "date_modified", self.now(), shop.utc_offset)

    # -- the API gate: faults, then authentication -----------------------------------------

    def gate(self, method: str, path: str, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        """Raise the ``WooError`` a request should get before it reaches its route, if any."""
        with self._lock:
            fault = next((item for item in self.faults.fail_next if item.matches(method, path)), None)
            if fault is not None:
                self.faults.fail_next.remove(fault)
                extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                if fault.status == 429:
                    raise WooError(
                        429, "woocommerce_rest_too_many_requests", "Too many requests.", headers=extra
                    )
                raise WooError(
                    fault.status, "sandbox_fault", "Service unavailable (sandbox fault).", headers=extra
                )
            limit = self.faults.rate_limit_per_minute
            if limit is not None:
                moment = self.clock.now().timestamp()
                minute = int(moment // 60)
                count = self._window[1] + 1 if self._window[0] == minute else 1
                self._window = (minute, count)
                if count > limit:
                    wait = str(max(1, math.ceil((minute + 1) * 60 - moment)))
                    raise WooError(
                        429,
                        "woocommerce_rest_too_many_requests",
                        "Too many requests.",
                        headers={"Retry-After": wait},
                    )
        self._authenticate(headers, query)

    def _authenticate(self, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        key = secret = None
        header = headers.get("authorization", "")
        if header.lower().startswith("basic ") and not self.faults.strip_authorization:
            try:
                key, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                key = secret = None
        if not key:
            key, secret = query.get("consumer_key"), query.get("consumer_secret")
        if not key:
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer key is missing.")
        if self.consumer_key is not None and not hmac.compare_digest(key, self.consumer_key):
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if not secret or (
            self.consumer_secret is not None and not hmac.compare_digest(secret, self.consumer_secret)
        ):
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")

    # -- reads ----------------------------------------------------------------------------

    def get_order(self, shop: str, order_id: int) -> OrderJSON:
        with self._lock:
            return copy.deepcopy(self.shop(shop).order(order_id))

    def list_orders(
        self, shop: str, query: Mapping[str, Sequence[str]]
    ) -> tuple[list[OrderJSON], int, int, int]:
        """One page of ``GET orders``: (orders, total, total pages, page)."""
        page = int_param(query, "page", 1, minimum=1)
        per_page = int_param(query, "per_page", 10, minimum=1, maximum=100)
        orderby = one(query, "orderby") or "date"
        if orderby not in ORDERBY:
            raise invalid_param("orderby", f"orderby is not one of {', '.join(ORDERBY)}.")
        direction = one(query, "order") or "desc"
        if direction not in ("asc", "desc"):
            raise invalid_param("order", "order is not one of asc, desc.")
        gmt = (one(query, "dates_are_gmt") or "false").lower() in ("true", "1")
        statuses = statuses_param(query)
        bounds = {
            name: date_param(query, name) for name in ("after", "before", "modified_after", "modified_before")
        }
        with self._lock:
            the_shop = self.shop(shop)
            offset = timedelta(0) if gmt else the_shop.utc_offset
            suffix = "_gmt" if gmt else ""

            def when(order: OrderJSON, field: str) -> datetime:
                return datetime.fromisoformat(order[f"{field}{suffix}"])

            def keep(order: OrderJSON) -> bool:
                if order["status"] not in statuses:
                    return False
                for name, field, later in (
                    ("after", "date_created", True),
                    ("before", "date_created", False),
                    ("modified_after", "date_modified", True),
                    ("modified_before", "date_modified", False),
                ):
                    bound = bounds[name]
                    if bound is None:
                        continue
                    bound = bound.astimezone(UTC).replace(tzinfo=None) + offset if bound.tzinfo else bound
                    # WordPress date queries are exclusive by default
                    if (when(order, field) <= bound) if later else (when(order, field) >= bound):
                        return False
                return True

            def sort_key(order: OrderJSON) -> tuple[str, int]:
                if orderby == "modified":
                    return (order["date_modified_gmt"], order["id"])
                if orderby == "date":
                    return (order["date_created_gmt"], order["id"])
                return ("", order["id"])

            matched = sorted((o for o in the_shop.orders.values() if keep(o)), key=sort_key)
            if direction == "desc":
                matched.reverse()
            total = len(matched)
            chunk = matched[(page - 1) * per_page : page * per_page]
            return copy.deepcopy(chunk), total, math.ceil(total / per_page), page

    def all_orders(self, shop: str) -> list[OrderJSON]:
        """Every order of ``shop`` by id, trash included (for the control API)."""
        with self._lock:
            return copy.deepcopy(sorted(self.shop(shop).orders.values(), key=lambda order: order["id"]))

    def refunds(self, shop: str, order_id: int) -> list[OrderJSON]:
        with self._lock:
            the_shop = self.shop(shop)
            the_shop.order(order_id)
            return copy.deepcopy(the_shop.refunds.get(order_id, []))

    def notes(self, shop: str, order_id: int) -> list[OrderJSON]:
        """Newest first, as Woo lists them."""
        with self._lock:
            the_shop = self.shop(shop)
            the_shop.order(order_id)
            return copy.deepcopy(list(reversed(the_shop.notes.get(order_id, []))))

    def fulfilments(self, shop: str) -> list[dict[str, Any]]:
        """Completed orders with the customer notes they got (where tracking codes end up)."""
        with self._lock:
            the_shop = self.shop(shop)
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

    # -- changes (each sends the webhooks Woo would send) -------------------------------------

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
        with self._lock:
            the_shop = self.shop(shop)
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
                now=self.now(),
                utc_offset=the_shop.utc_offset,
                api_base=self.api_base(shop),
            )
            the_shop.orders[order["id"]] = order
            pending = self._webhooks_for(the_shop, "order.created", order)
            result = copy.deepcopy(order)
        self._send(shop, pending)
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
        with self._lock:
            the_shop = self.shop(shop)
            order = the_shop.order(order_id)
            self._change_status(the_shop, order, status)
            pending = self._webhooks_for(the_shop, "order.updated", order)
            result = copy.deepcopy(order)
        self._send(shop, pending)
        return result

    def _change_status(self, shop: Shop, order: OrderJSON, status: str) -> None:
        old = order["status"]
        if old == status:
            return
        now = self.now()
        order["status"] = status
        if status in ("processing", "completed") and order["date_paid_gmt"] is None:
            build.stamp(order, "date_paid", now, shop.utc_offset)
        if status == "completed":
            build.stamp(order, "date_completed", now, shop.utc_offset)
        self._touch(shop, order)
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
        with self._lock:
            the_shop = self.shop(shop)
            order = the_shop.order(order_id)
            if billing is not None:
                order["billing"] = {**order["billing"], **{k: str(v) for k, v in billing.items()}}
            if shipping is not None:
                order["shipping"] = {**order["shipping"], **{k: str(v) for k, v in shipping.items()}}
            if customer_note is not None:
                order["customer_note"] = customer_note
            if status is not None:
                self._change_status(the_shop, order, status)
            self._touch(the_shop, order)
            pending = self._webhooks_for(the_shop, "order.updated", order)
            result = copy.deepcopy(order)
        self._send(shop, pending)
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
        with self._lock:
            the_shop = self.shop(shop)
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
                now=self.now(),
                utc_offset=the_shop.utc_offset,
                api_base=self.api_base(shop),
            )
            the_shop.refunds.setdefault(order_id, []).insert(0, refund)
            order["refunds"] = [
                {"id": r["id"], "reason": r["reason"], "total": f"-{r['amount']}"}
                for r in the_shop.refunds[order_id]
            ]
            refunded = self._refunded(the_shop, order_id)
            if all(refunded.get(item["id"], 0) >= item["quantity"] for item in order["line_items"]):
                self._change_status(the_shop, order, "refunded")
            self._touch(the_shop, order)
            pending = self._webhooks_for(the_shop, "order.updated", order)
            result = copy.deepcopy(order)
        self._send(shop, pending)
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
        with self._lock:
            the_shop = self.shop(shop)
            order = the_shop.order(order_id)
            if order["status"] != "trash":
                the_shop.status_before_trash[order_id] = order["status"]
                order["status"] = "trash"
                self._touch(the_shop, order)
            pending = self._webhooks_for(the_shop, "order.deleted", {"id": order_id})
            result = copy.deepcopy(order)
        self._send(shop, pending)
        return result

    def delete(self, shop: str, order_id: int) -> OrderJSON:
        """Delete for good; an order still outside the trash also sends ``order.deleted``."""
        with self._lock:
            the_shop = self.shop(shop)
            order = the_shop.orders.pop(order_id, None)
            if order is None:
                raise WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            the_shop.notes.pop(order_id, None)
            the_shop.refunds.pop(order_id, None)
            was_trashed = the_shop.status_before_trash.pop(order_id, None) is not None
            pending = [] if was_trashed else self._webhooks_for(the_shop, "order.deleted", {"id": order_id})
        self._send(shop, pending)
        return order

    def restore(self, shop: str, order_id: int) -> OrderJSON:
        """Take an order out of the trash (``order.restored`` with the full order)."""
        with self._lock:
            the_shop = self.shop(shop)
            order = the_shop.order(order_id)
            if order["status"] != "trash":
                raise WooError(400, "woocommerce_rest_cannot_restore", "The order is not in the trash.")
            order["status"] = the_shop.status_before_trash.pop(order_id, "pending")
            self._touch(the_shop, order)
            pending = self._webhooks_for(the_shop, "order.restored", order)
            result = copy.deepcopy(order)
        self._send(shop, pending)
        return result

    def add_note(self, shop: str, order_id: int, note: str, *, customer_note: bool) -> OrderJSON:
        """A note as the API adds it (author "WooCommerce"); no webhook, as in Woo."""
        if not note:
            raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"])
        with self._lock:
            the_shop = self.shop(shop)
            the_shop.order(order_id)
            return copy.deepcopy(self._add_note(the_shop, order_id, note, customer_note, "WooCommerce"))

    def _add_note(self, shop: Shop, order_id: int, note: str, customer_note: bool, author: str) -> OrderJSON:
        created = build.note_object(
            note_id=shop.next_note_id,
            note=note,
            customer_note=customer_note,
            author=author,
            now=self.now(),
            utc_offset=shop.utc_offset,
        )
        shop.next_note_id += 1
        shop.notes.setdefault(order_id, []).append(created)
        return created

    # -- webhooks -------------------------------------------------------------------------

    def list_webhooks(self, shop: str, *, with_secret: bool = False) -> list[OrderJSON]:
        with self._lock:
            the_shop = self.shop(shop)
            return [
                hook.as_json(the_shop.utc_offset, with_secret=with_secret)
                for hook in the_shop.webhooks.values()
            ]

    def create_webhook(
        self,
        shop: str,
        *,
        topic: str,
        delivery_url: str,
        secret: str | None = None,
        name: str | None = None,
        status: str = "active",
    ) -> OrderJSON:
        """A webhook as ``POST webhooks`` makes it; an active one is pinged (``webhook_id=N``)."""
        resource, _, event = topic.partition(".")
        if resource not in WEBHOOK_RESOURCES or event not in WEBHOOK_EVENTS:
            raise invalid_param("topic", "Webhook topic unknown.")
        if not delivery_url.startswith(("http://", "https://")):
            raise invalid_param("delivery_url", "delivery_url is not a valid URL.")
        if status not in ("active", "paused", "disabled"):
            raise invalid_param("status", "status is not one of active, paused, disabled.")
        with self._lock:
            the_shop = self.shop(shop)
            hook = Webhook(
                id=the_shop.next_webhook_id,
                name=name or f"Webhook {topic}",
                topic=topic,
                delivery_url=delivery_url,
                secret=secret or the_shop.webhook_secret,
                status=status,
                created=self.now(),
            )
            the_shop.next_webhook_id += 1
            the_shop.webhooks[hook.id] = hook
            pending: Pending = []
            if status == "active":
                ping = Delivery(
                    url=delivery_url,
                    headers={"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"},
                    body=f"webhook_id={hook.id}".encode(),
                    topic="ping",
                )
                self.outbox.append((shop, ping))
                pending.append((None, ping))  # a failed ping does not count towards disabling
            result = hook.as_json(the_shop.utc_offset)
        self._send(shop, pending)
        return result

    def update_webhook(self, shop: str, hook_id: int, fields: Mapping[str, Any]) -> OrderJSON:
        with self._lock:
            the_shop = self.shop(shop)
            hook = self._webhook(the_shop, hook_id)
            status = fields.get("status")
            if status is not None:
                if status not in ("active", "paused", "disabled"):
                    raise invalid_param("status", "status is not one of active, paused, disabled.")
                hook.status = str(status)
                if status == "active":
                    hook.failure_count = 0
            for name in ("secret", "delivery_url", "name"):
                if fields.get(name):
                    setattr(hook, name, str(fields[name]))
            return hook.as_json(the_shop.utc_offset)

    def delete_webhook(self, shop: str, hook_id: int) -> OrderJSON:
        with self._lock:
            the_shop = self.shop(shop)
            hook = self._webhook(the_shop, hook_id)
            del the_shop.webhooks[hook_id]
            return hook.as_json(the_shop.utc_offset)

    def get_webhook(self, shop: str, hook_id: int) -> OrderJSON:
        with self._lock:
            the_shop = self.shop(shop)
            return self._webhook(the_shop, hook_id).as_json(the_shop.utc_offset)

    @staticmethod
    def _webhook(shop: Shop, hook_id: int) -> Webhook:
        try:
            return shop.webhooks[hook_id]
        except KeyError:
            raise WooError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.") from None

    def register_delivery_address(
        self, shop: str, delivery_url: str, *, topics: Sequence[str] = ORDER_TOPICS, secret: str | None = None
    ) -> list[OrderJSON]:
        """One active webhook per topic to ``delivery_url`` (each pinged, as Woo does)."""
        return [
            self.create_webhook(shop, topic=topic, delivery_url=delivery_url, secret=secret)
            for topic in topics
        ]

    def set_webhook_secret(self, shop: str, secret: str) -> None:
        """The secret of new webhooks and of every existing one (a rotation)."""
        with self._lock:
            the_shop = self.shop(shop)
            the_shop.webhook_secret = secret or DEFAULT_WEBHOOK_SECRET
            for hook in the_shop.webhooks.values():
                hook.secret = the_shop.webhook_secret

    def _webhooks_for(self, shop: Shop, topic: str, payload: OrderJSON) -> Pending:
        """Signed deliveries of ``payload`` to every active webhook on ``topic`` (lock held)."""
        resource, _, event = topic.partition(".")
        body = wp_json(payload)
        pending: Pending = []
        for hook in shop.webhooks.values():
            if hook.topic != topic or hook.status != "active":
                continue
            delivery_id = hashlib.sha256(
                f"{hook.id}{self.clock.now().timestamp()}{next(self._delivery_counter)}".encode()
            ).hexdigest()[:32]
            delivery = Delivery(
                url=hook.delivery_url,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "X-WC-Webhook-Source": f"{self.public_url}/{shop.name}/",
                    "X-WC-Webhook-Topic": topic,
                    "X-WC-Webhook-Resource": resource,
                    "X-WC-Webhook-Event": event,
                    "X-WC-Webhook-Signature": woo_signature(body, hook.secret),
                    "X-WC-Webhook-ID": str(hook.id),
                    "X-WC-Webhook-Delivery-ID": delivery_id,
                },
                body=body,
                topic=topic,
            )
            self.outbox.append((shop.name, delivery))
            pending.append((hook, delivery))
        return pending

    def _send(self, shop: str, pending: Pending) -> None:
        """Deliver outside the lock; count failures like ``WC_Webhook::failed_delivery``."""
        for hook, delivery in pending:
            self.dispatcher.dispatch(delivery)
            if hook is None or delivery.dropped or delivery.attempts == 0:
                continue  # a ping, or held back / dropped by a delivery fault: not an answer
            with self._lock:
                if delivery.status is not None and 200 <= delivery.status < 303:
                    hook.failure_count = 0
                else:
                    hook.failure_count += 1
                    if hook.failure_count > MAX_DELIVERY_FAILURES:
                        hook.status = "disabled"

    def delivery_log(self, shop: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"shop": name, **item.as_json()} for name, item in self.outbox if shop is None or name == shop
            ]
