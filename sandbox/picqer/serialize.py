"""JSON shapes exactly as Picqer's docs print them; every documented field present (null when unset)."""

from __future__ import annotations

from typing import Any

from sandbox.picqer.formats import picqer_time, printed_address, text_color
from sandbox.picqer.models import (
    Backorder,
    Customer,
    CustomerAddress,
    Hook,
    Note,
    Order,
    OrderField,
    OrderLine,
    Picklist,
    Product,
    Shipment,
    Tag,
    VatGroup,
    Warehouse,
)
from sandbox.picqer.state import PicqerState
from sandbox.picqer.stock import stock_rows


def order_json(state: PicqerState, order: Order) -> dict[str, Any]:
    fields = order.fields
    delivery = {key: fields[key] for key in fields if key.startswith("delivery")}
    invoice = {key: fields[key] for key in fields if key.startswith("invoice") and key != "invoiced"}
    return {
        "idorder": order.idorder,
        "idcustomer": fields["idcustomer"],
        "idtemplate": fields["idtemplate"],
        "idshippingprovider_profile": fields["idshippingprovider_profile"],
        "orderid": order.orderid,
        **delivery,
        "full_delivery_address": printed_address(fields, "delivery"),
        **invoice,
        "full_invoice_address": printed_address(fields, "invoice"),
        "telephone": fields["telephone"],
        "emailaddress": fields["emailaddress"],
        "reference": fields["reference"],
        "customer_remarks": fields["customer_remarks"],
        "pickup_point_data": fields["pickup_point_data"],
        "partialdelivery": fields["partialdelivery"],
        # Picqer's AutoSplit follows partial delivery for API orders.
        "auto_split": fields["partialdelivery"],
        "invoiced": fields["invoiced"],
        "preferred_delivery_date": fields["preferred_delivery_date"],
        "discount": fields["discount"],
        "calculatevat": fields["calculatevat"],
        "language": fields["language"],
        "status": order.status,
        "via_portal": fields["via_portal"],
        "idfulfilment_customer": fields["idfulfilment_customer"],
        "public_status_page": order.public_status_page,
        "created": picqer_time(order.created),
        "updated": picqer_time(order.updated),
        "warehouses": list(order.warehouses),
        "tags": {state.tags[i].title: tag_json(state.tags[i]) for i in order.tag_ids if i in state.tags},
        "products": [line_json(line) for line in order.lines],
        "orderfields": orderfield_values_json(state, order),
        "pricelists": [],
        "picklists": [
            picklist_json(state, p, with_products=False) for p in state.order_picklists(order.idorder)
        ],
    }


def line_json(line: OrderLine) -> dict[str, Any]:
    return {
        "idorder_product": line.idorder_product,
        "idproduct": line.idproduct,
        "idvatgroup": line.idvatgroup,
        "productcode": line.productcode,
        "name": line.name,
        "remarks": line.remarks,
        "price": line.price,
        "amount": line.amount,
        "amount_cancelled": line.amount_cancelled,
        "weight": line.weight,
        "partof_idorder_product": None,
        "has_parts": False,
    }


def orderfield_values_json(state: PicqerState, order: Order) -> list[dict[str, Any]]:
    return [
        {"idorderfield": idorderfield, "title": state.orderfields[idorderfield].title, "value": value}
        for idorderfield, value in order.orderfield_values.items()
        if idorderfield in state.orderfields
    ]


def picklist_json(state: PicqerState, picklist: Picklist, *, with_products: bool = True) -> dict[str, Any]:
    order = state.orders[picklist.idorder]
    fields = order.fields
    body: dict[str, Any] = {
        "idpicklist": picklist.idpicklist,
        "picklistid": picklist.picklistid,
        "idcustomer": fields["idcustomer"],
        "idorder": picklist.idorder,
        "idreturn": None,
        "idwarehouse": picklist.idwarehouse,
        "idtemplate": fields["idtemplate"],
        "idpicklist_batch": None,
        "idshippingprovider_profile": fields["idshippingprovider_profile"],
        "deliveryname": fields["deliveryname"],
        "deliverycontact": fields["deliverycontactname"],
        "deliveryaddress": fields["deliveryaddress"],
        "deliveryaddress2": fields["deliveryaddress2"],
        "deliveryzipcode": fields["deliveryzipcode"],
        "deliverycity": fields["deliverycity"],
        "deliveryregion": fields["deliveryregion"],
        "deliverycountry": fields["deliverycountry"],
        "telephone": fields["telephone"],
        "emailaddress": fields["emailaddress"],
        "reference": fields["reference"],
        "assigned_to_iduser": None,
        "invoiced": fields["invoiced"],
        "urgent": picklist.urgent,
        "preferred_delivery_date": fields["preferred_delivery_date"],
        "status": picklist.status,
        "totalproducts": sum(line.amount for line in picklist.lines),
        "totalpicked": sum(line.amount_picked for line in picklist.lines),
        "snoozed_until": None,
        "closed_by_iduser": None,
        "closed_at": picqer_time(picklist.closed_at) if picklist.closed_at else None,
        "created": picqer_time(picklist.created),
        "updated": picqer_time(picklist.updated),
        "idfulfilment_customer": fields["idfulfilment_customer"],
        "comment_count": 0,
    }
    if with_products:
        body["products"] = [
            {
                "idpicklist_product": line.idpicklist_product,
                "idproduct": line.idproduct,
                "idorder_product": line.idorder_product,
                "productcode": line.productcode,
                "name": line.name,
                "amount": line.amount,
                "amount_picked": line.amount_picked,
            }
            for line in picklist.lines
        ]
        body["tags"] = []  # an array on picklists since 2 Oct 2025
    return body


