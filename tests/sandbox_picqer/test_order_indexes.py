"""``GET /orders?reference=|orderid=|sinceid=`` answered from indexes: the same orders as reading
every one, kept in step when a reference changes, without reading the other orders."""

from __future__ import annotations

from typing import Any

from sandbox.picqer.models import Order
from sandbox.picqer.simulator import PicqerSimulator
from tests.sandbox_picqer.conftest import Api


def _ids(answer: Any) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [order["idorder"] for order in answer.json()]


def test_reference_orderid_and_sinceid_find_the_orders(api: Api) -> None:
    made = [api.create_order(reference=f"#10{index % 3}") for index in range(9)]
    by_reference = [order["idorder"] for order in made if order["reference"] == "#101"]
    assert _ids(api.get("/orders", params={"reference": "#101"})) == by_reference
    assert _ids(api.get("/orders", params={"reference": "#999"})) == []
    assert _ids(api.get("/orders", params={"orderid": made[4]["orderid"]})) == [made[4]["idorder"]]
    assert _ids(api.get("/orders", params={"orderid": made[4]["orderid"], "reference": "#100"})) == []
    assert _ids(api.get("/orders", params={"sinceid": made[5]["idorder"]})) == [
        order["idorder"] for order in made[6:]
    ]
    assert _ids(
        api.get("/orders", params={"sinceid": made[1]["idorder"], "beforeid": made[4]["idorder"]})
    ) == [
        made[2]["idorder"],
        made[3]["idorder"],
    ]


def test_a_changed_reference_is_found_by_its_new_value_only(api: Api) -> None:
    order = api.create_order(reference="OLD-1")
    assert api.put(f"/orders/{order['idorder']}", {"reference": "new-1"}).status_code == 200
    assert _ids(api.get("/orders", params={"reference": "OLD-1"})) == []
    assert _ids(api.get("/orders", params={"reference": "NEW-1"})) == [order["idorder"]]  # no case


def test_a_look_up_by_reference_reads_only_the_orders_with_it(
    api: Api, sim: PicqerSimulator, monkeypatch: Any
) -> None:
    for index in range(200):
        api.create_order(reference=f"bulk-{index}")
    wanted = api.create_order(reference="the-one")
    read: list[int] = []
    original = sim.state.orders

    class Counting(dict[int, Order]):
        def __getitem__(self, idorder: int) -> Order:
            read.append(idorder)
            return super().__getitem__(idorder)

        def values(self) -> Any:
            read.extend(self.keys())
            return super().values()

    monkeypatch.setattr(sim.state, "orders", Counting(original))
    assert _ids(api.get("/orders", params={"reference": "the-one"})) == [wanted["idorder"]]
    assert set(read) == {wanted["idorder"]}
