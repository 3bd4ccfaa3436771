"""Typed views of Picqer's JSON, tolerant of the drift its API shows in practice.

Every model keeps unknown fields (``extra="allow"``) so nothing Picqer adds is lost, accepts
``null`` wherever a field is optional, and reads the loose spots Picqer is known for:

- ``tags`` as an object keyed by title (orders, older picklists) or as a list (newer payloads);
- numbers sent as strings and per-account numbers that are strings (``orderid`` "O2026-1002");
- timestamps as ``"YYYY-MM-DD HH:MM:SS"`` in the account's local time, read as naive datetimes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from adapters.types import JSONDict

# -- loose scalar types ------------------------------------------------------------------------------


def _empty_to_none(value: Any) -> Any:
    # Picqer sends "" for an unset number or date in some payloads (picklists: deliveryregion, ...)
    return None if value == "" else value


def _to_str(value: Any) -> Any:
    # per-account numbers (orderid, customerid, picklistid) are strings in some payloads, ints in others
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def _picqer_datetime(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=None) if isinstance(value, datetime) else None
    if isinstance(value, str):
        text = value.strip()
        if not text or text.startswith("0000-00-00"):
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None  # an optional timestamp we cannot read is worth less than the record around it
        # Picqer's own timestamps carry no zone (account local time); keep the wall-clock reading
        return parsed.replace(tzinfo=None)
    return value


def _picqer_date(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text or text.startswith("0000-00-00"):
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    return value


LooseInt = Annotated[int | None, BeforeValidator(_empty_to_none)]
LooseFloat = Annotated[float | None, BeforeValidator(_empty_to_none)]
LooseBool = Annotated[bool | None, BeforeValidator(_empty_to_none)]
LooseStr = Annotated[str | None, BeforeValidator(_to_str)]
PicqerDateTime = Annotated[datetime | None, BeforeValidator(_picqer_datetime)]
PicqerDate = Annotated[date | None, BeforeValidator(_picqer_date)]


def format_picqer_datetime(value: datetime) -> str:
    """A datetime as Picqer's filters expect it: ``"YYYY-MM-DD HH:MM:SS"``."""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


def _tags_as_list(value: Any) -> Any:
    """Both tag shapes as a list: ``{"Title": {...}}``, ``[{...}]``, one bare tag object, or null."""
    if value is None:
        return []
    if isinstance(value, dict):
        if "idtag" in value:
            return [value]
        tags = []
        for title, tag in value.items():
            if isinstance(tag, dict):
                tags.append({"title": title, **tag})
            else:
                tags.append(tag)  # let validation name the odd entry
        return tags
    return value


class PicqerModel(BaseModel):
    """Base: keep unknown fields, accept field names and aliases, read numbers sent for text as text."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


ModelT = TypeVar("ModelT", bound=BaseModel)


def validate_leniently(
    model: type[ModelT], data: dict[str, Any], *, required: tuple[str, ...]
) -> ModelT | None:
    """``model`` from a webhook's ``data``, leaving out optional fields whose values it cannot read.

    A webhook is a hint about one object: one odd field (a new shape Picqer starts sending, a
    number where text was) must not lose the whole event. The ``required`` fields must read, or
    there is no object (None).
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        failed = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
    if failed & set(required):
        return None
    trimmed = {key: value for key, value in data.items() if key not in failed}
    try:
        return model.model_validate(trimmed)
    except ValidationError:
        return None


# -- resources ---------------------------------------------------------------------------------------


class Tag(PicqerModel):
    idtag: int
    title: str = ""
    color: str | None = None
    inherit: LooseBool = None
    text_color: str | None = Field(default=None, alias="textColor")


TagList = Annotated[list[Tag], BeforeValidator(_tags_as_list)]


class OrderProduct(PicqerModel):
    """One order line. The create response of ``POST /orders`` omits ``idorder_product``."""

    idorder_product: LooseInt = None
    idproduct: LooseInt = None
    idvatgroup: LooseInt = None
    productcode: LooseStr = None
    name: str | None = None
    remarks: str | None = None
    price: LooseFloat = None
    amount: LooseInt = None
    amount_cancelled: LooseInt = None
    weight: LooseFloat = None
    partof_idorder_product: LooseInt = None
    has_parts: LooseBool = None


