"""The Picqer side: ``PicqerClient``, its models, webhook signatures and events."""

from __future__ import annotations

from adapters.picqer.budget import RateLimitState, RequestBudget
from adapters.picqer.client import ORDER_FILTERS, PicqerClient
from adapters.picqer.models import (
    Customer,
    CustomerAddress,
    ErrorBody,
    Hook,
    OrderField,
    OrderFieldValue,
    OrderNote,
    OrderProduct,
    OrderProductStatus,
    Picklist,
    PicqerEvent,
    PicqerOrder,
    Product,
    ProductStock,
    Shipment,
    Tag,
    Warehouse,
)
from adapters.picqer.webhooks import SIGNATURE_HEADER, parse_event, sign, verify_signature

__all__ = [
    "ORDER_FILTERS",
    "SIGNATURE_HEADER",
    "Customer",
    "CustomerAddress",
    "ErrorBody",
    "Hook",
    "OrderField",
    "OrderFieldValue",
    "OrderNote",
    "OrderProduct",
    "OrderProductStatus",
    "Picklist",
    "PicqerClient",
    "PicqerEvent",
    "PicqerOrder",
    "Product",
    "ProductStock",
    "RateLimitState",
    "RequestBudget",
    "Shipment",
    "Tag",
    "Warehouse",
    "parse_event",
    "sign",
    "verify_signature",
]
