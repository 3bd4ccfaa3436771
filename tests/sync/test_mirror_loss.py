"""Exactly once when the mirror does not know the order: a dropped or restored mirror, and orders
another connector made, against the full Picqer simulator, on SQLite and on PostgreSQL with Redis.

A "replay" is what every webhook and a resync hand to ``push_order`` again: the mapped shop order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from adapters.picqer.client import PicqerClient
from sandbox.app import create_sandbox_app
from tests.support.liveserver import serve
from tests.sync.conftest import make_settings, mapped_order
from worker.app import App, build_app
from worker.db.migrate import upgrade_database
from worker.db.models import Order, SyncState
from worker.db.session import make_engine, session_scope
from worker.sync.outcomes import PushKind
from worker.sync.push import push_order
from worker.sync.tags import TagCache

SKU = "IPOD2008GREEN"  # a seeded product with stock
ORDERS = 50
Snapshot = dict[str, list[dict[str, Any]]]


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


@pytest.fixture(
    params=["sqlite", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Any]:
    """(database_url, redis client or None): SQLite alone, and PostgreSQL with a real Redis."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mirror.db'}"
        redis = None
    else:
        url = str(request.getfixturevalue("postgres_url"))
        redis = request.getfixturevalue("real_redis")
    upgrade_database(url)
    return url, redis


class Deployment:
    """A worker process: its own app (engine, Picqer client, index memory) on the mirror."""

    def __init__(self, sandbox_url: str, backend: tuple[str, Any]) -> None:
        url, redis = backend
        self.picqer = PicqerClient(f"{sandbox_url}/picqer/api/v1/", "test-key", timeout=5)
        self.app: App = build_app(
            make_settings(url), picqer_client=self.picqer, redis=redis, tag_cache=TagCache()
        )
        self.ctx = self.app.context

    def push(self, numbers: list[str]) -> Counter[str]:
        return Counter(
            push_order(self.ctx, mapped_order(number, skus=(SKU,), tags=("shop",))).kind.value
            for number in numbers
        )

    def close(self) -> None:
        self.app.close()
        self.picqer.close()


def numbers(first: int, count: int) -> list[str]:
    return [str(first + n) for n in range(count)]


def live_by_reference(control: httpx.Client) -> Counter[str]:
    return Counter(o["reference"] for o in control.get("orders").json() if o["status"] != "cancelled")


def mirror_links(url: str) -> dict[str, int | None]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            rows = session.exec(select(Order)).all()
            assert all(row.sync_state == SyncState.SYNCED for row in rows), [r.last_error for r in rows]
            return {row.reference: row.idorder for row in rows}
    finally:
        engine.dispose()


def snapshot(url: str) -> Snapshot:
    """A copy of every table of the mirror (a backup)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [dict(row._mapping) for row in connection.execute(table.select())]
                for table in SQLModel.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def restore(url: str, copy: Snapshot) -> None:
    """Put the mirror back to ``copy`` (an empty copy: the mirror dropped), as a restore would."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for table in reversed(SQLModel.metadata.sorted_tables):
                connection.execute(table.delete())
            for table in SQLModel.metadata.sorted_tables:
                if copy.get(table.name):
                    connection.execute(table.insert(), copy[table.name])
            if engine.dialect.name == "postgresql":  # as pg_restore does: sequences follow the rows
                for table in SQLModel.metadata.sorted_tables:
                    if "id" in table.c and table.c.id.autoincrement in (True, "auto"):
                        connection.execute(
                            sa.text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                                f" coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                            )
                        )
    finally:
        engine.dispose()


def test_a_dropped_mirror_adopts_every_order_again_and_creates_none(
    sandbox_url: str, control: httpx.Client, backend: tuple[str, Any]
) -> None:
    url = backend[0]
    first = Deployment(sandbox_url, backend)
    assert first.push(numbers(1001, ORDERS)) == {"pushed": ORDERS}
    first.close()
    before = live_by_reference(control)
    pushed = mirror_links(url)

    restore(url, {})  # the mirror is lost: a fresh, empty one
    second = Deployment(sandbox_url, backend)
    replays = second.push(numbers(1001, ORDERS)) + second.push(numbers(1001, ORDERS))  # webhooks, resync
    second.close()

    assert live_by_reference(control) == before  # not one new Picqer order
    assert set(before.values()) == {1}
    assert mirror_links(url) == pushed  # the mirror knows all 50 again, linked to the same orders
    assert replays["pushed"] == ORDERS  # adopted once each, then unchanged


@pytest.mark.parametrize("restart", [True, False], ids=["restarted", "same-process"])
def test_a_mirror_restored_from_an_older_copy_carries_on_without_duplicates(
    sandbox_url: str, control: httpx.Client, backend: tuple[str, Any], restart: bool
) -> None:
    url = backend[0]
    first = Deployment(sandbox_url, backend)
    first.push(numbers(1001, 25))
    backup = snapshot(url)
    first.push(numbers(1026, 25))  # pushed after the backup: the restored mirror forgets them
    if restart:
        first.close()

    restore(url, backup)
    carrying_on = Deployment(sandbox_url, backend) if restart else first
    carrying_on.push(numbers(1001, ORDERS + 10))  # every webhook again, and 10 new orders
    carrying_on.close()

    live = live_by_reference(control)
    expected = {f"#{number}" for number in numbers(1001, ORDERS + 10)}
    assert set(live) == expected  # none missing
    assert set(live.values()) == {1}  # no duplicates
    links = mirror_links(url)
    assert set(links) == expected
    assert all(idorder is not None for idorder in links.values())


def test_orders_another_connector_made_are_adopted_not_duplicated(
    sandbox_url: str, control: httpx.Client, backend: tuple[str, Any]
) -> None:
    other = PicqerClient(f"{sandbox_url}/picqer/api/v1/", "other-connector", timeout=5)
    made = {}
    for number in numbers(2001, 30):
        draft = mapped_order(number, skus=(SKU,)).draft
        assert draft is not None
        made[draft.reference] = other.create_order(draft.create_payload()).idorder
        if int(number) % 2:
            other.process_order(made[draft.reference])  # some processed, some still concept
    # the same reference, but other products: another shop's order, never adopted
    foreign = mapped_order("2031", skus=(SKU,)).draft
    assert foreign is not None
    other.create_order({**foreign.create_payload(), "products": [{"productcode": SKU, "amount": 2}]})
    other.close()

    ours = Deployment(sandbox_url, backend)
    kinds = ours.push(numbers(2001, 31))
    ours.close()

    live = live_by_reference(control)
    assert {reference: live[reference] for reference in made} == dict.fromkeys(made, 1)
    assert live["#2031"] == 2  # the other shop's, and ours
    links = mirror_links(backend[0])
    assert {reference: links[reference] for reference in made} == made
    assert kinds == {PushKind.PUSHED.value: 31}
