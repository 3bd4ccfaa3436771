"""The resources around orders: products, tags and customers (create and search)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.picqer.errors import UNKNOWN_VATGROUP, PicqerError, invalid, missing
from sandbox.picqer.formats import country_code
from sandbox.picqer.models import ADDRESS_PARTS, Customer, CustomerAddress, Product, Tag
from sandbox.picqer.state import PicqerState

DEFAULT_TAG_COLOR = "#823882"  # picqer-php's default for createTag


def create_product(state: PicqerState, body: dict[str, Any]) -> Product:
    absent = [name for name in ("productcode", "name", "price", "idvatgroup") if body.get(name) in (None, "")]
    if absent:
        raise missing(*absent)
    code = str(body["productcode"])
    if state.product_by_code(code) is not None:
        raise invalid(f"Productcode {code} is already in use")
    if body["idvatgroup"] not in state.vatgroups:
        raise PicqerError(400, UNKNOWN_VATGROUP, "Unknown vatgroup")
    price, weight = body["price"], body.get("weight") or 0
    if isinstance(price, bool) or not isinstance(price, int | float) or not isinstance(weight, int):
        raise invalid("price must be a number and weight an integer")
    product = Product(
        idproduct=state.next_id("product"),
        productcode=code,
        name=str(body["name"]),
        price=float(price),
        idvatgroup=body["idvatgroup"],
        weight=weight,
        barcode=body.get("barcode"),
        description=body.get("description"),
        type=str(body.get("type") or "normal"),
    )
    state.add_product(product)
    return product


def find_products(state: PicqerState, query: Mapping[str, str]) -> list[Product]:
    if "productcode" in query:  # the index: at most one product has a code
        found = state.product_by_code(query["productcode"])
        products = [found] if found is not None else []
    else:
        products = sorted(state.products.values(), key=lambda p: p.idproduct)
    # Inactive products are hidden unless asked for (facts §6.2, pinelab's "inactive" flag).
    if "inactive" not in query:
        products = [p for p in products if p.active]
    if "productcode" in query:
        products = [p for p in products if p.productcode == query["productcode"]]
    if "idproducts" in query:
        wanted = {part.strip() for part in query["idproducts"].split(",")}
        products = [p for p in products if str(p.idproduct) in wanted]
    if query.get("search"):
        needle = query["search"].lower()
        products = [p for p in products if needle in p.productcode.lower() or needle in p.name.lower()]
    return products


def create_tag(state: PicqerState, body: dict[str, Any]) -> Tag:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise missing("title")
    color = body.get("color") or DEFAULT_TAG_COLOR
    if not isinstance(color, str) or not color.startswith("#") or len(color) != 7:
        raise invalid("color must be a hex colour like #2e7d32")
    tag = Tag(idtag=state.next_id("tag"), title=title, color=color, inherit=bool(body.get("inherit", False)))
    state.tags[tag.idtag] = tag
    return tag


def create_customer(state: PicqerState, body: dict[str, Any]) -> Customer:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise missing("name")
    raw_addresses = body.get("addresses") or []
    if not isinstance(raw_addresses, list):
        raise invalid("addresses must be a list")
    addresses = [_address(state, item) for item in raw_addresses]
    idcustomer = state.next_id("customer")
    customer = Customer(
        idcustomer=idcustomer,
        customerid=f"C{idcustomer}",
        name=name,
        contactname=body.get("contactname"),
        telephone=body.get("telephone"),
        emailaddress=body.get("emailaddress"),
        language=str(body.get("language") or "nl"),
        addresses=addresses,
    )
    state.customers[idcustomer] = customer
    return customer


def _address(state: PicqerState, item: Any) -> CustomerAddress:
    if not isinstance(item, dict) or not item.get("name") or not item.get("country"):
        raise missing("addresses.name", "addresses.country")
    fields = {part: item.get(part) for part in ADDRESS_PARTS}
    fields["country"] = country_code(item["country"], "country")
    return CustomerAddress(
        idcustomer_address=state.next_id("customer_address"),
        fields=fields,
        defaultinvoice=bool(item.get("defaultinvoice", False)),
        defaultdelivery=bool(item.get("defaultdelivery", False)),
    )


def find_customers(state: PicqerState, query: Mapping[str, str]) -> list[Customer]:
    customers = sorted(state.customers.values(), key=lambda c: c.idcustomer)
    if "customerid" in query:
        customers = [c for c in customers if c.customerid == query["customerid"]]
    if query.get("search"):
        needle = query["search"].lower()
        customers = [
            c
            for c in customers
            if any(
                needle in (value or "").lower()
                for value in (c.name, c.contactname, c.emailaddress, c.customerid)
            )
        ]
    return customers
