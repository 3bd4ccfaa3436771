"""Every client method once against the Picqer sandbox over a real socket: the real shapes parse."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from adapters.picqer.client import PicqerClient
from adapters.picqer.models import PicqerOrder
from adapters.picqer.webhooks import SIGNATURE_HEADER, parse_event, verify_signature
from sandbox.app import create_sandbox_app
from sandbox.clock import Clock
from tests.support.liveserver import serve
from worker.errors import ApiRejected

IN_STOCK = "IPOD2008GREEN"
ALSO_IN_STOCK = "Bar3"
SOLD_OUT = "SOLDOUT-HOODIE-L"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, Clock]]:
    clock = Clock()
    with serve(create_sandbox_app(rate_limit=None, seed=True, clock=clock)) as base:
        yield base, clock


@pytest.fixture
def client(sandbox: tuple[str, Clock]) -> Iterator[PicqerClient]:
    with PicqerClient(sandbox[0] + "/picqer/api/v1/", "key") as instance:
        yield instance


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def guest_order(
    client: PicqerClient, *, reference: str, productcode: str = IN_STOCK, amount: int = 1
) -> PicqerOrder:
    return client.create_order(
        {
            "idcustomer": None,
            "reference": reference,
            "deliveryname": "John Strijbos",
            "deliveryaddress": "Vrije Water 12",
            "deliveryzipcode": "3928 DM",
            "deliverycity": "Zeist",
            "deliverycountry": "NL",
            "invoicename": "John Strijbos",
            "invoiceaddress": "Vrije Water 12",
            "invoicezipcode": "3928 DM",
            "invoicecity": "Zeist",
            "invoicecountry": "NL",
            "products": [{"productcode": productcode, "amount": amount}],
        }
    )


def test_reference_data(client: PicqerClient) -> None:
    warehouses = list(client.iter_warehouses())
    assert [w.name for w in warehouses] == ["Main", "Overflow"]
    fields = client.list_orderfields()
    assert "Klantreferentie" in [f.title for f in fields]

    title = unique("sandbox-tag")
    created = client.create_tag(title, color="#123456")
    assert (created.title, created.color, created.inherit) == (title, "#123456", False)
    assert created.idtag in {tag.idtag for tag in client.iter_tags()}

    customers = client.search_customers("Triangle")
    assert customers
    assert customers[0].name == "Triangle B.V."
    assert customers[0].addresses


def test_products_and_stock(client: PicqerClient) -> None:
    product = client.get_product_by_code(IN_STOCK)
    assert product is not None
    assert product.productcode == IN_STOCK
    assert client.get_product_by_code(unique("missing")) is None
    assert client.get_product(product.idproduct).name == product.name

    main = next(w for w in client.iter_warehouses() if w.name == "Main")
    before = next(
        row for row in client.get_product_stock(product.idproduct) if row.idwarehouse == main.idwarehouse
    )
    assert before.stock is not None
    changed = client.change_product_stock(
        product.idproduct, main.idwarehouse, change=2, reason="sandbox test"
    )
    assert changed.stock == before.stock + 2
    restored = client.change_product_stock(
        product.idproduct, main.idwarehouse, amount=before.stock, reason="back"
    )
    assert restored.stock == before.stock

    code = unique("SANDBOX-SKU")
    new = client.create_product(
        {"productcode": code, "name": "Test", "price": 1.5, "idvatgroup": product.idvatgroup}
    )
    assert new.productcode == code
    assert client.get_product_by_code(code) is not None


def test_order_lifecycle_and_lookups(client: PicqerClient, sandbox: tuple[str, Clock]) -> None:
    reference = unique("shop")
    order = guest_order(client, reference=reference)
    assert order.status == "concept"
    assert order.orderid
    assert order.products[0].productcode == IN_STOCK

    assert client.get_order(order.idorder).reference == reference
    assert [o.idorder for o in client.find_orders_by_reference(reference)] == [order.idorder]
    assert [o.idorder for o in client.list_orders(reference=reference)] == [order.idorder]
    assert order.idorder in {o.idorder for o in client.iter_orders(status="concept")}

    updated = client.update_order(order.idorder, {"customer_remarks": "ring twice"})
    assert updated.customer_remarks == "ring twice"

    # lines
    line = client.add_order_product(order.idorder, {"productcode": ALSO_IN_STOCK, "amount": 1})
    assert line.idorder_product is not None
    assert {p.idorder_product for p in client.list_order_products(order.idorder)} >= {line.idorder_product}
    assert client.update_order_product(order.idorder, line.idorder_product, {"amount": 2}).amount == 2
    client.delete_order_product(order.idorder, line.idorder_product)
    assert line.idorder_product not in {p.idorder_product for p in client.list_order_products(order.idorder)}

    # order fields
    field = client.list_orderfields()[0]
    assert client.set_order_field(order.idorder, field.idorderfield, "PO-1").value == "PO-1"
    assert [(f.idorderfield, f.value) for f in client.list_order_fields(order.idorder)] == [
        (field.idorderfield, "PO-1")
    ]
    client.delete_order_field(order.idorder, field.idorderfield)
    assert client.list_order_fields(order.idorder) == []

    # tags (orders carry them as an object keyed by title)
    tag = client.create_tag(unique("order-tag"))
    assert client.add_order_tag(order.idorder, tag.idtag).idtag == tag.idtag
    assert tag.idtag in {t.idtag for t in client.list_order_tags(order.idorder)}
    assert tag.title in client.get_order(order.idorder).tag_titles
    client.remove_order_tag(order.idorder, tag.idtag)
    assert tag.idtag not in {t.idtag for t in client.list_order_tags(order.idorder)}

    # notes
    note = client.add_order_note(order.idorder, "handle with care")
    assert note.description == "handle with care"
    assert "handle with care" in [n.description for n in client.list_order_notes(order.idorder)]

    # allocation and status per line
    client.allocate_order(order.idorder)
    client.deallocate_order(order.idorder)
    statuses = client.get_product_status(order.idorder)
    assert [(s.productcode, s.amount) for s in statuses] == [(IN_STOCK, 1)]

    # process -> picklist -> pause/resume -> ship
    client.process_order(order.idorder)
    assert client.get_order(order.idorder).status == "processing"
    picklists = list(client.iter_picklists(idorder=order.idorder))
    assert [p.idorder for p in picklists] == [order.idorder]
    assert client.get_picklist(picklists[0].idpicklist).idpicklist == picklists[0].idpicklist
    assert client.pause_order(order.idorder, "address check").status == "paused"
    assert client.resume_order(order.idorder).status == "processing"
    base, clock = sandbox
    shipped = httpx.post(f"{base}/_sandbox/picqer/orders/{order.idorder}/ship", json={})
    assert shipped.status_code == 200, shipped.text
    shipments = client.list_picklist_shipments(picklists[0].idpicklist)
    assert shipments
    assert shipments[0].idpicklist == picklists[0].idpicklist

    # anonymize once the order is older than 7 days
    clock.advance(timedelta(days=8))
    try:
        assert client.anonymize_order(order.idorder).deliveryname == "Anonymous"
    finally:
        clock.reset()


def test_cancel_undo_force_reopen_and_backorders(client: PicqerClient, sandbox: tuple[str, Clock]) -> None:
    order = guest_order(client, reference=unique("cancel"))
    client.cancel_order(order.idorder)
    assert client.get_order(order.idorder).status == "cancelled"
    assert client.undo_cancellation(order.idorder).status == "concept"

    client.process_order(order.idorder)
    client.cancel_order(order.idorder, force=True)
    assert client.get_order(order.idorder).status == "cancelled"

    # a sold-out line becomes a backorder: processing without picklists can be reopened
    backordered = guest_order(client, reference=unique("backorder"), productcode=SOLD_OUT)
    client.process_order(backordered.idorder)
    assert client.get_product_status(backordered.idorder)[0].backorder == 1
    assert client.reopen_order(backordered.idorder).status == "concept"
    client.process_order(backordered.idorder)
    client.prioritise_order(backordered.idorder)
    product = client.get_product_by_code(SOLD_OUT)
    assert product is not None
    main = next(w for w in client.iter_warehouses() if w.name == "Main")
    client.change_product_stock(product.idproduct, main.idwarehouse, change=1, reason="arrived")
    client.process_backorders(backordered.idorder, prefer_bulk_locations=True)
    assert [p.idorder for p in client.iter_picklists(idorder=backordered.idorder)] == [backordered.idorder]


def test_hooks(client: PicqerClient) -> None:
    address = f"https://hooks.example/{uuid.uuid4().hex}"
    hook = client.create_hook(
        name="sandbox test", event="orders.status_changed", address=address, secret="s3"
    )
    assert (hook.event, hook.address, hook.active) == ("orders.status_changed", address, True)
    assert hook.idhook in {h.idhook for h in client.iter_hooks()}
    assert client.get_hook(hook.idhook).address == address
    client.delete_hook(hook.idhook)
    assert client.get_hook(hook.idhook).active is False
    assert client.reactivate_hook(hook.idhook).active is True


def test_errors_and_rate_limit_headers(client: PicqerClient) -> None:
    with pytest.raises(ApiRejected) as caught:
        client.get_order(987654321)
    assert caught.value.status == 404
    assert caught.value.error_code is not None
    assert caught.value.error_message
    client.get_order(guest_order(client, reference=unique("rl")).idorder)
    # rate limiting is off here; whatever the sandbox says, the state is read without failing
    assert client.rate_limit.limit is None or client.rate_limit.limit > 0


def test_sandbox_webhooks_verify_and_parse(client: PicqerClient, sandbox: tuple[str, Clock]) -> None:
    base, _ = sandbox
    address = "http://127.0.0.1:9/picqer-hook"  # nothing listens: the delivery is only logged
    secret = unique("secret")
    hooks = [
        client.create_hook(name="t", event=event, address=address, secret=secret)
        for event in ("orders.status_changed", "picklists.shipments.created")
    ]
    try:
        order = guest_order(client, reference=unique("hooked"))
        client.process_order(order.idorder)
        assert httpx.post(f"{base}/_sandbox/picqer/orders/{order.idorder}/ship", json={}).status_code == 200
        deliveries = httpx.get(f"{base}/_sandbox/picqer/webhooks").json()
    finally:
        for hook in hooks:
            client.delete_hook(hook.idhook)

    events = []
    for delivery in deliveries:
        raw = delivery["body"].encode()
        if delivery["url"] != address:
            continue
        assert verify_signature(raw, delivery["headers"].get(SIGNATURE_HEADER), secret)
        assert not verify_signature(raw, delivery["headers"].get(SIGNATURE_HEADER), "wrong")
        events.append(parse_event(raw))
    orders = [e.order() for e in events if e.event == "orders.status_changed"]
    assert any(o is not None and o.idorder == order.idorder and o.status == "processing" for o in orders)
    shipments = [e.shipment() for e in events if e.event == "picklists.shipments.created"]
    assert any(s is not None and s.idorder == order.idorder for s in shipments)
    assert len({e.event_key for e in events}) == len(events)
