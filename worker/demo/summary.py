"""The demo's verdict: each order's outcome judged against what it must end as, and the totals."""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.db.models import SyncState
from worker.demo.observe import mirror_row, shop_has_fulfilment
from worker.demo.plan import Expect, PlannedOrder
from worker.demo.stack import DemoStack


@dataclass
class OrderReport:
    """One order's outcome, read from the mirror and the simulators."""

    planned: PlannedOrder
    sync_state: str | None = None
    idorder: int | None = None
    picqer_status: str | None = None
    trackingcode: str | None = None
    reported: bool = False  # the shop simulator recorded a fulfilment with the tracking code
    reason: str | None = None  # why it failed or was skipped
    problem: str | None = None  # set when the order did not end as expected

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class DemoResult:
    orders: list[OrderReport] = field(default_factory=list)
    picqer_requests: int = 0
    rate_limited: int = 0  # Picqer answers 429
    seconds: float = 0.0
    mirror: str | None = None  # the mirror's database file, when kept
    error: str | None = None  # a step that did not finish (timeout, unreachable, ...)

    @property
    def pushed(self) -> int:
        return sum(1 for report in self.orders if report.idorder is not None)

    @property
    def failed(self) -> int:
        return sum(1 for report in self.orders if report.sync_state == SyncState.FAILED)

    @property
    def skipped(self) -> int:
        return sum(1 for report in self.orders if report.sync_state == SyncState.SKIPPED)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.orders) and all(report.ok for report in self.orders)


def report(stack: DemoStack, planned: PlannedOrder) -> OrderReport:
    """The order's outcome now, judged against what it must end as."""
    row = mirror_row(stack, planned)
    result = OrderReport(planned=planned)
    if row is None:
        result.problem = "not in the mirror"
        return result
    result.sync_state = row.sync_state
    result.idorder = row.idorder
    result.picqer_status = row.picqer_status
    result.trackingcode = row.trackingcode
    result.reason = row.reason if row.sync_state != SyncState.SYNCED else None
    if row.trackingcode:
        result.reported = row.reported and shop_has_fulfilment(stack, planned, row.trackingcode)
    result.problem = _problem(planned, result)
    return result


def _problem(planned: PlannedOrder, result: OrderReport) -> str | None:
    if planned.expect is Expect.SHIPPED:
        if result.idorder is None:
            return f"not in Picqer ({result.sync_state}: {result.reason or 'no reason'})"
        if result.picqer_status != "completed" or not result.trackingcode:
            return f"not completed with a tracking code (Picqer status {result.picqer_status})"
        if not result.reported:
            return "the shop has no fulfilment with the tracking code"
        return None
    if result.idorder is not None:
        return f"expected {planned.expect.value}, but Picqer has order {result.idorder}"
    if result.sync_state != planned.expect.value:
        return f"expected {planned.expect.value}, but the mirror says {result.sync_state}"
    if not result.reason:
        return f"{result.sync_state} without a reason"
    return None