class OrderProductStatus(PicqerModel):
    """One line of ``GET /orders/{id}/productstatus``: where the ordered amount is now."""

    idproduct: LooseInt = None
    productcode: LooseStr = None
    name: str | None = None
    amount: int = 0
    delivered: int = 0
    backorder: int = 0
    picklist: int = 0
    allocated: int = 0

    @field_validator("amount", "delivered", "backorder", "picklist", "allocated", mode="before")
    @classmethod
    def _null_is_zero(cls, value: Any) -> Any:
        return 0 if value in (None, "") else value


class OrderNote(PicqerModel):
    idorder_log: LooseInt = None
    iduser: LooseInt = None
    idorder: LooseInt = None
    idpicklist: LooseInt = None
    type: str | None = None
    action: str | None = None
    description: str | None = None
    details: Any = None
    created_at: PicqerDateTime = None


class OrderField(PicqerModel):
    """An order field defined on the account (``GET /orderfields``)."""

    idorderfield: int
    title: str | None = None
    type: str | None = None
    required: LooseBool = None
    visible: LooseBool = None


class OrderFieldValue(PicqerModel):
    """An order field's value on one order."""

    idorderfield: int
    title: str | None = None
    value: LooseStr = None


class Picklist(PicqerModel):
    idpicklist: int
    picklistid: LooseStr = None
    idcustomer: LooseInt = None
    idorder: LooseInt = None
    idreturn: LooseInt = None
    idwarehouse: LooseInt = None
    idtemplate: LooseInt = None
    idpicklist_batch: LooseInt = None
    idshippingprovider_profile: LooseInt = None
    idfulfilment_customer: LooseInt = None
    deliveryname: str | None = None
    deliverycontact: str | None = None
    deliveryaddress: str | None = None
    deliveryaddress2: str | None = None
    deliveryzipcode: str | None = None
    deliverycity: str | None = None
    deliveryregion: str | None = None
    deliverycountry: str | None = None
    telephone: str | None = None
    emailaddress: str | None = None
    reference: LooseStr = None
    assigned_to_iduser: LooseInt = None
    invoiced: LooseBool = None
    urgent: LooseBool = None
    preferred_delivery_date: PicqerDate = None
    status: str | None = None
    totalproducts: LooseInt = None
    totalpicked: LooseInt = None
    snoozed_until: PicqerDateTime = None
    closed_by_iduser: LooseInt = None
    closed_at: PicqerDateTime = None
    created: PicqerDateTime = None
    updated: PicqerDateTime = None
    comment_count: LooseInt = None
    products: Annotated[list[JSONDict], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    tags: TagList = Field(default_factory=list)


class PicqerOrder(PicqerModel):
    idorder: int
    idcustomer: LooseInt = None
    idtemplate: LooseInt = None
    idshippingprovider_profile: LooseInt = None
    idfulfilment_customer: LooseInt = None
    orderid: LooseStr = None
    deliveryname: str | None = None
    deliverycontactname: str | None = None
    deliveryaddress: str | None = None
    deliveryaddress2: str | None = None
    deliveryzipcode: LooseStr = None
    deliverycity: str | None = None
    deliveryregion: str | None = None
    deliverycountry: str | None = None
    full_delivery_address: str | None = None
    invoicename: str | None = None
    invoicecontactname: str | None = None
    invoiceaddress: str | None = None
    invoiceaddress2: str | None = None
    invoicezipcode: LooseStr = None
    invoicecity: str | None = None
    invoiceregion: str | None = None
    invoicecountry: str | None = None
    full_invoice_address: str | None = None
    telephone: LooseStr = None
    emailaddress: str | None = None
    reference: LooseStr = None
    customer_remarks: str | None = None
    pickup_point_data: Any = None
    partialdelivery: LooseBool = None
    auto_split: LooseBool = None
    invoiced: LooseBool = None
    preferred_delivery_date: PicqerDate = None
    discount: LooseFloat = None
    calculatevat: LooseBool = None
    language: str | None = None
    status: str | None = None
    via_portal: LooseBool = None
    public_status_page: str | None = None
    created: PicqerDateTime = None
    updated: PicqerDateTime = None
    warehouses: Annotated[list[int], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    tags: TagList = Field(default_factory=list)
    products: Annotated[list[OrderProduct], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    orderfields: Annotated[list[OrderFieldValue], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )
    pricelists: Annotated[list[Any], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    picklists: Annotated[list[Picklist], BeforeValidator(_list_or_empty)] = Field(default_factory=list)

    @property
    def tag_titles(self) -> set[str]:
        return {tag.title for tag in self.tags}


class ProductStock(PicqerModel):
    """Stock of one product in one warehouse."""

    idwarehouse: LooseInt = None
    stock: LooseInt = None
    reserved: LooseInt = None
    reservedbackorders: LooseInt = None
    reservedpicklists: LooseInt = None
    reservedallocations: LooseInt = None
    freestock: LooseInt = None


class Product(PicqerModel):
    idproduct: int
    idvatgroup: LooseInt = None
    name: str | None = None
    price: LooseFloat = None
    fixedstockprice: LooseFloat = None
    idsupplier: LooseInt = None
    productcode: LooseStr = None
    productcode_supplier: LooseStr = None
    deliverytime: LooseInt = None
    description: str | None = None
    barcode: LooseStr = None
    type: str | None = None
    unlimitedstock: LooseBool = None
    weight: LooseFloat = None
    length: LooseFloat = None
    width: LooseFloat = None
    height: LooseFloat = None
    minimum_purchase_quantity: LooseInt = None
    purchase_in_quantities_of: LooseInt = None
    hs_code: LooseStr = None
    country_of_origin: str | None = None
    active: LooseBool = None
    tags: TagList = Field(default_factory=list)
    stock: Annotated[list[ProductStock], BeforeValidator(_list_or_empty)] = Field(default_factory=list)


class CustomerAddress(PicqerModel):
    idcustomer_address: LooseInt = None
    name: str | None = None
    contactname: str | None = None
    address: str | None = None
    address2: str | None = None
    zipcode: LooseStr = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    defaultinvoice: LooseBool = None
    defaultdelivery: LooseBool = None


class Customer(PicqerModel):
    idcustomer: int
    customerid: LooseStr = None
    name: str | None = None
    contactname: str | None = None
    telephone: LooseStr = None
    emailaddress: str | None = None
    discount: LooseFloat = None
    vatnumber: str | None = None
    calculatevat: LooseBool = None
    remarks: str | None = None
    default_order_remarks: str | None = None
    language: str | None = None
    auto_split: LooseBool = None
    idtemplate: LooseInt = None
    idfulfilment_customer: LooseInt = None
    addresses: Annotated[list[CustomerAddress], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    tags: TagList = Field(default_factory=list)


class Warehouse(PicqerModel):
    idwarehouse: int
    name: str | None = None
    accept_orders: LooseBool = None
    counts_for_general_stock: LooseBool = None
    priority: LooseInt = None
    active: LooseBool = None


class Shipment(PicqerModel):
    idshipment: int
    idpicklist: LooseInt = None
    idorder: LooseInt = None
    idreturn: LooseInt = None
    idcompany_shippingprovider: LooseInt = None
    idshippingprovider_profile: LooseInt = None
    provider: str | None = None
    providername: str | None = None
    public_providername: str | None = None
    profile_name: str | None = None
    carrier_key: str | None = None
    trackingcode: LooseStr = None
    trackingurl: str | None = None
    tracktraceurl: str | None = None
    labelurl_pdf: str | None = None
    labelurl_zpl: str | None = None
    weight: LooseFloat = None
    cancelled: LooseBool = None
    created: PicqerDateTime = None
    updated: PicqerDateTime = None

    @property
    def tracking_url(self) -> str | None:
        # Picqer has named this field both ways over time
        return self.trackingurl or self.tracktraceurl

    @property
    def carrier_name(self) -> str | None:
        """The carrier as a buyer knows it: the public name first, the internal keys last."""
        return self.public_providername or self.providername or self.carrier_key or self.provider


class Hook(PicqerModel):
    idhook: int
    name: str | None = None
    event: str | None = None
    address: str | None = None
    active: LooseBool = None
    # Picqer answers the secret as a boolean (whether one is set) or echoes the string
    secret: bool | str | None = None

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)


class ErrorBody(PicqerModel):
    """``{"error": true, "error_code": 24, "error_message": "..."}``, Picqer's error answer."""

    error: Any = None
    error_code: LooseInt = None
    error_message: LooseStr = None

    @field_validator("error_code", mode="before")
    @classmethod
    def _code_or_none(cls, value: Any) -> Any:
        # a non-numeric code is not worth failing the error report over
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            return None
        return value if isinstance(value, int | str) else None

    @field_validator("error_message", mode="before")
    @classmethod
    def _message_as_text(cls, value: Any) -> Any:
        # seen as a string; a list or object of messages is kept readable rather than rejected
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)


# -- webhook events ----------------------------------------------------------------------------------

# which id in ``data`` names the resource of an event, by event prefix (longest prefix wins)
EVENT_RESOURCE_KEYS: dict[str, str] = {
    "orders": "idorder",
    "picklists": "idpicklist",
    "picklists.shipments": "idshipment",
    "picklist_batches": "idpicklist_batch",
    "products": "idproduct",
    "purchase_orders": "idpurchaseorder",
    "receipts": "idreceipt",
    "returns": "idreturn",
    "comments": "idcomment",
    "tasks": "idtask",
}


class PicqerEvent(PicqerModel):
    """One webhook delivery: ``{idhook, name, event, event_triggered_at, data}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    idhook: int
    name: str
    event: str
    event_triggered_at: datetime
    data: JSONDict
    #: sha256 of the exact body received; set by ``parse_event``
    body_sha256: str = ""

    @field_validator("event_triggered_at", mode="before")
    @classmethod
    def _triggered_at(cls, value: Any) -> Any:
        if not isinstance(value, str | datetime):  # a number is not one of Picqer's timestamps
            raise ValueError("event_triggered_at is not a timestamp")
        parsed = _picqer_datetime(value)
        if parsed is None:
            raise ValueError("event_triggered_at is not a timestamp")
        return parsed

    @field_validator("name", mode="before")
    @classmethod
    def _name_may_be_null(cls, value: Any) -> Any:
        return "" if value is None else value

    def order(self) -> PicqerOrder | None:
        """The order of an ``orders.*`` event (also when wrapped as ``{"order": {...}}``)."""
        if not self.event.startswith("orders."):
            return None
        candidate = self.data if "idorder" in self.data else self.data.get("order")
        if not isinstance(candidate, dict) or "idorder" not in candidate:
            return None
        return validate_leniently(PicqerOrder, candidate, required=("idorder",))

    def shipment(self) -> Shipment | None:
        """The shipment of a ``picklists.shipments.*`` event (also when wrapped as ``{"shipment": ...}``)."""
        candidate = self.data if "idshipment" in self.data else self.data.get("shipment")
        if not isinstance(candidate, dict) or "idshipment" not in candidate:
            return None
        return validate_leniently(Shipment, candidate, required=("idshipment", "idorder", "idpicklist"))

    @property
    def resource_id(self) -> str:
        """The id of the object the event is about (``idorder`` for ``orders.*``), or ``"-"``."""
        prefixes = [prefix for prefix in EVENT_RESOURCE_KEYS if self.event.startswith(prefix + ".")]
        for prefix in sorted(prefixes, key=len, reverse=True):
            value = self.data.get(EVENT_RESOURCE_KEYS[prefix])
            if value is not None:
                return str(value)
        for key, value in self.data.items():  # an event family we do not know: its first id field
            if key.startswith("id") and isinstance(value, int | str) and not isinstance(value, bool):
                return str(value)
        return "-"

    @property
    def event_key(self) -> str:
        """A stable dedup key: event, resource id, trigger time and the body's hash.

        A redelivery of the same webhook has the same bytes, so the same key; two different
        changes of one order within the same second differ in their bodies.
        """
        digest = (
            self.body_sha256
            or hashlib.sha256(
                json.dumps(
                    {
                        "idhook": self.idhook,
                        "event": self.event,
                        "event_triggered_at": format_picqer_datetime(self.event_triggered_at),
                        "data": self.data,
                    },
                    sort_keys=True,
                    separators=(",", ":"),
                ).encode()
            ).hexdigest()
        )
        triggered = format_picqer_datetime(self.event_triggered_at)
        return f"{self.event}:{self.resource_id}:{triggered}:{digest}"
