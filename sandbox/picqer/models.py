"""The simulator's records. Plain dataclasses; every rule lives in the modules that change them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Order statuses, as the Orders doc names them.
CONCEPT = "concept"
EXPECTED = "expected"
PROCESSING = "processing"
PAUSED = "paused"
COMPLETED = "completed"
CANCELLED = "cancelled"

# Picklist statuses ("new, closed, snoozed, cancelled"; paused follows from pausing its order).
PICKLIST_NEW = "new"
PICKLIST_PAUSED = "paused"
PICKLIST_CLOSED = "closed"
PICKLIST_CANCELLED = "cancelled"
OPEN_PICKLIST_STATUSES = frozenset({PICKLIST_NEW, PICKLIST_PAUSED})

ADDRESS_PARTS = ("name", "contactname", "address", "address2", "zipcode", "city", "region", "country")
DELIVERY_FIELDS = tuple(f"delivery{part}" for part in ADDRESS_PARTS)
INVOICE_FIELDS = tuple(f"invoice{part}" for part in ADDRESS_PARTS)

# The order's plain fields with their defaults, in the order the doc's examples print them.
ORDER_DEFAULTS: dict[str, Any] = {
    "idcustomer": None,
    "idtemplate": None,
    "idshippingprovider_profile": None,
    **dict.fromkeys(DELIVERY_FIELDS),
    **dict.fromkeys(INVOICE_FIELDS),
    "telephone": None,
    "emailaddress": None,
    "reference": None,
    "customer_remarks": None,
    "pickup_point_data": None,
    "partialdelivery": True,
    "invoiced": False,
    "preferred_delivery_date": None,
    "discount": 0,
    "calculatevat": True,
    "language": "nl",
    "via_portal": False,
    "idfulfilment_customer": None,
}


@dataclass
class Warehouse:
    idwarehouse: int
    name: str
    accept_orders: bool = True
    counts_for_general_stock: bool = True
    priority: int = 1  # lower gets more orders
    active: bool = True


@dataclass
class VatGroup:
    idvatgroup: int
    name: str
    percentage: float


@dataclass
class Product:
    idproduct: int
    productcode: str
    name: str
    price: float
    idvatgroup: int
    weight: int = 0
    barcode: str | None = None
    description: str | None = None
    type: str = "normal"
    active: bool = True
    stock: dict[int, int] = field(default_factory=dict)  # idwarehouse -> physical stock


@dataclass
class Tag:
    idtag: int
    title: str
    color: str
    inherit: bool = False


@dataclass
class CustomerAddress:
    idcustomer_address: int
    fields: dict[str, Any]  # name, contactname, address, address2, zipcode, city, region, country
    defaultinvoice: bool = False
    defaultdelivery: bool = False


@dataclass
class Customer:
    idcustomer: int
    customerid: str
    name: str
    contactname: str | None = None
    telephone: str | None = None
    emailaddress: str | None = None
    language: str = "nl"
    addresses: list[CustomerAddress] = field(default_factory=list)


@dataclass
class OrderField:
    idorderfield: int
    title: str
    type: str = "text"
    required: bool = False


@dataclass
class OrderLine:
    idorder_product: int
    idproduct: int
    idvatgroup: int
    productcode: str
    name: str
    remarks: str | None
    price: float
    amount: int
    amount_cancelled: int = 0
    weight: int = 0

    @property
    def open_amount(self) -> int:
        return self.amount - self.amount_cancelled


@dataclass
class Note:
    idorder_log: int
    idorder: int
    description: str
    created_at: datetime


@dataclass
class Order:
    idorder: int
    orderid: str
    fields: dict[str, Any]  # the keys of ORDER_DEFAULTS
    status: str
    created: datetime
    updated: datetime
    public_status_page: str
    warehouses: list[int]
    lines: list[OrderLine] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    orderfield_values: dict[int, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


@dataclass
class Backorder:
    idbackorder: int
    idorder: int
    idorder_product: int
    idproduct: int
    idwarehouse: int
    amount: int
    priority: int  # lower is served first
    created_at: datetime


@dataclass
class Allocation:
    """Stock set aside for a concept order (``POST /orders/{id}/allocate``)."""

    idorder: int
    idorder_product: int
    idproduct: int
    idwarehouse: int
    amount: int


@dataclass
class PicklistLine:
    idpicklist_product: int
    idorder_product: int
    idproduct: int
    productcode: str
    name: str
    amount: int
    amount_picked: int = 0


@dataclass
class Picklist:
    idpicklist: int
    picklistid: str
    idorder: int
    idwarehouse: int
    status: str
    created: datetime
    updated: datetime
    lines: list[PicklistLine] = field(default_factory=list)
    closed_at: datetime | None = None
    urgent: bool = False


@dataclass
class Shipment:
    idshipment: int
    idpicklist: int
    idorder: int
    provider: str
    trackingcode: str
    trackingurl: str | None
    created: datetime
    weight: int = 0


@dataclass
class Hook:
    idhook: int
    name: str
    event: str
    address: str
    secret: str | None
    active: bool = True
    failures: int = 0  # consecutive failed deliveries
