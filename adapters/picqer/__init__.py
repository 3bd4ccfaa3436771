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
from adapters.picqer.status import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    PICKING_STATUSES,
    UNPROCESSED_STATUSES,
    PicqerStatus,
)
from adapters.picqer.webhooks import SIGNATURE_HEADER, parse_event, sign, verify_signature

__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "ORDER_FILTERS",
    "PICKING_STATUSES",
    "SIGNATURE_HEADER",
    "UNPROCESSED_STATUSES",
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
    "PicqerStatus",
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
