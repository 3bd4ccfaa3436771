"""What the three mappers do alike once a shop order is read: the verdict and the draft's tail.

Each platform's ``mapper.py`` reads its own JSON (statuses, lines, addresses) and decides; the
parts that do not depend on the platform are written here once: the identity every verdict on an
order carries, the Picqer address fields, and the assembly of the draft (reference, shipping
profile, tags).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from adapters.draft import DraftLine, MappedOrder, MappingRules, OrderDraft, ShopOrderState

# Picqer's address fields of one side ("delivery..." or "invoice..."), as OrderDraft keywords
AddressFields = Mapping[str, str | None]

NO_LINE_ITEMS = "the order lists no line items"


@dataclass(frozen=True, kw_only=True)
class ShopOrderHeader:
    """Who an order is and what the shop says of it: the part of every verdict that is not the verdict."""

    source: str
    platform: str
    shop_order_id: str
    shop_order_number: str
    shop_status: str
    shop_updated_at: datetime | None
    shop_created_at: datetime | None = None

    def verdict(
        self, state: ShopOrderState, reason: str | None = None, draft: OrderDraft | None = None
    ) -> MappedOrder:
        return MappedOrder(
            source=self.source,
            platform=self.platform,
            shop_order_id=self.shop_order_id,
            shop_order_number=self.shop_order_number,
            shop_status=self.shop_status,
            shop_updated_at=self.shop_updated_at,
            shop_created_at=self.shop_created_at,
            state=state,
            reason=reason,
            draft=draft,
        )

    def ready_unless_empty(
        self, lines: Sequence[object], draft: Callable[[], OrderDraft], *, nothing_left: str
    ) -> MappedOrder:
        """READY with ``draft()`` when any line is left to ship; else NOTHING_TO_SHIP, saying why."""
        if not lines:
            return self.verdict(ShopOrderState.NOTHING_TO_SHIP, nothing_left)
        return self.verdict(ShopOrderState.READY, draft=draft())


def address_fields(
    prefix: str,
    *,
    person: str | None,
    company: str | None,
    street: str | None,
    street2: str | None,
    zipcode: str | None,
    city: str | None,
    region: str | None,
    country: str,
) -> dict[str, str | None]:
    """One side of a Picqer address (``prefix`` is ``delivery`` or ``invoice``).

    Picqer's name is who the parcel is for: the company when there is one, with the person as contact.
    """
    return {
        f"{prefix}name": company or person or None,
        f"{prefix}contactname": (person or None) if company else None,
        f"{prefix}address": street,
        f"{prefix}address2": street2,
        f"{prefix}zipcode": zipcode,
        f"{prefix}city": city,
        f"{prefix}region": region,
        f"{prefix}country": country,
    }


def order_draft(
    rules: MappingRules,
    *,
    number: str,
    delivery: AddressFields,
    invoice: AddressFields,
    products: list[DraftLine],
    shipping_methods: Sequence[object],
    language: str | None,
    telephone: str | None,
    emailaddress: str | None,
    customer_remarks: str | None,
) -> OrderDraft:
    """The draft of shop order ``number``: its reference, shipping profile and tags as ``rules`` say.

    ``shipping_methods`` are the shop's method codes and titles, best first; an empty ``invoice``
    leaves the invoice address to Picqer (the delivery address).
    """
    return OrderDraft(
        reference=rules.reference_for(number),
        **delivery,
        **invoice,
        telephone=telephone,
        emailaddress=emailaddress,
        customer_remarks=customer_remarks,
        language=language,
        idshippingprovider_profile=rules.shipping_profile(*shipping_methods),
        products=products,
        tags=rules.tag_titles(),
    )
