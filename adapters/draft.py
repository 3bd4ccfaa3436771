"""What a shop adapter's mapper hands to the push pipeline: a Picqer order draft and its verdict.

Mappers are pure: ``map_order(raw_shop_order, rules) -> MappedOrder``. The pipeline never looks at
shop JSON; it reads only these types.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class DraftLine(BaseModel):
    """One product line for Picqer, identified by productcode (= the shop's SKU)."""

    productcode: str
    amount: int = Field(gt=0)
    name: str | None = None
    price: float | None = None
    remarks: str | None = None
    shop_line_id: str | None = None  # the shop's line id, for messages that name a line


class OrderDraft(BaseModel):
    """The body of ``POST /orders`` for a guest order, plus tag titles added after the create."""

    reference: str
    deliveryname: str | None = None
    deliverycontactname: str | None = None
    deliveryaddress: str | None = None
    deliveryaddress2: str | None = None
    deliveryzipcode: str | None = None
    deliverycity: str | None = None
    deliveryregion: str | None = None
    deliverycountry: str | None = None
    invoicename: str | None = None
    invoicecontactname: str | None = None
    invoiceaddress: str | None = None
    invoiceaddress2: str | None = None
    invoicezipcode: str | None = None
    invoicecity: str | None = None
    invoiceregion: str | None = None
    invoicecountry: str | None = None
    telephone: str | None = None
    emailaddress: str | None = None
    customer_remarks: str | None = None
    preferred_delivery_date: date | None = None
    language: str | None = None
    idshippingprovider_profile: int | None = None
    products: list[DraftLine]
    tags: list[str] = Field(default_factory=list)

    def create_payload(self) -> dict[str, Any]:
        """The JSON body for ``POST /orders``: no tags (added one by one after), no empty fields."""
        body = self.model_dump(mode="json", exclude={"tags", "products"}, exclude_none=True)
        body["products"] = [
            line.model_dump(mode="json", exclude={"shop_line_id"}, exclude_none=True)
            for line in self.products
        ]
        return body

    def address_payload(self) -> dict[str, Any]:
        """The fields a shop-side change may update with ``PUT /orders/{id}``."""
        return self.model_dump(mode="json", exclude={"tags", "products", "reference"}, exclude_none=True)


class ShopOrderState(StrEnum):
    """What the shop order's own state means for the warehouse."""

    READY = "ready"  # paid, not cancelled, something to ship: push it
    UNPAID = "unpaid"  # not paid (yet): wait
    CANCELLED = "cancelled"  # cancelled, refunded or voided: cancel in Picqer if pushed
    NOTHING_TO_SHIP = "nothing_to_ship"  # paid, but no line needs shipping (after refunds/edits)
    DELETED = "deleted"  # gone from the shop (WooCommerce order.deleted)


class MappedOrder(BaseModel):
    """The verdict on one shop order: its identity, its state, and the draft when it is READY."""

    source: str
    platform: str
    shop_order_id: str
    shop_order_number: str
    shop_status: str  # the shop's own status words, for people ("paid", "processing", ...)
    shop_updated_at: datetime | None = None
    # when the shop made the order: a Picqer twin cannot be older (worker/sync/picqer_index.py)
    shop_created_at: datetime | None = None
    state: ShopOrderState
    reason: str | None = None  # why it is not READY, in words a person understands
    draft: OrderDraft | None = None


class MappingRules(BaseModel):
    """Per-source choices the mapper applies (from ``[[sources]]`` in the config)."""

    source: str
    platform: str
    paid_statuses: list[str] = Field(default_factory=list)  # empty: the platform default
    tags: list[str] = Field(default_factory=lambda: ["{source}"])
    language: str | None = None
    # the shop's shipping method (code or title, any case) -> Picqer's idshippingprovider_profile
    shipping_profiles: dict[str, int] = Field(default_factory=dict)
    # Picqer's reference: "{number}" is the shop's order number; "NL-{number}" tells shops apart
    reference_template: str = "{number}"

    def reference_for(self, number: str) -> str:
        """The Picqer ``reference`` (printed on picking lists) of shop order ``number``."""
        return self.reference_template.format(number=number, source=self.source, platform=self.platform)

    def shipping_profile(self, *methods: object) -> int | None:
        """The Picqer shipping profile of the first of ``methods`` the rules name, or None."""
        wanted = {key.strip().casefold(): profile for key, profile in self.shipping_profiles.items()}
        for method in methods:
            if isinstance(method, str) and (profile := wanted.get(method.strip().casefold())) is not None:
                return profile
        return None

    def tag_titles(self) -> list[str]:
        titles = [tag.format(source=self.source, platform=self.platform) for tag in self.tags]
        return [title for title in dict.fromkeys(titles) if title]
