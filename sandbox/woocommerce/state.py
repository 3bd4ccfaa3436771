"""The simulator's state: shops with orders, refunds, notes and webhooks; API faults; WP errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

DEFAULT_WEBHOOK_SECRET = "woocommerce-sandbox-secret"
DEFAULT_UTC_OFFSET = timedelta(hours=2)  # site time differs from GMT, as on real stores
MAX_DELIVERY_FAILURES = 5  # Woo disables a webhook after more than this many failures in a row
ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
WEBHOOK_RESOURCES = ("order", "product", "customer", "coupon")
WEBHOOK_EVENTS = ("created", "updated", "deleted", "restored")
OrderJSON = dict[str, Any]  # the order as Woo serves it: the simulator keeps this JSON as its state


class WooError(Exception):
    """An answer in WordPress's REST error shape: ``{"code", "message", "data": {"status"}}``."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **data: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def invalid_param(name: str, why: str) -> WooError:
    return WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: why})


def invalid_order(order_id: object) -> WooError:
    return WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str
    created: datetime
    failure_count: int = 0

    def as_json(self, utc_offset: timedelta, *, with_secret: bool = False) -> dict[str, Any]:
        resource, _, event = self.topic.partition(".")
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": resource,
            "event": event,
            "hooks": [],
            "delivery_url": self.delivery_url,
            "date_created": (self.created + utc_offset).strftime("%Y-%m-%dT%H:%M:%S"),
            "date_created_gmt": self.created.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if with_secret:  # Woo never shows the secret again; the control API may
            body["secret"] = self.secret
            body["failure_count"] = self.failure_count
        return body


@dataclass
class Shop:
    name: str
    utc_offset: timedelta = DEFAULT_UTC_OFFSET
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by order id, newest first
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by order id, oldest first
    status_before_trash: dict[int, str] = field(default_factory=dict)
    webhooks: dict[int, Webhook] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)  # sku -> product id
    next_post_id: int = 1000  # orders and refunds are posts in WordPress: one id sequence
    next_item_id: int = 1
    next_note_id: int = 1
    next_meta_id: int = 1
    next_webhook_id: int = 1

    def post_id(self) -> int:
        self.next_post_id += 1
        return self.next_post_id

    def item_id(self) -> int:
        self.next_item_id += 1
        return self.next_item_id

    def meta_id(self) -> int:
        self.next_meta_id += 1
        return self.next_meta_id

    def product_id(self, sku: str) -> int:
        return self.products.setdefault(sku or f"no-sku-{len(self.products)}", 10 + len(self.products))

    def order(self, order_id: int) -> dict[str, Any]:
        try:
            return self.orders[order_id]
        except KeyError:
            raise invalid_order(order_id) from None


@dataclass
class FailNext:
    """Answer one matching request with ``status`` (``method``/``path_suffix`` narrow it down)."""

    status: int
    retry_after: float | None = None
    method: str | None = None
    path_suffix: str | None = None  # e.g. "/notes"

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_suffix is None or path.rstrip("/").endswith(self.path_suffix.rstrip("/"))


@dataclass
class ApiFaults:
    """Switchable API misbehaviour. Woo has no rate limit of its own; hosts and WAFs add them."""

    fail_next: list[FailNext] = field(default_factory=list)  # answered in order, one per request
    rate_limit_per_minute: int | None = None
    strip_authorization: bool = False  # a host that drops the Authorization header (CGI PHP)

    def as_json(self) -> dict[str, Any]:
        return {
            "fail_next": [asdict(fault) for fault in self.fail_next],
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "strip_authorization": self.strip_authorization,
        }
