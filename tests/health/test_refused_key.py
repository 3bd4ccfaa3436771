"""Acceptance (d): a refused Picqer key fails no order, shows on /readyz, and heals by itself."""

from __future__ import annotations

import httpx
from sqlmodel import select

from worker.db.models import InboxEvent, Order, SyncState
from worker.db.session import session_scope
from worker.demo import DemoStack, create_shopify_order, sync_hooks, wait_for, wait_until_pushed
from worker.receiver.status import build_status_report

TIMEOUT = 30.0


def _states(stack: DemoStack) -> list[str]:
    with session_scope(stack.engine) as session:
        return [row.sync_state for row in session.exec(select(Order)).all()]


def _inbox(stack: DemoStack) -> tuple[int, int]:
    """(rows, rows still pending)."""
    with session_scope(stack.engine) as session:
        rows = session.exec(select(InboxEvent)).all()
        return len(rows), sum(row.processed_at is None for row in rows)


def test_a_refused_picqer_key_fails_no_order_and_everything_arrives_once_it_works(
    any_stack: DemoStack,
) -> None:
    stack = any_stack
    sync_hooks(stack)  # with the key that works
    picqer = stack.sandbox.state.simulators["picqer"]
    configured = stack.settings.picqer.api_key.get_secret_value()
    picqer.api_key = "a-rotated-key"  # the account no longer takes the key in our config

    planned = [create_shopify_order(stack, paid=True) for _ in range(20)]

    def refused() -> dict[str, str] | None:
        answer = httpx.get(f"{stack.receiver_url}/readyz", timeout=5)
        body = answer.json()
        return body if answer.status_code == 503 and "account:picqer" in body else None

    body = wait_for("/readyz to name the Picqer account", refused, timeout=TIMEOUT)
    assert "401" in body["account:picqer"]
    assert configured not in str(body)
    wait_for(
        "every webhook to have met the refused key",
        lambda: True if len(_states(stack)) == 20 else None,
        timeout=TIMEOUT,
    )
    assert set(_states(stack)) == {SyncState.PENDING}  # none failed
    stored, pending = _inbox(stack)
    assert stored >= 20
    assert pending == stored
    report = build_status_report(stack.settings, stack.engine)
    assert [(p.target, p.problem) for p in report.problems] == [("picqer", "broken")]
    assert report.failures == []

    picqer.api_key = configured  # the key works again: no command, no restart
    wait_until_pushed(stack, planned, timeout=TIMEOUT)
    assert set(_states(stack)) == {SyncState.SYNCED}
    references = [o["reference"] for o in stack.control("GET", "picqer/orders")]
    assert sorted(references) == sorted(p.shop_order_number for p in planned)  # each exactly once
    ready = httpx.get(f"{stack.receiver_url}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
