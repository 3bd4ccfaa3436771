"""Stock, an order's picklists and backorders, a picklist's shipments and products by code, answered
from indexes: the same as reading every record, kept in step as orders are processed, paused,
shipped, cancelled and reopened."""

from __future__ import annotations

from sandbox.picqer.models import OPEN_PICKLIST_STATUSES
from sandbox.picqer.simulator import PicqerSimulator
from sandbox.picqer.state import PicqerState
from tests.sandbox_picqer.conftest import IPOD_GREEN, IPOD_RED, MAIN, OVERFLOW, TEE, Api


def _scanned(state: PicqerState, idproduct: int, idwarehouse: int) -> tuple[int, int]:
    """Reserved by picklists and by backorders, by reading every record (what the indexes replace)."""
    picklists = sum(
        line.amount
        for picklist in state.picklists.values()
        if picklist.idwarehouse == idwarehouse and picklist.status in OPEN_PICKLIST_STATUSES
        for line in picklist.lines
        if line.idproduct == idproduct
    )
    backorders = sum(
        b.amount
        for b in state.backorders.values()
        if (b.idproduct, b.idwarehouse) == (idproduct, idwarehouse)
    )
    return picklists, backorders


def test_indexes_agree_with_reading_every_record(api: Api, sim: PicqerSimulator) -> None:
    orders = [
        api.processed_order(products=[{"idproduct": product, "amount": amount}])
        for product, amount in ((IPOD_GREEN, 1), (TEE, 2), (TEE, 4), (IPOD_RED, 1), (IPOD_GREEN, 2))
    ]
    ids = [order["idorder"] for order in orders]
    assert api.post(f"/orders/{ids[0]}/pause", {"reason": "hold"}).status_code == 200
    assert api.delete(f"/orders/{ids[1]}", params={"force": "true"}).status_code == 204
    picklists = api.get("/picklists", params={"idorder": ids[3]}).json()
    assert api.post(f"/picklists/{picklists[0]['idpicklist']}/shipments", {}).status_code == 201
    state = sim.state
    for idproduct in (IPOD_GREEN, IPOD_RED, TEE):
        for idwarehouse in (MAIN, OVERFLOW):
            row = api.stock(idproduct, idwarehouse)
            assert (row["reservedpicklists"], row["reservedbackorders"]) == _scanned(
                state, idproduct, idwarehouse
            )
    for idorder in ids:
        assert [p.idpicklist for p in state.order_picklists(idorder)] == [
            p.idpicklist for p in state.picklists.values() if p.idorder == idorder
        ]
        assert {b.idbackorder for b in state.order_backorders(idorder)} == {
            b.idbackorder for b in state.backorders.values() if b.idorder == idorder
        }
        listed = [p["idpicklist"] for p in api.get("/picklists", params={"idorder": idorder}).json()]
        assert listed == sorted(p.idpicklist for p in state.picklists.values() if p.idorder == idorder)
    shipments = api.get(f"/picklists/{picklists[0]['idpicklist']}/shipments").json()
    assert [s["idshipment"] for s in shipments] == [
        s.idshipment for s in state.shipments.values() if s.idpicklist == picklists[0]["idpicklist"]
    ]
    green = state.products[IPOD_GREEN]
    assert state.product_by_code(green.productcode) is green
    assert [
        p["idproduct"] for p in api.get("/products", params={"productcode": green.productcode}).json()
    ] == [IPOD_GREEN]
