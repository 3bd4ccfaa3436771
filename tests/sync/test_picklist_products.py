"""An order shipped in parts: each shipment learns its picklist's products, so the shop can be told
which lines each parcel holds (one fulfilment per picklist); an order shipped whole costs no request."""

from __future__ import annotations

import json

import httpx

from adapters.picqer.client import PicqerClient
from adapters.platform import Tracking
from worker.sync.fulfilment import FulfilmentTask, with_picklist_products

PICKLISTS = {
    501: [{"productcode": "SKU-1", "amount": 2}, {"productcode": "SKU-2", "amount": 1}],
    502: [
        {"productcode": "SKU-3", "amount": 1},
        {"productcode": None, "amount": 1},
        {"productcode": "X", "amount": 0},
    ],
}


def picqer(requests: list[str]) -> PicqerClient:
    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        idpicklist = int(request.url.path.rsplit("/", 1)[-1])
        body = {"idpicklist": idpicklist, "status": "closed", "products": PICKLISTS[idpicklist]}
        return httpx.Response(200, content=json.dumps(body), headers={"Content-Type": "application/json"})

    return PicqerClient("https://example.picqer.com/api/v1/", "key", transport=httpx.MockTransport(answer))


def task(*shipments: Tracking) -> FulfilmentTask:
    return FulfilmentTask(
        order_id=1,
        source="shop-nl",
        shop_order_id="9",
        shop_order_number="#1001",
        reference="#1001",
        idorder=10001,
        completed_at=None,
        shipments=shipments,
    )


def test_each_part_gets_its_picklists_products() -> None:
    requests: list[str] = []
    first = Tracking("3S-A", idpicklist=501)
    second = Tracking("3S-B", idpicklist=502)
    untracked = Tracking(None, idpicklist=503)

    result = with_picklist_products(picqer(requests), task(first, second, untracked))

    assert [item.products for item in result.shipments] == [
        (("SKU-1", 2), ("SKU-2", 1)),
        (("SKU-3", 1),),  # lines without a product code or an amount are no parcel content
        (),
    ]
    assert sorted(requests) == ["/api/v1/picklists/501", "/api/v1/picklists/502"]


def test_an_order_shipped_whole_needs_no_look_up() -> None:
    requests: list[str] = []
    whole = task(Tracking("3S-A", idpicklist=501), Tracking("3S-A2", idpicklist=501))

    assert with_picklist_products(picqer(requests), whole) == whole
    assert requests == []
