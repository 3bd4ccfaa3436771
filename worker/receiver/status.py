"""What ``status`` and the status page show: first the accounts and sources that are broken or
rejecting webhooks, then per source cursor and lag, orders by state, failures with their reasons,
the orders a person must decide on, the inbox, queue depth and hook health.

Built from the mirror only (no call to Picqer or a shop), so it answers while they are down. It never
holds a secret, an address or a payload: orders are named by source and reference.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from worker.config import Settings
from worker.db import cursors, hooks, orders
from worker.db.models import InboxEvent, utcnow
from worker.db.session import session_scope
from worker.sync.failures import list_needing_person
from worker.sync.health import list_broken
from worker.sync.rejections import recent_rejections
from worker.sync.retention import InboxRetention, inbox_retention

MAX_FAILURES_SHOWN = 50


@dataclass(frozen=True)
class SourceStatus:
    name: str
    platform: str
    enabled: bool
    cursor: datetime | None  # orders changed before this were seen by a completed poll
    last_poll_at: datetime | None
    lag_seconds: float | None  # now - cursor: how stale the poll's view of the shop may be
    orders_by_state: dict[str, int]
    # the first poll's bound: the source's ``start_at``, or the default recorded by its first poll
    # (None: not polled yet, and 7 days before the first poll will be used)
    start_at: datetime | None = None


@dataclass(frozen=True)
class FailureStatus:
    order_id: int
    source: str
    reference: str
    step: str | None
    reason: str
    updated_at: datetime
    state: str = "failed"  # failed; or paused, conflict: a person decides (``failures resolve ID``)


@dataclass(frozen=True)
class ProblemStatus:
    """An account or source problem, shown above everything else: no order moves until it is fixed."""

    target: str
    problem: str  # "broken" (refuses our key) or "rejecting" (its webhooks are turned away)
    detail: str
    since: datetime | None


@dataclass(frozen=True)
class HookStatus:
    target: str
    event: str
    address: str  # scheme, host and path only
    active: bool
    last_checked_at: datetime | None


@dataclass(frozen=True)
class InboxStatus:
    pending: int
    oldest_pending_at: datetime | None
    given_up: int


@dataclass(frozen=True)
class StatusReport:
    generated_at: datetime
    sources: list[SourceStatus]
    reconcile_cursor: datetime | None
    orders_by_state: dict[str, int]
    failures: list[FailureStatus]
    inbox: InboxStatus
    hooks: list[HookStatus]
    queue_depth: dict[str, int] | None  # None: the queue could not be read
    notes: list[str] = field(default_factory=list)
    problems: list[ProblemStatus] = field(default_factory=list)  # accounts and sources, at the top
    needs_person: list[FailureStatus] = field(default_factory=list)  # paused orders and conflicts
    retention: InboxRetention | None = None  # the oldest kept webhook, against inbox_retention_days

    def as_json(self) -> dict[str, Any]:
        def convert(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {key: convert(item) for key, item in value.items()}
            if isinstance(value, list):
                return [convert(item) for item in value]
            return value

        return {key: convert(value) for key, value in asdict(self).items()}


def _address_without_query(address: str) -> str:
    parts = urlsplit(address)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


def build_status_report(
    settings: Settings,
    engine: Engine,
    *,
    queue_depths: Callable[[], Mapping[str, int]] | None = None,
    now: datetime | None = None,
) -> StatusReport:
    """Read the report from the mirror (and the queue depth, when a reader is given)."""
    now = now or utcnow()
    notes: list[str] = []
    with session_scope(engine) as session:
        sources = []
        for source in settings.sources:
            cursor = cursors.get_cursor(session, source=source.name)
            position = cursor.position if cursor else None
            sources.append(
                SourceStatus(
                    name=source.name,
                    platform=source.platform,
                    enabled=source.enabled,
                    cursor=position,
                    last_poll_at=cursor.last_run_at if cursor else None,
                    lag_seconds=(now - position).total_seconds() if position else None,
                    orders_by_state=orders.count_by_state(session, source=source.name),
                    start_at=source.start_at or (cursor.start_at if cursor else None),
                )
            )
        reconcile = cursors.get_cursor(session, source=cursors.PICQER_CURSOR)
        failures = [
            FailureStatus(
                order_id=order.id or 0,
                source=order.source,
                reference=order.reference,
                step=order.failed_step,
                reason=order.last_error or "no reason recorded",
                updated_at=order.updated_at,
            )
            for order in orders.list_failed_orders(session, limit=MAX_FAILURES_SHOWN)
        ]
        pending_filter = col(InboxEvent.processed_at).is_(None)
        pending, oldest = session.execute(
            sa.select(sa.func.count(), sa.func.min(InboxEvent.received_at)).where(pending_filter)
        ).one()
        given_up = session.execute(
            sa.select(sa.func.count()).where(
                col(InboxEvent.processed_at).is_not(None), col(InboxEvent.error).is_not(None)
            )
        ).scalar_one()
        hook_rows = [
            HookStatus(
                target=hook.target,
                event=hook.event,
                address=_address_without_query(hook.address),
                active=hook.active,
                last_checked_at=hook.last_checked_at,
            )
            for hook in hooks.list_hook_registrations(session)
        ]
        by_state = orders.count_by_state(session)
        needs_person = [
            FailureStatus(
                order_id=order.id or 0,
                source=order.source,
                reference=order.reference,
                step=order.failed_step,
                reason=order.note or order.last_error or "no reason recorded",
                updated_at=order.updated_at,
                state=order.sync_state,
            )
            for order in list_needing_person(session, limit=MAX_FAILURES_SHOWN)
        ]
    problems = [
        ProblemStatus(
            target=account.target,
            problem="broken",
            detail=account.reason,
            since=datetime.fromisoformat(account.broken_since) if account.broken_since else None,
        )
        for account in list_broken(engine)
    ] + [
        ProblemStatus(target=found.target, problem="rejecting", detail=found.describe(), since=found.last_at)
        for found in recent_rejections(engine, now=now)
    ]
    depth: dict[str, int] | None = None
    if queue_depths is not None:
        try:
            depth = dict(queue_depths())
        except Exception as error:
            notes.append(f"the queue could not be read ({type(error).__name__})")
    if not hook_rows:
        notes.append("no hooks registered yet: run `picqer-sync hooks sync`")
    return StatusReport(
        generated_at=now,
        sources=sources,
        reconcile_cursor=reconcile.position if reconcile else None,
        orders_by_state=by_state,
        failures=failures,
        inbox=InboxStatus(pending=int(pending), oldest_pending_at=oldest, given_up=int(given_up)),
        hooks=hook_rows,
        queue_depth=depth,
        notes=notes,
        problems=problems,
        needs_person=needs_person,
        retention=inbox_retention(engine, settings, now=now),
    )


def format_lag(seconds: float | None) -> str:
    if seconds is None:
        return "never polled"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _source_row(source: SourceStatus, states: list[str]) -> list[str]:
    return [
        source.name + ("" if source.enabled else " (disabled)"),
        source.platform,
        _when(source.start_at) if source.start_at else "7 days before the first poll",
        _when(source.cursor),
        format_lag(source.lag_seconds),
        *[str(source.orders_by_state.get(state, 0)) for state in states],
    ]


@functools.cache
def _templates() -> jinja2.Environment:
    # autoescape on for every template: values come from shops (references, reasons) and must not
    # become markup; built once, on first use, not at import
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("worker.receiver", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["when"] = _when
    return environment


def render_status_html(report: StatusReport) -> str:
    """The status page (``templates/status.html``): one self-contained HTML document, every value escaped."""
    states = sorted(
        {state for source in report.sources for state in source.orders_by_state} | set(report.orders_by_state)
    )
    if report.queue_depth is None:
        queue = "unknown"
    else:
        queue = ", ".join(f"{name}: {depth}" for name, depth in report.queue_depth.items()) or "0"
    return (
        _templates()
        .get_template("status.html")
        .render(
            report=report,
            states=states,
            orders_by_state=", ".join(f"{k}: {v}" for k, v in sorted(report.orders_by_state.items())),
            source_rows=[_source_row(source, states) for source in report.sources],
            failure_rows=[
                [f.order_id, f.source, f.reference, f.step or "-", f.reason, _when(f.updated_at)]
                for f in report.failures
            ],
            problem_rows=[[p.target, p.problem, p.detail, _when(p.since)] for p in report.problems],
            person_rows=[
                [f.order_id, f.source, f.reference, f.state, f.reason, _when(f.updated_at)]
                for f in report.needs_person
            ],
            hook_rows=[
                [h.target, h.event, h.address, "yes" if h.active else "NO", _when(h.last_checked_at)]
                for h in report.hooks
            ],
            queue=queue,
        )
    )