def shipment_json(shipment: Shipment) -> dict[str, Any]:
    return {
        "idshipment": shipment.idshipment,
        "idpicklist": shipment.idpicklist,
        "idorder": shipment.idorder,
        "idreturn": None,
        "idcompany_shippingprovider": None,
        "provider": shipment.provider,
        "providername": shipment.provider,
        "public_providername": shipment.provider,
        "profile_name": f"{shipment.provider} standard",
        "carrier_key": shipment.provider.lower(),
        "trackingcode": shipment.trackingcode,
        "trackingurl": shipment.trackingurl,
        "tracktraceurl": shipment.trackingurl,
        "labelurl_pdf": None,
        "labelurl_zpl": None,
        "weight": shipment.weight,
        "cancelled": False,
        "created": picqer_time(shipment.created),
        "updated": picqer_time(shipment.created),
    }


def product_json(state: PicqerState, product: Product) -> dict[str, Any]:
    return {
        "idproduct": product.idproduct,
        "idvatgroup": product.idvatgroup,
        "name": product.name,
        "price": product.price,
        "fixedstockprice": 0,
        "idsupplier": None,
        "productcode": product.productcode,
        "productcode_supplier": None,
        "deliverytime": None,
        "description": product.description,
        "barcode": product.barcode,
        "type": product.type,
        "unlimitedstock": False,
        "weight": product.weight,
        "length": None,
        "width": None,
        "height": None,
        "minimum_purchase_quantity": 0,
        "purchase_in_quantities_of": 0,
        "hs_code": None,
        "country_of_origin": None,
        "active": product.active,
        "productfields": [],
        "images": [],
        "stock": stock_rows(state, product),
    }


def tag_json(tag: Tag) -> dict[str, Any]:
    return {
        "idtag": tag.idtag,
        "title": tag.title,
        "color": tag.color,
        "inherit": tag.inherit,
        "textColor": text_color(tag.color),
    }


def address_json(address: CustomerAddress) -> dict[str, Any]:
    return {
        "idcustomer_address": address.idcustomer_address,
        **address.fields,
        "defaultinvoice": address.defaultinvoice,
        "defaultdelivery": address.defaultdelivery,
    }


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        "idcustomer": customer.idcustomer,
        "idtemplate": None,
        "customerid": customer.customerid,
        "name": customer.name,
        "contactname": customer.contactname,
        "telephone": customer.telephone,
        "emailaddress": customer.emailaddress,
        "discount": 0,
        "vatnumber": None,
        "calculatevat": True,
        "remarks": None,
        "default_order_remarks": None,
        "language": customer.language,
        "auto_split": True,
        "idfulfilment_customer": None,
        "addresses": [address_json(a) for a in customer.addresses],
    }


def warehouse_json(warehouse: Warehouse) -> dict[str, Any]:
    return {
        "idwarehouse": warehouse.idwarehouse,
        "name": warehouse.name,
        "accept_orders": warehouse.accept_orders,
        "counts_for_general_stock": warehouse.counts_for_general_stock,
        "priority": warehouse.priority,
        "active": warehouse.active,
    }


def vatgroup_json(vatgroup: VatGroup) -> dict[str, Any]:
    return {"idvatgroup": vatgroup.idvatgroup, "name": vatgroup.name, "percentage": vatgroup.percentage}


def orderfield_json(orderfield: OrderField) -> dict[str, Any]:
    return {
        "idorderfield": orderfield.idorderfield,
        "title": orderfield.title,
        "type": orderfield.type,
        "required": orderfield.required,
        "visible_portal": False,
        "edit_portal": False,
        "archived": False,
    }


def note_json(note: Note) -> dict[str, Any]:
    return {
        "idorder_log": note.idorder_log,
        "iduser": None,
        "idorder": note.idorder,
        "idpicklist": 0,
        "type": "note",
        "action": None,
        "description": note.description,
        "details": None,
        "created_at": picqer_time(note.created_at),
    }


def backorder_json(state: PicqerState, backorder: Backorder) -> dict[str, Any]:
    order = state.orders[backorder.idorder]
    return {
        "idbackorder": backorder.idbackorder,
        "idorder": backorder.idorder,
        "idorder_product": backorder.idorder_product,
        "idproduct": backorder.idproduct,
        "idcustomer": order.fields["idcustomer"],
        "idwarehouse": backorder.idwarehouse,
        "amount": backorder.amount,
        "priority": backorder.priority,
        "created_at": picqer_time(backorder.created_at),
    }


def hook_json(hook: Hook) -> dict[str, Any]:
    # Picqer answers whether a secret is set, never the secret itself.
    return {
        "idhook": hook.idhook,
        "name": hook.name,
        "event": hook.event,
        "address": hook.address,
        "active": hook.active,
        "secret": hook.secret is not None,
    }
