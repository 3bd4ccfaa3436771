"""Offset pages of 100: lazy, stop on a short page, one extra request on an exact multiple."""

from __future__ import annotations

import httpx
import pytest

from adapters.picqer.client import PicqerClient
from adapters.source import PaginationLoopError
from tests.picqer_client.conftest import FakePicqer


def orders(start: int, count: int) -> list[dict[str, object]]:
    return [{"idorder": start + n, "orderid": str(start + n)} for n in range(count)]


def offsets(picqer: FakePicqer) -> list[str]:
    return [request.url.params["offset"] for request in picqer.requests]


def test_pages_until_a_short_page(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(200, orders(0, 100)).answer(200, orders(100, 100)).answer(200, orders(200, 37))

    found = list(client.iter_orders(status="processing"))

    assert [order.idorder for order in found] == list(range(237))
    assert offsets(picqer) == ["0", "100", "200"]
    assert all(request.url.params["status"] == "processing" for request in picqer.requests)


def test_exact_multiple_of_100_costs_one_extra_empty_request(
    client: PicqerClient, picqer: FakePicqer
) -> None:
    picqer.answer(200, orders(0, 100)).answer(200, orders(100, 100)).answer(200, [])

    assert len(list(client.iter_orders())) == 200
    assert offsets(picqer) == ["0", "100", "200"]


def test_iterator_is_lazy(client: PicqerClient, picqer: FakePicqer) -> None:
    picqer.answer(200, orders(0, 100)).answer(200, orders(100, 5))

    iterator = client.iter_orders()
    assert picqer.requests == []  # nothing sent before the first row is asked for

    first = next(iterator)
    assert first.idorder == 0
    assert offsets(picqer) == ["0"]

    for _ in range(99):
        next(iterator)
    assert offsets(picqer) == ["0"]  # the second page only when the first is used up
    next(iterator)
    assert offsets(picqer) == ["0", "100"]


def test_row_shifted_onto_next_page_is_yielded_once(client: PicqerClient, picqer: FakePicqer) -> None:
    # a new order at the front pushes row 99 onto the second page
    picqer.answer(200, orders(0, 100)).answer(200, orders(99, 3))
    ids = [order.idorder for order in client.iter_orders()]
    assert ids == list(range(102))


def test_server_ignoring_offset_raises_instead_of_looping(client: PicqerClient, picqer: FakePicqer) -> None:
    for _ in range(3):
        picqer.answer(200, orders(0, 100))
    with pytest.raises(PaginationLoopError):
        list(client.iter_orders())
    assert len(picqer.requests) == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("iter_tags", "/api/v1/tags"),
        ("iter_hooks", "/api/v1/hooks"),
        ("iter_warehouses", "/api/v1/warehouses"),
        ("iter_picklists", "/api/v1/picklists"),
    ],
)
def test_other_listings_page_the_same_way(
    method: str, path: str, client: PicqerClient, picqer: FakePicqer
) -> None:
    key = {"iter_tags": "idtag", "iter_hooks": "idhook", "iter_warehouses": "idwarehouse"}.get(
        method, "idpicklist"
    )
    picqer.answer(200, [{key: n, "title": f"t{n}"} for n in range(100)]).answer(
        200, [{key: 100, "title": "x"}]
    )

    rows = list(getattr(client, method)())

    assert len(rows) == 101
    assert [request.url.path for request in picqer.requests] == [path, path]
    assert offsets(picqer) == ["0", "100"]


def test_error_on_a_later_page_surfaces_after_earlier_rows(client: PicqerClient, picqer: FakePicqer) -> None:
    from worker.errors import TransientError

    picqer.answer(200, orders(0, 100)).answer(503, {"error": True, "error_code": 1, "error_message": "down"})
    iterator = client.iter_orders()
    seen = [next(iterator).idorder for _ in range(100)]  # the first page is delivered in full
    with pytest.raises(TransientError):
        next(iterator)
    assert seen == list(range(100))


def test_mock_transport_is_the_only_network(picqer: FakePicqer) -> None:
    # guard for the fixture itself: the client really goes through the injected transport
    picqer.answer(200, orders(0, 1))
    with PicqerClient(
        "https://nowhere.invalid/api/v1/", "k", transport=httpx.MockTransport(picqer.handle)
    ) as c:
        assert [o.idorder for o in c.iter_orders()] == [0]
