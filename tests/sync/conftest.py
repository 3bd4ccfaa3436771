from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.draft import DraftLine, MappedOrder, OrderDraft, ShopOrderState
from tests.sync.fake_picqer import FakePicqer
from worker.app import App, build_app
from worker.config import Settings, SourceSettings
from worker.db.migrate import upgrade_database
from worker.sync.context import SyncContext
from worker.sync.tags import TagCache

ContextFactory = Callable[..., SyncContext]


@pytest.fixture
def mirror_url(database_url: str) -> str:
    upgrade_database(database_url)
    return database_url


@pytest.fixture
def fake() -> FakePicqer:
    return FakePicqer()


def make_settings(database_url: str, *, on_cancel_processing: str = "pause") -> Settings:
    return Settings(
        database_url=database_url,
        redis_url="",
        sources=[
            SourceSettings(
                name="shop",
                platform="shopify",
                url="http://shop.test",
                on_cancel_processing=on_cancel_processing,  # type: ignore[arg-type]
            )
        ],
    )


@pytest.fixture
def make_ctx(mirror_url: str, fake: FakePicqer) -> Iterator[ContextFactory]:
    """Build a context like a worker process would: its own engine and client; one tag cache."""
    tags = TagCache()
    built: list[App] = []

    def factory(*, redis: Any = None, on_cancel_processing: str = "pause", picqer: Any = None) -> SyncContext:
        app = build_app(
            make_settings(mirror_url, on_cancel_processing=on_cancel_processing),
            picqer_client=picqer or fake.client(),
            redis=redis,
            tag_cache=tags,
        )
        built.append(app)
        return app.context

    yield factory
    for app in built:
        app.picqer.close()
        app.close()


def mapped_order(
    number: str = "1001",
    *,
    state: ShopOrderState = ShopOrderState.READY,
    skus: tuple[str, ...] = ("SKU-1",),
    tags: tuple[str, ...] = ("shop", "vip"),
    city: str = "Zeist",
    remarks: str | None = None,
    updated: datetime | None = None,
    created: datetime | None = None,
) -> MappedOrder:
    draft = OrderDraft(
        reference=f"#{number}",
        deliveryname="J. Strijbos",
        deliveryaddress="Vrije Water 12",
        deliveryzipcode="3928 DM",
        deliverycity=city,
        deliverycountry="NL",
        invoicename="J. Strijbos",
        invoiceaddress="Vrije Water 12",
        invoicezipcode="3928 DM",
        invoicecity=city,
        invoicecountry="NL",
        customer_remarks=remarks,
        products=[DraftLine(productcode=sku, amount=1) for sku in skus],
        tags=list(tags),
    )
    return MappedOrder(
        source="shop",
        platform="shopify",
        shop_order_id=f"id-{number}",
        shop_order_number=f"#{number}",
        shop_status="paid",
        shop_updated_at=updated or datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        # made just now, unless a test says otherwise: the Picqer index vouches for new orders
        shop_created_at=created or datetime.now(UTC),
        state=state,
        reason=None if state is ShopOrderState.READY else f"the shop says {state.value}",
        draft=draft if state is ShopOrderState.READY else None,
    )
