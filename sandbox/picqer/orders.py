"""Creating and editing orders: the fields, products, tags, orderfields and notes of one order.

Status changes (process, pause, cancel, ...) live in ``lifecycle.py``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.picqer.errors import (
    CANNOT_CHANGE_ORDER,
    CUSTOMER_DOES_NOT_EXIST,
    MISSING_PRODUCTS,
    ORDER_IS_PROCESSED,
    PRODUCT_DOES_NOT_EXIST,
    PRODUCT_OR_AMOUNT_MISSING,
    UNKNOWN_VATGROUP,
    PicqerError,
    invalid,
    missing,
    not_found,
)
from sandbox.picqer.formats import check_date, country_code
from sandbox.picqer.models import (
    ADDRESS_PARTS,
    CANCELLED,
    COMPLETED,
    CONCEPT,
    DELIVERY_FIELDS,
    INVOICE_FIELDS,
    ORDER_DEFAULTS,
    Customer,
    Note,
    Order,
    OrderLine,
    Tag,
)
from sandbox.picqer.state import PicqerState

STRING_FIELDS = frozenset(
    {*DELIVERY_FIELDS, *INVOICE_FIELDS, "telephone", "emailaddress", "reference", "customer_remarks"}
    | {"language", "preferred_delivery_date"}
)
ID_FIELDS = frozenset({"idcustomer", "idtemplate", "idshippingprovider_profile", "idfulfilment_customer"})
BOOL_FIELDS = frozenset({"partialdelivery", "invoiced", "calculatevat"})
# The fields the Orders doc lets PUT /orders/{id} change.
UPDATABLE_FIELDS = frozenset(
    {*DELIVERY_FIELDS, *INVOICE_FIELDS}
    | {"idcustomer", "idtemplate", "telephone", "emailaddress", "calculatevat", "discount"}
    | {"pickup_point_data", "preferred_delivery_date", "customer_remarks", "reference", "invoiced"}
    | {"idshippingprovider_profile", "partialdelivery", "language"}
)
CREATABLE_FIELDS = UPDATABLE_FIELDS | {"idfulfilment_customer"}
FINAL_STATUSES = frozenset({COMPLETED, CANCELLED})
PUBLIC_STATUS_BASE = "https://sandbox.picqer.local/s/"


def create_order(state: PicqerState, body: dict[str, Any]) -> Order:
    """``POST /orders``: validate everything first, so a refused order leaves nothing behind."""
    fields = dict(ORDER_DEFAULTS)
    fields.update(_clean_fields(state, body, CREATABLE_FIELDS))
    customer = state.customers.get(fields["idcustomer"]) if fields["idcustomer"] is not None else None
    if customer is not None:
        _fill_from_customer(fields, customer, body)
    elif not body.get("invoicename") and not body.get("invoicecountry"):
        # A guest order without invoice details: the invoice goes to the delivery address.
        for part in ADDRESS_PARTS:
            fields[f"invoice{part}"] = fields[f"delivery{part}"]
    absent = [
        name
        for name in ("deliveryname", "deliverycountry", "invoicename", "invoicecountry")
        if not fields[name]
    ]
    if absent:
        raise missing(*absent)
    warehouses = _warehouses(state, body.get("warehouses"))
    products = body.get("products")
    if not isinstance(products, list) or not products:
        raise PicqerError(400, MISSING_PRODUCTS, "Order is missing products")
    lines = [_new_line(state, item) for item in products]
    values = _orderfield_values(state, body.get("orderfields"))
    now = state.now()
    idorder = state.next_id("order")
    order = Order(
        idorder=idorder,
        orderid=f"O{now.year}-{state.next_id('orderid')}",
        fields=fields,
        status=CONCEPT,
        created=now,
        updated=now,
        public_status_page=PUBLIC_STATUS_BASE + hashlib.sha256(f"order-{idorder}".encode()).hexdigest()[:16],
        warehouses=warehouses,
        lines=lines,
        orderfield_values=values,
    )
    state.add_order(order)
    state.emit("orders.created", "order", idorder)
    return order


def update_order(state: PicqerState, order: Order, body: dict[str, Any]) -> None:
    """``PUT /orders/{id}``: only the documented fields; unknown keys are ignored as Picqer does."""
    if order.status in FINAL_STATUSES:
        raise PicqerError(400, CANNOT_CHANGE_ORDER, f"Cannot change order. This order is {order.status}")
    changes = _clean_fields(state, body, UPDATABLE_FIELDS)
    if "idcustomer" in changes and changes["idcustomer"] is not None:
        _customer(state, changes["idcustomer"])
    previous = order.fields.get("reference")
    order.fields.update(changes)
    if order.fields.get("reference") != previous:
        state.reindex_reference(order, previous)
    touch(state, order)


def touch(state: PicqerState, order: Order) -> None:
    order.updated = state.now()


def _clean_fields(state: PicqerState, body: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in body.items():
        if name not in allowed:
            continue
        clean[name] = _typed(name, value)
    for name in ("deliverycountry", "invoicecountry"):
        if clean.get(name) is not None:
            clean[name] = country_code(clean[name], name)
    if clean.get("preferred_delivery_date"):
        check_date(clean["preferred_delivery_date"], "preferred_delivery_date")
    if clean.get("idcustomer") is not None:
        _customer(state, clean["idcustomer"])
    return clean


def _typed(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in STRING_FIELDS:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid(f"Invalid value for {name}")
        return str(value)
    if name in ID_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(f"Invalid value for {name}, expected an integer")
        return value
    if name in BOOL_FIELDS:
        if value in (0, 1) or isinstance(value, bool):
            return bool(value)
        raise invalid(f"Invalid value for {name}, expected a boolean")
    if name == "discount":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid("Invalid value for discount, expected a number")
        return value
    return value


def _customer(state: PicqerState, idcustomer: int) -> Customer:
    if idcustomer not in state.customers:
        raise PicqerError(
            400, CUSTOMER_DOES_NOT_EXIST, "Customer you are making an order for, does not exist"
        )
    return state.customers[idcustomer]


def _fill_from_customer(fields: dict[str, Any], customer: Customer, given: dict[str, Any]) -> None:
    """Empty address fields come from the customer's default addresses (the doc's starred fields)."""
    addresses = customer.addresses
    delivery = next((a for a in addresses if a.defaultdelivery), addresses[0] if addresses else None)
    invoice = next((a for a in addresses if a.defaultinvoice), delivery)
    for prefix, address in (("delivery", delivery), ("invoice", invoice)):
        source: dict[str, Any] = dict(address.fields) if address is not None else {"name": customer.name}
        source["contactname"] = source.get("contactname") or customer.contactname
        for part in ADDRESS_PARTS:
            if not fields[f"{prefix}{part}"]:
                fields[f"{prefix}{part}"] = source.get(part)
    for name in ("telephone", "emailaddress"):
        if not fields[name]:
            fields[name] = getattr(customer, name)
    if "language" not in given:
        fields["language"] = customer.language


def _warehouses(state: PicqerState, value: Any) -> list[int]:
    if value is None:
        return [w.idwarehouse for w in state.ordered_warehouses()]
    if not isinstance(value, list) or not all(isinstance(i, int) and i in state.warehouses for i in value):
        raise invalid("warehouses must be a list of existing idwarehouse values")
    return list(value)


def _new_line(state: PicqerState, item: Any) -> OrderLine:
    if not isinstance(item, dict):
        raise PicqerError(400, PRODUCT_OR_AMOUNT_MISSING, "Idproduct or amount missing from product in order")
    amount = item.get("amount")
    idproduct = item.get("idproduct")
    code = item.get("productcode")
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or amount <= 0
        or (idproduct is None and not code)
    ):
        raise PicqerError(400, PRODUCT_OR_AMOUNT_MISSING, "Idproduct or amount missing from product in order")
    if idproduct is not None:
        product = state.products.get(idproduct) if isinstance(idproduct, int) else None
    else:
        product = state.product_by_code(str(code))
    if product is None:
        raise PicqerError(400, PRODUCT_DOES_NOT_EXIST, "Product you are trying to order, does not exist")
    idvatgroup = item.get("idvatgroup", product.idvatgroup)
    if idvatgroup not in state.vatgroups:
        raise PicqerError(400, UNKNOWN_VATGROUP, "Unknown vatgroup")
    price = item.get("price", product.price)
    if isinstance(price, bool) or not isinstance(price, int | float):
        raise invalid("Invalid value for price")
    return OrderLine(
        idorder_product=state.next_id("order_product"),
        idproduct=product.idproduct,
        idvatgroup=idvatgroup,
        productcode=str(code) if code else product.productcode,
        name=str(item.get("name") or product.name),
        remarks=str(item["remarks"]) if item.get("remarks") is not None else "",
        price=float(price),
        amount=amount,
        weight=product.weight,
    )


def _orderfield_values(state: PicqerState, value: Any) -> dict[int, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise invalid("orderfields must be a list of {idorderfield, value}")
    values: dict[int, str] = {}
    for item in value:
        if not isinstance(item, dict) or "idorderfield" not in item:
            raise missing("idorderfield")
        if item["idorderfield"] not in state.orderfields:
            raise PicqerError(400, 20, "Orderfield not found")
        if item.get("value") is not None:
            values[item["idorderfield"]] = str(item["value"])
    return values


# Order lines: products and amounts only while the order is a concept.


def _require_concept(order: Order, message: str) -> None:
    if order.status != CONCEPT:
        raise PicqerError(400, ORDER_IS_PROCESSED, message)


def order_line(order: Order, idorder_product: int) -> OrderLine:
    line = next((line for line in order.lines if line.idorder_product == idorder_product), None)
    if line is None:
        raise not_found("Order product")
    return line


def add_line(state: PicqerState, order: Order, body: dict[str, Any]) -> OrderLine:
    _require_concept(order, "Products cannot be added when order is processed already")
    line = _new_line(state, body)
    order.lines.append(line)
    touch(state, order)
    return line


def update_line(state: PicqerState, order: Order, line: OrderLine, body: dict[str, Any]) -> None:
    """Name, price and remarks change in any open status; the amount only in concept."""
    if order.status in FINAL_STATUSES:
        raise PicqerError(400, CANNOT_CHANGE_ORDER, f"Cannot change order. This order is {order.status}")
    if "amount" in body and body["amount"] != line.amount:
        _require_concept(order, "Amount cannot be changed when order is processed already")
        amount = body["amount"]
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise PicqerError(400, PRODUCT_OR_AMOUNT_MISSING, "Amount must be a positive integer")
        line.amount = amount
    if "price" in body:
        if isinstance(body["price"], bool) or not isinstance(body["price"], int | float):
            raise invalid("Invalid value for price")
        line.price = float(body["price"])
    if body.get("name") is not None:
        line.name = str(body["name"])
    if "remarks" in body:
        line.remarks = None if body["remarks"] is None else str(body["remarks"])
    touch(state, order)


def delete_line(state: PicqerState, order: Order, line: OrderLine) -> None:
    _require_concept(order, "Product cannot be removed when order is processed")
    order.lines.remove(line)
    touch(state, order)


# Tags, orderfields and notes.


def add_tag(state: PicqerState, order: Order, body: dict[str, Any]) -> Tag:
    idtag = body.get("idtag")
    if idtag is None:
        raise missing("idtag")
    if not isinstance(idtag, int) or idtag not in state.tags:
        raise not_found("Tag")
    if idtag not in order.tag_ids:
        order.tag_ids.append(idtag)
        touch(state, order)
    return state.tags[idtag]


def remove_tag(state: PicqerState, order: Order, idtag: int) -> None:
    if idtag not in order.tag_ids:
        raise not_found("Tag on this order")
    order.tag_ids.remove(idtag)
    touch(state, order)


def set_orderfield(state: PicqerState, order: Order, idorderfield: int, body: dict[str, Any]) -> None:
    if idorderfield not in state.orderfields:
        raise not_found("Orderfield")
    if "value" not in body:
        raise missing("value")
    if body["value"] is None:
        order.orderfield_values.pop(idorderfield, None)
    else:
        order.orderfield_values[idorderfield] = str(body["value"])
    touch(state, order)


def delete_orderfield(state: PicqerState, order: Order, idorderfield: int) -> None:
    if idorderfield not in state.orderfields:
        raise not_found("Orderfield")
    order.orderfield_values.pop(idorderfield, None)
    touch(state, order)


def add_note(state: PicqerState, order: Order, body: dict[str, Any]) -> Note:
    text = body.get("note")
    if not isinstance(text, str) or not text.strip():
        raise missing("note")
    note = Note(
        idorder_log=state.next_id("note"), idorder=order.idorder, description=text, created_at=state.now()
    )
    order.notes.append(note)
    return note
