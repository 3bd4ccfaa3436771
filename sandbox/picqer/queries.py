"""The list filters of ``GET /orders`` (every one in the Orders doc) and ``GET /picklists``."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox.picqer.errors import invalid
from sandbox.picqer.formats import parse_filter_time
from sandbox.picqer.models import Order, Picklist
from sandbox.picqer.state import PicqerState


def _int(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise invalid(f"{name} must be an integer")
    return int(value)


def filter_orders(state: PicqerState, query: Mapping[str, str]) -> list[Order]:
    sinceid, beforeid = _int(query, "sinceid"), _int(query, "beforeid")
    idcustomer, idwarehouse = _int(query, "idcustomer"), _int(query, "idwarehouse")
    # the indexes narrow the candidates; every filter below still runs over them
    orders = state.order_candidates(
        reference=query.get("reference"), orderid=query.get("orderid"), sinceid=sinceid, beforeid=beforeid
    )
    if sinceid is not None:
        orders = [o for o in orders if o.idorder > sinceid]
    if beforeid is not None:
        orders = [o for o in orders if o.idorder < beforeid]
    if query.get("sincedate"):
        since = parse_filter_time(query["sincedate"], "sincedate")
        orders = [o for o in orders if o.created >= since]
    if query.get("untildate"):
        until = parse_filter_time(query["untildate"], "untildate")
        orders = [o for o in orders if o.created <= until]
    for name in ("reference", "emailaddress"):
        if name in query:
            orders = [o for o in orders if (o.fields[name] or "").lower() == query[name].lower()]
    if "orderid" in query:
        orders = [o for o in orders if o.orderid == query["orderid"]]
    if query.get("status"):
        orders = [o for o in orders if o.status == query["status"]]
    if idcustomer is not None:
        orders = [o for o in orders if o.fields["idcustomer"] == idcustomer]
    if idwarehouse is not None:
        orders = [o for o in orders if idwarehouse in o.warehouses]
    if query.get("tag"):
        orders = [o for o in orders if _has_tag(state, o, query["tag"])]
    if query.get("search"):
        needle = query["search"].lower()
        orders = [o for o in orders if _matches_search(o, needle)]
    return orders


def _has_tag(state: PicqerState, order: Order, tag: str) -> bool:
    """The tag filter takes an idtag or a title."""
    return any(
        str(idtag) == tag or state.tags[idtag].title == tag for idtag in order.tag_ids if idtag in state.tags
    )


def _matches_search(order: Order, needle: str) -> bool:
    """Doc: "Search through the fields orderid, reference, customer name and customer contact name"."""
    haystack = (
        order.orderid,
        order.fields["reference"],
        order.fields["deliveryname"],
        order.fields["deliverycontactname"],
        order.fields["invoicename"],
        order.fields["invoicecontactname"],
    )
    return any(needle in (value or "").lower() for value in haystack)


def filter_picklists(state: PicqerState, query: Mapping[str, str]) -> list[Picklist]:
    idorder, sinceid, beforeid = _int(query, "idorder"), _int(query, "sinceid"), _int(query, "beforeid")
    idwarehouse = _int(query, "idwarehouse")
    # the indexes narrow the candidates; every filter below still runs over them
    picklists = state.picklist_candidates(idorder=idorder, sinceid=sinceid, beforeid=beforeid)
    if idorder is not None:
        picklists = [p for p in picklists if p.idorder == idorder]
    if sinceid is not None:
        picklists = [p for p in picklists if p.idpicklist > sinceid]
    if beforeid is not None:
        picklists = [p for p in picklists if p.idpicklist < beforeid]
    if idwarehouse is not None:
        picklists = [p for p in picklists if p.idwarehouse == idwarehouse]
    if query.get("status"):
        picklists = [p for p in picklists if p.status == query["status"]]
    if "picklistid" in query:
        picklists = [p for p in picklists if p.picklistid == query["picklistid"]]
    return picklists
