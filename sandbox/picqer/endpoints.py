"""Every Picqer endpoint the sandbox serves: parse the request, apply the rule, answer Picqer's JSON.

Handlers run with the state lock held (see ``api.py``).
"""

from __future__ import annotations

from sandbox.picqer import catalog, fulfilment, lifecycle, orders
from sandbox.picqer.errors import not_found, wrong_status
from sandbox.picqer.hooks import create_hook, reactivate_hook
from sandbox.picqer.models import CONCEPT, EXPECTED, OPEN_PICKLIST_STATUSES, PICKLIST_CLOSED
from sandbox.picqer.queries import filter_orders, filter_picklists
from sandbox.picqer.routing import ApiRequest, Reply, RouteTable
from sandbox.picqer.serialize import (
    backorder_json,
    customer_json,
    hook_json,
    line_json,
    note_json,
    order_json,
    orderfield_json,
    orderfield_values_json,
    picklist_json,
    product_json,
    shipment_json,
    tag_json,
    vatgroup_json,
    warehouse_json,
)
from sandbox.picqer.state import PicqerState
from sandbox.picqer.stock import change_stock, stock_row, stock_rows

routes = RouteTable()
NO_CONTENT: Reply = (204, None)


# Orders ------------------------------------------------------------------------------------------


@routes.add("GET", "/orders")
def list_orders(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [order_json(state, o) for o in req.page(filter_orders(state, req.query))]


@routes.add("POST", "/orders")
def create_order(state: PicqerState, req: ApiRequest) -> Reply:
    return 201, order_json(state, orders.create_order(state, req.object_body()))


@routes.add("GET", "/orders/{idorder}")
def get_order(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, order_json(state, state.order(req.id("idorder")))


@routes.add("PUT", "/orders/{idorder}")
def update_order(state: PicqerState, req: ApiRequest) -> Reply:
    order = state.order(req.id("idorder"))
    orders.update_order(state, order, req.object_body())
    return 200, order_json(state, order)


@routes.add("DELETE", "/orders/{idorder}")
def cancel_order(state: PicqerState, req: ApiRequest) -> Reply:
    # picqer-php sends cancel parameters as a JSON body, so ``force`` is read from both places.
    force = req.flag("force") or bool(req.object_body().get("force"))
    lifecycle.cancel(state, state.order(req.id("idorder")), force=force)
    return NO_CONTENT


def _order_action(name: str, action: lifecycle.OrderAction) -> None:
    @routes.add("POST", f"/orders/{{idorder}}/{name}")
    def handler(state: PicqerState, req: ApiRequest) -> Reply:
        order = state.order(req.id("idorder"))
        action(state, order)
        return 200, order_json(state, order)


@routes.add("POST", "/orders/{idorder}/process")
def process_order(state: PicqerState, req: ApiRequest) -> Reply:
    # The Orders doc: "The processing itself will take place in the background after you received
    # the response. This is why you still see the status 'concept' in the response." The sandbox
    # processes at once (a GET shows it), but answers as Picqer does: the order as it was, re-stamped.
    order = state.order(req.id("idorder"))
    before = order_json(state, order)
    lifecycle.process(state, order)
    return 200, {**before, "updated": order_json(state, order)["updated"]}


_order_action("resume", lifecycle.resume)
_order_action("reopen", lifecycle.reopen)
_order_action("undo-cancellation", lifecycle.undo_cancellation)
_order_action("allocate", lifecycle.allocate)
_order_action("deallocate", lifecycle.deallocate)
_order_action("prioritise", lifecycle.prioritise)
_order_action("anonymize", lifecycle.anonymize)
# prefer_bulk_locations is accepted; the sandbox has no locations to prefer.
_order_action("process-backorders", lifecycle.process_backorders)


@routes.add("POST", "/orders/{idorder}/pause")
def pause_order(state: PicqerState, req: ApiRequest) -> Reply:
    order = state.order(req.id("idorder"))
    lifecycle.pause(state, order, req.object_body().get("reason"))
    return 200, order_json(state, order)


@routes.add("POST", "/orders/{idorder}/change-to-concept")
def change_to_concept(state: PicqerState, req: ApiRequest) -> Reply:
    order = state.order(req.id("idorder"))
    if order.status != EXPECTED:
        raise wrong_status("Only orders with status 'expected' can be changed to concept")
    lifecycle.set_status(state, order, CONCEPT)
    return 200, order_json(state, order)


@routes.add("GET", "/orders/{idorder}/productstatus")
def product_status(state: PicqerState, req: ApiRequest) -> Reply:
    order = state.order(req.id("idorder"))
    rows = []
    for line in order.lines:
        picklist_lines = [
            (picklist.status, pl.amount)
            for picklist in state.order_picklists(order.idorder)
            for pl in picklist.lines
            if pl.idorder_product == line.idorder_product
        ]
        rows.append(
            {
                "idorder_product": line.idorder_product,
                "idproduct": line.idproduct,
                "productcode": line.productcode,
                "name": line.name,
                "amount": line.amount,
                "delivered": sum(amount for status, amount in picklist_lines if status == PICKLIST_CLOSED),
                "backorder": sum(
                    b.amount
                    for b in state.order_backorders(order.idorder)
                    if b.idorder_product == line.idorder_product
                ),
                "picklist": sum(
                    amount for status, amount in picklist_lines if status in OPEN_PICKLIST_STATUSES
                ),
                "allocated": sum(
                    a.amount
                    for a in state.order_allocations(order.idorder)
                    if a.idorder_product == line.idorder_product
                ),
            }
        )
    return 200, {"products": rows}


@routes.add("GET", "/orders/{idorder}/notes")
def list_notes(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [note_json(n) for n in req.page(state.order(req.id("idorder")).notes)]


@routes.add("POST", "/orders/{idorder}/notes")
def add_note(state: PicqerState, req: ApiRequest) -> Reply:
    order = state.order(req.id("idorder"))
    note = orders.add_note(state, order, req.object_body())
    state.emit("orders.notes.created", "order", order.idorder)
    return 200, note_json(note)


@routes.add("GET", "/orders/{idorder}/tags")
def list_order_tags(state: PicqerState, req: ApiRequest) -> Reply:
    order = state.order(req.id("idorder"))
    return 200, [tag_json(state.tags[i]) for i in req.page(order.tag_ids) if i in state.tags]


@routes.add("POST", "/orders/{idorder}/tags")
def add_order_tag(state: PicqerState, req: ApiRequest) -> Reply:
    return 201, tag_json(orders.add_tag(state, state.order(req.id("idorder")), req.object_body()))


@routes.add("DELETE", "/orders/{idorder}/tags/{idtag}")
def remove_order_tag(state: PicqerState, req: ApiRequest) -> Reply:
    orders.remove_tag(state, state.order(req.id("idorder")), req.id("idtag"))
    return NO_CONTENT


@routes.add("GET", "/orders/{idorder}/products")
def list_order_products(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [line_json(line) for line in state.order(req.id("idorder")).lines]


@routes.add("POST", "/orders/{idorder}/products")
def add_order_product(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, line_json(orders.add_line(state, state.order(req.id("idorder")), req.object_body()))


@routes.add("PUT", "/orders/{idorder}/products/{idorder_product}")
def update_order_product(state: PicqerState, req: ApiRequest) -> Reply:
    order = state.order(req.id("idorder"))
    line = orders.order_line(order, req.id("idorder_product"))
    orders.update_line(state, order, line, req.object_body())
    return 200, line_json(line)


@routes.add("DELETE", "/orders/{idorder}/products/{idorder_product}")
def delete_order_product(state: PicqerState, req: ApiRequest) -> Reply:
    order = state.order(req.id("idorder"))
    orders.delete_line(state, order, orders.order_line(order, req.id("idorder_product")))
    return NO_CONTENT


@routes.add("GET", "/orders/{idorder}/orderfields")
def list_order_orderfields(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, orderfield_values_json(state, state.order(req.id("idorder")))


@routes.add("PUT", "/orders/{idorder}/orderfields/{idorderfield}")
def set_order_orderfield(state: PicqerState, req: ApiRequest) -> Reply:
    order, idorderfield = state.order(req.id("idorder")), req.id("idorderfield")
    orders.set_orderfield(state, order, idorderfield, req.object_body())
    value = order.orderfield_values.get(idorderfield)
    return 200, {"idorderfield": idorderfield, "title": state.orderfields[idorderfield].title, "value": value}


@routes.add("DELETE", "/orders/{idorder}/orderfields/{idorderfield}")
def delete_order_orderfield(state: PicqerState, req: ApiRequest) -> Reply:
    orders.delete_orderfield(state, state.order(req.id("idorder")), req.id("idorderfield"))
    return NO_CONTENT


@routes.add("GET", "/orders/{idorder}/backorders")
def list_order_backorders(state: PicqerState, req: ApiRequest) -> Reply:
    rows = state.order_backorders(state.order(req.id("idorder")).idorder)
    return 200, [backorder_json(state, b) for b in req.page(rows)]


# Backorders, picklists, shipments ----------------------------------------------------------------


@routes.add("GET", "/backorders")
def list_backorders(state: PicqerState, req: ApiRequest) -> Reply:
    idorder = req.int_query("idorder")
    # an order's backorders from its index; otherwise every one (a short list: what waits for stock)
    rows = state.order_backorders(idorder) if idorder is not None else list(state.backorders.values())
    rows.sort(key=lambda b: b.idbackorder)
    for name in ("idorder", "idproduct"):
        wanted = req.int_query(name)
        if wanted is not None:
            rows = [b for b in rows if getattr(b, name) == wanted]
    return 200, [backorder_json(state, b) for b in req.page(rows)]


@routes.add("POST", "/backorders/process")
def process_all_backorders(state: PicqerState, req: ApiRequest) -> Reply:
    lifecycle.process_all_backorders(state)
    return 200, {"success": True}


@routes.add("GET", "/picklists")
def list_picklists(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [picklist_json(state, p) for p in req.page(filter_picklists(state, req.query))]


@routes.add("GET", "/picklists/{idpicklist}")
def get_picklist(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, picklist_json(state, state.picklist(req.id("idpicklist")))


@routes.add("POST", "/picklists/{idpicklist}/close")
def close_picklist(state: PicqerState, req: ApiRequest) -> Reply:
    picklist = state.picklist(req.id("idpicklist"))
    fulfilment.close_picklist(state, picklist)
    return 200, picklist_json(state, picklist)


@routes.add("GET", "/picklists/{idpicklist}/shipments")
def list_shipments(state: PicqerState, req: ApiRequest) -> Reply:
    idpicklist = state.picklist(req.id("idpicklist")).idpicklist
    rows = sorted(state.picklist_shipments(idpicklist), key=lambda s: s.idshipment)
    return 200, [shipment_json(s) for s in rows]


@routes.add("POST", "/picklists/{idpicklist}/shipments")
def create_shipment(state: PicqerState, req: ApiRequest) -> Reply:
    picklist = state.picklist(req.id("idpicklist"))
    return 201, shipment_json(fulfilment.create_shipment(state, picklist, req.object_body()))


# Products and stock ------------------------------------------------------------------------------


@routes.add("GET", "/products")
def list_products(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [product_json(state, p) for p in req.page(catalog.find_products(state, req.query))]


@routes.add("POST", "/products")
def create_product(state: PicqerState, req: ApiRequest) -> Reply:
    return 201, product_json(state, catalog.create_product(state, req.object_body()))


@routes.add("GET", "/products/{idproduct}")
def get_product(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, product_json(state, state.product(req.id("idproduct")))


@routes.add("GET", "/products/{idproduct}/stock")
def get_product_stock(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, stock_rows(state, state.product(req.id("idproduct")))


@routes.add("GET", "/products/{idproduct}/stock/{idwarehouse}")
def get_product_stock_in_warehouse(state: PicqerState, req: ApiRequest) -> Reply:
    product, warehouse = state.product(req.id("idproduct")), state.warehouse(req.id("idwarehouse"))
    return 200, stock_row(state, product, warehouse.idwarehouse)


@routes.add("POST", "/products/{idproduct}/stock/{idwarehouse}")
def change_product_stock(state: PicqerState, req: ApiRequest) -> Reply:
    product, idwarehouse = state.product(req.id("idproduct")), req.id("idwarehouse")
    change_stock(state, product, idwarehouse, req.object_body())
    return 200, stock_row(state, product, idwarehouse)


@routes.add("GET", "/vatgroups")
def list_vatgroups(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [
        vatgroup_json(v) for v in req.page(sorted(state.vatgroups.values(), key=lambda v: v.idvatgroup))
    ]


@routes.add("GET", "/warehouses")
def list_warehouses(state: PicqerState, req: ApiRequest) -> Reply:
    rows = sorted(state.warehouses.values(), key=lambda w: w.idwarehouse)
    return 200, [warehouse_json(w) for w in req.page(rows)]


@routes.add("GET", "/warehouses/{idwarehouse}")
def get_warehouse(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, warehouse_json(state.warehouse(req.id("idwarehouse")))


@routes.add("GET", "/warehouses/{idwarehouse}/stock")
def get_warehouse_stock(state: PicqerState, req: ApiRequest) -> Reply:
    idwarehouse = state.warehouse(req.id("idwarehouse")).idwarehouse
    products = sorted(state.products.values(), key=lambda p: p.idproduct)
    rows = [
        {"idproduct": p.idproduct, "productcode": p.productcode, "stock": stock_row(state, p, idwarehouse)}
        for p in req.page(products)
    ]
    return 200, rows


@routes.add("GET", "/orderfields")
def list_orderfields(state: PicqerState, req: ApiRequest) -> Reply:
    rows = sorted(state.orderfields.values(), key=lambda f: f.idorderfield)
    return 200, [orderfield_json(f) for f in req.page(rows)]


@routes.add("GET", "/orderfields/{idorderfield}")
def get_orderfield(state: PicqerState, req: ApiRequest) -> Reply:
    idorderfield = req.id("idorderfield")
    if idorderfield not in state.orderfields:
        raise not_found("Orderfield")
    return 200, orderfield_json(state.orderfields[idorderfield])


# Tags and customers ------------------------------------------------------------------------------


@routes.add("GET", "/tags")
def list_tags(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [tag_json(t) for t in req.page(sorted(state.tags.values(), key=lambda t: t.idtag))]


@routes.add("POST", "/tags")
def create_tag(state: PicqerState, req: ApiRequest) -> Reply:
    return 201, tag_json(catalog.create_tag(state, req.object_body()))


@routes.add("GET", "/tags/{idtag}")
def get_tag(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, tag_json(state.tag(req.id("idtag")))


@routes.add("DELETE", "/tags/{idtag}")
def delete_tag(state: PicqerState, req: ApiRequest) -> Reply:
    tag = state.tag(req.id("idtag"))
    del state.tags[tag.idtag]
    for order in state.orders.values():
        if tag.idtag in order.tag_ids:
            order.tag_ids.remove(tag.idtag)
    return NO_CONTENT


@routes.add("GET", "/customers")
def list_customers(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [customer_json(c) for c in req.page(catalog.find_customers(state, req.query))]


@routes.add("POST", "/customers")
def create_customer(state: PicqerState, req: ApiRequest) -> Reply:
    return 201, customer_json(catalog.create_customer(state, req.object_body()))


@routes.add("GET", "/customers/{idcustomer}")
def get_customer(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, customer_json(state.customer(req.id("idcustomer")))


# Hooks -------------------------------------------------------------------------------------------


@routes.add("GET", "/hooks")
def list_hooks(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, [hook_json(h) for h in req.page(sorted(state.hooks.values(), key=lambda h: h.idhook))]


@routes.add("POST", "/hooks")
def add_hook(state: PicqerState, req: ApiRequest) -> Reply:
    return 201, hook_json(create_hook(state, req.object_body()))


@routes.add("GET", "/hooks/{idhook}")
def get_hook(state: PicqerState, req: ApiRequest) -> Reply:
    return 200, hook_json(state.hook(req.id("idhook")))


@routes.add("DELETE", "/hooks/{idhook}")
def delete_hook(state: PicqerState, req: ApiRequest) -> Reply:
    # Deleting deactivates (facts §5.1); the hook stays listed with active=false.
    state.hook(req.id("idhook")).active = False
    return NO_CONTENT


@routes.add("POST", "/hooks/{idhook}/reactivate")
def reactivate(state: PicqerState, req: ApiRequest) -> Reply:
    hook = state.hook(req.id("idhook"))
    reactivate_hook(state, hook)
    return 200, hook_json(hook)
