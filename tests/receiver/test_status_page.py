"""The status page's HTML (``worker/receiver/templates/status.html``): complete, and every value escaped."""

from __future__ import annotations

from datetime import datetime

from worker.receiver.status import (
    FailureStatus,
    HookStatus,
    InboxStatus,
    SourceStatus,
    StatusReport,
    render_status_html,
)

AT = datetime(2026, 11, 1, 12, 30, 5)


def _report(**changes: object) -> StatusReport:
    fields: dict[str, object] = {
        "generated_at": AT,
        "sources": [SourceStatus("shop-nl", "shopify", False, AT, AT, 125.0, {"processed": 3, "failed": 1})],
        "reconcile_cursor": None,
        "orders_by_state": {"processed": 3, "failed": 1},
        "failures": [FailureStatus(7, "shop-nl", "#1001", "push", "Picqer answered 400: no SKU", AT)],
        "inbox": InboxStatus(pending=2, oldest_pending_at=AT, given_up=1),
        "hooks": [
            HookStatus("picqer", "orders.completed", "https://sync.example.com/webhooks/picqer", False, None)
        ],
        "queue_depth": {"picqer-sync": 4},
        "notes": ["the queue could not be read (ConnectionError)"],
    }
    fields.update(changes)
    return StatusReport(**fields)  # type: ignore[arg-type]


def test_the_page_shows_every_section() -> None:
    page = render_status_html(_report())
    assert page.startswith("<!doctype html>")
    assert (
        "<td>shop-nl (disabled)</td><td>shopify</td><td>7 days before the first poll</td>"
        "<td>2026-11-01 12:30:05 UTC</td><td>2m 05s</td>" in page
    )
    assert "<th>failed</th><th>processed</th>" in page  # a column per state, sorted
    assert "<td>#1001</td><td>push</td><td>Picqer answered 400: no SKU</td>" in page
    assert "Webhooks waiting: 2 (oldest 2026-11-01 12:30:05 UTC); given up: 1." in page
    assert "Queue depth: picqer-sync: 4." in page
    assert (
        "<td>orders.completed</td><td>https://sync.example.com/webhooks/picqer</td><td>NO</td><td>-</td>"
        in page
    )
    assert "<li>the queue could not be read (ConnectionError)</li>" in page


def test_values_from_shops_are_escaped() -> None:
    failure = FailureStatus(1, "shop-nl", "<script>alert(1)</script>", None, 'bad "quote" & <b>', AT)
    page = render_status_html(_report(failures=[failure], notes=["<i>note</i>"]))
    for markup in ("<script>", "<b>", "<i>"):
        assert markup not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "bad &#34;quote&#34; &amp; &lt;b&gt;" in page
    assert "<td>-</td>" in page  # no step recorded


def test_empty_sections_say_so() -> None:
    page = render_status_html(
        _report(sources=[], failures=[], hooks=[], queue_depth=None, orders_by_state={})
    )
    assert "no sources configured" in page
    assert "no failed orders" in page
    assert "no hooks registered" in page
    assert "Queue depth: unknown." in page
    assert "Orders by state: none." in page
