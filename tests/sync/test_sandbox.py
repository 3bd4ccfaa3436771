"""push_order against the full Picqer simulator, over a real socket: request counts and faults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.picqer.client import PicqerClient
from sandbox.app import create_sandbox_app
from tests.support.liveserver import serve
from tests.sync.conftest import make_settings, mapped_order
from worker.app import build_app
from worker.errors import OutcomeUnknown
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushKind
from worker.sync.push import push_order
from worker.sync.tags import TagCache

SKU = "IPOD2008GREEN"  # a seeded product with stock


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with serve(create_sandbox_app(rate_limit=None)) as url:
        yield url


@pytest.fixture
def control(sandbox_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sandbox_url}/_sandbox/picqer/") as client:
        client.post("reset").raise_for_status()
        client.post("seed").raise_for_status()
        yield client


@pytest.fixture
def ctx(sandbox_url: str, mirror_url: str, control: httpx.Client) -> Iterator[SyncContext]:
    picqer = PicqerClient(f"{sandbox_url}/picqer/api/v1/", "test-key", timeout=0.5)
    with build_app(make_settings(mirror_url), picqer_client=picqer, tag_cache=TagCache()) as app:
        yield app.context
    picqer.close()


def _logged(control: httpx.Client) -> list[tuple[str, str, int]]:
    rows = control.get("requests").json()
    return [(row["method"], row["path"], row["status"]) for row in rows]


def test_each_order_costs_two_plus_tags_requests_once_the_tag_cache_is_warm(
    ctx: SyncContext, control: httpx.Client
) -> None:
    tags = ("Webshop", "shop")  # one seeded, one created on the first push
    push_order(ctx, mapped_order("1000", skus=(SKU,), tags=tags))
    control.delete("requests").raise_for_status()

    outcomes = [push_order(ctx, mapped_order(number, skus=(SKU,), tags=tags)) for number in ("1001", "1002")]

    assert [o.kind for o in outcomes] == [PushKind.PUSHED, PushKind.PUSHED]
    log = _logged(control)
    assert len(log) == 2 * (2 + len(tags))
    for outcome in outcomes:
        mine = [(m, p) for m, p, _ in log if p == "/orders" or p.startswith(f"/orders/{outcome.idorder}/")]
        assert [p.removeprefix(f"/orders/{outcome.idorder}") for _, p in mine if p != "/orders"] == [
            "/tags",
            "/tags",
            "/process",
        ]
    assert all(200 <= status < 300 for _, _, status in log)
    orders = {o["reference"]: o for o in control.get("orders").json()}
    assert orders["#1001"]["status"] in ("processing", "completed")


def test_a_timeout_after_the_sandbox_stored_the_create_yields_one_order(
    ctx: SyncContext, control: httpx.Client
) -> None:
    rule = {"kind": "timeout_after_write", "method": "POST", "path": "/orders", "delay": 1.5, "count": 1}
    control.post("faults", json={"rules": [rule]}).raise_for_status()

    with pytest.raises(OutcomeUnknown):
        push_order(ctx, mapped_order(skus=(SKU,)))
    retried = push_order(ctx, mapped_order(skus=(SKU,)))

    assert retried.kind is PushKind.PUSHED
    mine = [o for o in control.get("orders").json() if o["reference"] == "#1001"]
    assert [o["idorder"] for o in mine] == [retried.idorder]
    assert ("GET", "/orders", 200) in _logged(control)  # the retry looked it up by reference first


def test_an_unknown_product_code_is_named_and_nothing_is_created(
    ctx: SyncContext, control: httpx.Client
) -> None:
    outcome = push_order(ctx, mapped_order(skus=(SKU, "NOT-IN-PICQER")))

    assert outcome.kind is PushKind.FAILED
    assert outcome.reason == "product code NOT-IN-PICQER is not in Picqer"
    assert [o for o in control.get("orders").json() if o["reference"] == "#1001"] == []
