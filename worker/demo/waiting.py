"""Bounded waits: poll until the orders reach a state, or fail with a ``DemoError`` naming the laggards."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from worker.db.models import SyncState
from worker.demo.errors import DemoError
from worker.demo.observe import MirrorView, mirror_row, shop_has_fulfilment
from worker.demo.plan import Expect, PlannedOrder
from worker.demo.stack import DemoStack

DEFAULT_TIMEOUT = 30.0  # seconds per wait; the whole demo takes a few seconds
POLL_SECONDS = 0.05

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float = DEFAULT_TIMEOUT) -> T:
    """Call ``check`` until it returns something other than None; ``DemoError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def _wait_for_all(
    what: str, planned: list[PlannedOrder], done: Callable[[PlannedOrder], bool], *, timeout: float
) -> None:
    """Wait until ``done`` holds for every order; the timeout names the ones it never held for."""
    waiting = list(planned)

    def check() -> bool | None:
        waiting[:] = [order for order in waiting if not done(order)]
        return True if not waiting else None

    try:
        wait_for(f"the orders {what}", check, timeout=timeout)
    except DemoError as error:
        names = ", ".join(f"{order.source} {order.shop_order_number}" for order in waiting)
        raise DemoError(f"{error} (still waiting for {names})") from None


def _pushed_state(planned: PlannedOrder, row: MirrorView | None) -> bool:
    if row is None:
        return False
    if planned.expect is Expect.SHIPPED:
        return row.sync_state == SyncState.SYNCED and row.idorder is not None
    if planned.expect is Expect.FAILED:
        return row.sync_state == SyncState.FAILED
    return row.sync_state == SyncState.SKIPPED


def wait_until_pushed(
    stack: DemoStack, planned: list[PlannedOrder], *, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Every order in the state it must reach in Picqer's direction (synced, failed or skipped)."""
    _wait_for_all(
        "to reach Picqer (or be recorded as failed or skipped)",
        planned,
        lambda order: _pushed_state(order, mirror_row(stack, order)),
        timeout=timeout,
    )


def wait_until_fulfilled(
    stack: DemoStack,
    planned: list[PlannedOrder],
    shipped: dict[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Completed in the mirror with the tracking code, and reported to the shop with it."""

    def done(order: PlannedOrder) -> bool:
        row = mirror_row(stack, order)
        code = shipped[order.shop_order_id]
        return (
            row is not None
            and row.picqer_status == "completed"
            and row.trackingcode == code
            and row.reported
            and shop_has_fulfilment(stack, order, code)
        )

    _wait_for_all(
        "to be completed by Picqer's hooks and fulfilled in their shops",
        [order for order in planned if order.shop_order_id in shipped],
        done,
        timeout=timeout,
    )
