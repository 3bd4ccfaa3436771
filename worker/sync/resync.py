"""Resync one shop now (``picqer-sync resync``): list or fetch its orders, push what is missing or changed.

The operator's catch-up after an outage or a fix: the same pipeline as the worker
(``push_shop_order_now``: map, push, retry in the foreground), over a window the operator chooses.

Which orders:

- ``order_ids``: exactly those, fetched one by one from the shop (the cursor is not touched);
- ``since``: every order changed since then (the cursor is not touched: a window the operator
  picked says nothing about what the scheduled poll has seen);
- neither: like the scheduled poll, from the source's cursor minus ``poll_overlap_seconds``, or
  from the source's start bound when there is no cursor yet (``start_at``, or 7 days before the
  first poll: ``worker/sync/polling.py: start_bound``), never the shop's whole past. Only then does
  the cursor move, by the poll's rule: to the time this run *started*, and only after the whole
  listing was read.

A dry run maps each order and compares it with the mirror: it sends nothing to Picqer, writes
nothing to the mirror and never moves the cursor; it only reads the shop and the mirror.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from sqlmodel import col, select

from adapters.draft import MappedOrder, MappingRules, OrderDraft, ShopOrderState
from adapters.picqer.status import FINAL_STATUSES, PICKING_STATUSES, UNPROCESSED_STATUSES, PicqerStatus
from adapters.platform import ShopPlatform
from adapters.source import OrderSource
from worker.config import SourceSettings
from worker.db import cursors
from worker.db.models import Order, SyncState, SyncStep
from worker.db.session import session_scope
from worker.errors import ApiRejected, MappingError, SyncError
from worker.logging import get_logger
from worker.sync.changes import changed_fields, lines_changed
from worker.sync.context import SyncContext
from worker.sync.foreground import run_with_retries
from worker.sync.outcomes import PushKind, PushOutcome
from worker.sync.polling import start_bound
from worker.sync.push import mapped_fingerprint, naive_utc
from worker.sync.record import draft_hash
from worker.sync.resync_listing import batches, read_ahead
from worker.sync.shop_orders import mapping_rules, order_number_of, push_shop_order_now, shop_order_id_of
from worker.sync.shop_state import SKIP_REASONS

log = get_logger(__name__)


class WindowBasis(StrEnum):
    GIVEN = "given"  # --since
    CURSOR = "cursor"  # the source's cursor minus its overlap window
    START = "start"  # no cursor yet: from the source's start bound, as a first poll
    ORDERS = "orders"  # --order ID...: no listing at all


@dataclass(frozen=True)
class ResyncWindow:
    basis: WindowBasis
    since: datetime | None = None  # naive UTC, as the mirror and the sources take it
    overlap_seconds: int = 0

    def describe(self) -> str:
        """One line for people: which orders this run looks at, and why those."""
        moment = self.since.isoformat(sep=" ", timespec="seconds") + " UTC" if self.since else ""
        if self.basis is WindowBasis.GIVEN:
            return f"orders changed since {moment} (--since)"
        if self.basis is WindowBasis.CURSOR:
            return (
                f"orders changed since {moment} (the poll cursor minus its {self.overlap_seconds} s overlap)"
            )
        if self.basis is WindowBasis.START:
            return f"orders changed since {moment} (no poll cursor yet: the source's start bound)"
        return "the given orders (--order)"


class Preview(StrEnum):
    """What a dry run predicts for one order."""

    WOULD_PUSH = "would push"
    WOULD_UPDATE = "would update"
    UP_TO_DATE = "up to date"
    WOULD_SKIP = "would skip"
    WOULD_CANCEL = "would cancel"
    WOULD_CONFLICT = "would conflict"
    WOULD_FAIL = "would fail"  # failed before with this same input; `failures retry` tries again
    CANNOT_MAP = "cannot map"


FETCH_FAILED = "failed"  # an --order the shop did not hand out (never recorded in the mirror)
# the outcomes that make the command exit 1: a real run's failures, and a dry run's predicted ones
FAILING = frozenset({PushKind.FAILED.value, Preview.WOULD_FAIL.value, Preview.CANNOT_MAP.value})


@dataclass(frozen=True)
class ResyncLine:
    """One order's outcome (a ``PushKind`` value, or a ``Preview`` value in a dry run)."""

    shop_order_id: str
    order: str  # the reference (shop order number) people know it by
    outcome: str
    idorder: int | None = None
    reason: str = ""


# what a report keeps of the orders beyond their counts: bounded, so a resync of 100,000 orders runs
# in the memory of one of 100 (each order's line is handed to ``on_line`` and not kept)
FAILURES_KEPT = 1000
REASONS_KEPT = 20  # distinct reasons per outcome; the rest are counted under OTHER_REASONS
OTHER_REASONS = "other reasons"
SAMPLE_KEPT = 100  # the first lines, for a summary that shows some orders


@dataclass
class ResyncReport:
    """A resync's outcome: counts per outcome, reasons with how often, and the failed orders (the
    first ``FAILURES_KEPT``); every order's line went to ``on_line`` as it was done."""

    source: str
    window: ResyncWindow
    dry_run: bool
    started_at: datetime
    listing_error: str | None = None  # the listing stopped early: the cursor stayed where it was
    cursor_moved_to: datetime | None = None
    total: int = 0
    sample: list[ResyncLine] = field(default_factory=list)  # the first SAMPLE_KEPT lines
    failures_not_kept: int = 0
    _counts: dict[str, int] = field(default_factory=dict)
    _reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    _failures: list[ResyncLine] = field(default_factory=list)

    def add(self, line: ResyncLine) -> None:
        """Count ``line``; keep it only while the sample or the failures have room."""
        self.total += 1
        self._counts[line.outcome] = self._counts.get(line.outcome, 0) + 1
        if line.reason:
            reasons = self._reasons.setdefault(line.outcome, {})
            reason = line.reason if line.reason in reasons or len(reasons) < REASONS_KEPT else OTHER_REASONS
            reasons[reason] = reasons.get(reason, 0) + 1
        if len(self.sample) < SAMPLE_KEPT:
            self.sample.append(line)
        if line.outcome in FAILING:
            if len(self._failures) < FAILURES_KEPT:
                self._failures.append(line)
            else:
                self.failures_not_kept += 1

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def reasons(self, outcome: str) -> dict[str, int]:
        """Each distinct reason given for ``outcome`` (the first ``REASONS_KEPT``), with how often."""
        return dict(self._reasons.get(outcome, {}))

    def failures(self) -> list[ResyncLine]:
        """The failed orders, the first ``FAILURES_KEPT`` of them (``failures_not_kept`` more)."""
        return list(self._failures)

    @property
    def failed(self) -> bool:
        return self.listing_error is not None or any(self._counts.get(kind) for kind in FAILING)


def parse_since(text: str) -> datetime:
    """An ISO date or datetime as naive UTC; a value without a zone is taken as UTC.

    Raises ``ValueError`` with a message for people.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"not an ISO date or datetime: {text!r} (for example 2026-03-01 or 2026-03-01T09:30:00+01:00)"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def resync_window(
    ctx: SyncContext,
    source: SourceSettings,
    *,
    since: datetime | None,
    order_ids: Sequence[str],
    dry_run: bool = False,
) -> ResyncWindow:
    """Which orders a run looks at; see the module docstring."""
    if order_ids:
        return ResyncWindow(WindowBasis.ORDERS)
    if since is not None:
        return ResyncWindow(WindowBasis.GIVEN, since)
    with session_scope(ctx.engine) as session:
        cursor = cursors.get_cursor(session, source=source.name)
        position = cursor.position if cursor else None
        if position is None:
            bound = start_bound(session, source, now=ctx.clock(), record=not dry_run)
            return ResyncWindow(WindowBasis.START, bound)
    overlap = source.poll_overlap_seconds
    return ResyncWindow(WindowBasis.CURSOR, position - timedelta(seconds=overlap), overlap)


def resync_source(
    ctx: SyncContext,
    source: SourceSettings,
    *,
    platform: ShopPlatform,
    open_source: Callable[[SourceSettings], OrderSource],
    since: datetime | None = None,
    order_ids: Sequence[str] = (),
    dry_run: bool = False,
    on_line: Callable[[ResyncLine], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> ResyncReport:
    """One resync of ``source``; ``on_line`` hears of each order as it is done (the progress bar,
    the ``--json`` writer). The report keeps counts and the failures, not every order."""
    window = resync_window(ctx, source, since=since, order_ids=order_ids, dry_run=dry_run)
    report = ResyncReport(source=source.name, window=window, dry_run=dry_run, started_at=ctx.clock())
    retry_options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    shop = open_source(source)
    try:
        # in batches: a dry run reads the mirror once per batch; a real run pushes order by order
        for batch in batches(_shop_orders(shop, window, order_ids, retry_options)):
            done = (
                preview_orders(ctx, platform, source, batch)
                if dry_run
                else (_pushed(ctx, platform, source, item, sleep) for item in batch)
            )
            for line in done:
                report.add(line)
                if on_line is not None:
                    on_line(line)
    except SyncError as error:
        # the shop stopped answering the listing (after the source's own retries): what was read is
        # done; the rest comes with the next run, which is why the cursor must not move now
        report.listing_error = f"the shop's order listing stopped: {error.reason}"
        log.warning("resync_listing_stopped", source=source.name, reason=error.reason)
    finally:
        shop.close()
    if window.basis in (WindowBasis.CURSOR, WindowBasis.START) and not dry_run and not report.listing_error:
        with session_scope(ctx.engine) as session:
            cursors.set_cursor(session, source=source.name, position=report.started_at, ran_at=ctx.clock())
        report.cursor_moved_to = report.started_at
    counts = report.counts()
    log.info("resync_finished", source=source.name, basis=window.basis.value, dry_run=dry_run, **counts)
    return report


def _shop_orders(
    shop: OrderSource, window: ResyncWindow, order_ids: Sequence[str], retry_options: dict[str, Any]
) -> Iterator[dict[str, Any] | ResyncLine]:
    """The raw orders to look at; a given id the shop will not hand out comes as a failed line.

    A listing is read ahead (the next pages come while this one is worked on); given ids are
    fetched one by one, when their turn comes.
    """
    if window.basis is not WindowBasis.ORDERS:
        yield from read_ahead(shop.iter_orders(window.since))
        return
    for shop_order_id in dict.fromkeys(order_ids):  # each once, in the order given
        yield _fetch(shop, shop_order_id, retry_options)


def _fetch(
    shop: OrderSource, shop_order_id: str, retry_options: dict[str, Any]
) -> dict[str, Any] | ResyncLine:
    try:
        return run_with_retries(partial(shop.get_order, shop_order_id), **retry_options)
    except ApiRejected as error:
        reason = "not found in the shop" if error.status == 404 else f"the shop refused it: {error.reason}"
    except SyncError as error:
        reason = f"cannot fetch: {error.reason}"
    except ValueError:  # WooCommerce and Magento ids are numbers
        reason = "not an order id of this shop"
    return ResyncLine(shop_order_id, shop_order_id, FETCH_FAILED, reason=reason)


def _pushed(
    ctx: SyncContext,
    platform: ShopPlatform,
    source: SourceSettings,
    item: dict[str, Any] | ResyncLine,
    sleep: Callable[[float], None] | None,
) -> ResyncLine:
    if isinstance(item, ResyncLine):
        return item
    return _line(push_shop_order_now(ctx, platform, source, item, sleep=sleep))


def _line(outcome: PushOutcome) -> ResyncLine:
    return ResyncLine(
        shop_order_id=outcome.shop_order_id,
        order=outcome.reference or outcome.shop_order_id,
        outcome=outcome.kind.value,
        idorder=outcome.idorder,
        reason=outcome.reason or "",
    )


# -- the dry run: what push_order would do, read off the mapped order and the mirror ---------------


def preview_order(
    ctx: SyncContext, platform: ShopPlatform, source: SourceSettings, raw: dict[str, Any]
) -> ResyncLine:
    """Map ``raw`` and predict ``push_order``'s outcome from the mirror alone; writes nothing."""
    return preview_orders(ctx, platform, source, [raw])[0]


def preview_orders(
    ctx: SyncContext,
    platform: ShopPlatform,
    source: SourceSettings,
    items: Sequence[dict[str, Any] | ResyncLine],
) -> list[ResyncLine]:
    """:func:`preview_order` for each raw order of ``items`` (a line among them is kept as it is), in
    order, with one read of the mirror for all of them."""
    rules = mapping_rules(source)
    prepared: list[ResyncLine | tuple[str, MappedOrder]] = [
        item if isinstance(item, ResyncLine) else _mapped(platform, rules, item) for item in items
    ]
    rows = _mirror_rows(ctx, source.name, [entry[0] for entry in prepared if isinstance(entry, tuple)])
    return [
        entry if isinstance(entry, ResyncLine) else _preview(rows.get(entry[0]), *entry, source)
        for entry in prepared
    ]


def _mapped(
    platform: ShopPlatform, rules: MappingRules, raw: dict[str, Any]
) -> ResyncLine | tuple[str, MappedOrder]:
    try:
        return shop_order_id_of(platform, raw), platform.map_order(raw, rules)
    except MappingError as error:
        number = order_number_of(raw, str(raw.get(platform.source_class.primary_key) or "?"))
        return ResyncLine(number, number, Preview.CANNOT_MAP.value, reason=error.reason)


def _mirror_rows(ctx: SyncContext, source: str, shop_order_ids: Sequence[str]) -> dict[str, Order]:
    """The mirror's rows of these shop orders (those it has), by shop order id; one query."""
    if not shop_order_ids:
        return {}
    statement = select(Order).where(Order.source == source, col(Order.shop_order_id).in_(set(shop_order_ids)))
    with session_scope(ctx.engine) as session:
        return {row.shop_order_id: row for row in session.exec(statement)}


def _preview(
    row: Order | None, shop_order_id: str, mapped: MappedOrder, source: SourceSettings
) -> ResyncLine:
    kind, reason = predict(row, mapped, on_cancel_processing=source.on_cancel_processing)
    reference = mapped.draft.reference if mapped.draft is not None else mapped.shop_order_number
    if row is not None and row.idorder is not None:
        reference = row.reference
    idorder = row.idorder if row is not None else None
    return ResyncLine(shop_order_id, reference, kind.value, idorder, reason)


def predict(row: Order | None, mapped: MappedOrder, *, on_cancel_processing: str) -> tuple[Preview, str]:
    """``push_order``'s decision, in the same order of checks (see ``worker/sync/push.py``)."""
    shop_updated = naive_utc(mapped.shop_updated_at)
    if row is not None:
        if shop_updated and row.shop_updated_at and shop_updated < row.shop_updated_at:
            return Preview.UP_TO_DATE, "the mirror has a newer version of the shop order"
        same_input = mapped_fingerprint(row.mapped_json) == mapped_fingerprint(mapped.model_dump(mode="json"))
        if row.sync_state == SyncState.FAILED and same_input:
            return Preview.WOULD_FAIL, f"failed before: {row.last_error}; `failures retry` tries again"
    if mapped.state is ShopOrderState.READY:
        return _predict_ready(row, mapped)
    if mapped.state in (ShopOrderState.CANCELLED, ShopOrderState.DELETED):
        return _predict_cancel(row, on_cancel_processing)
    reason = SKIP_REASONS.get(mapped.state, mapped.state.value)
    if row is not None and (row.idorder is not None or row.sync_step not in (SyncStep.NONE, "")):
        return Preview.UP_TO_DATE, f"{reason} in the shop, but already in Picqer"
    return Preview.WOULD_SKIP, f"{reason}: {mapped.reason}" if mapped.reason else reason


def _predict_ready(row: Order | None, mapped: MappedOrder) -> tuple[Preview, str]:
    draft = mapped.draft
    if draft is None:
        return Preview.CANNOT_MAP, "the order is ready to ship but has no Picqer draft"
    if row is None or row.idorder is None:
        return Preview.WOULD_PUSH, ""
    if row.sync_state in (SyncState.CANCELLED, SyncState.PAUSED):
        return (
            Preview.WOULD_CONFLICT,
            "active in the shop again, but its Picqer order was cancelled or paused",
        )
    if row.sync_step != SyncStep.PROCESSED:
        return Preview.WOULD_PUSH, f"resumes after step {row.sync_step}"
    if row.pushed_draft_hash == draft_hash(draft):
        return Preview.UP_TO_DATE, ""
    old = OrderDraft.model_validate(row.pushed_draft) if row.pushed_draft else None
    if lines_changed(old, draft):
        return Preview.WOULD_CONFLICT, "the order lines changed after Picqer received the order"
    fields = changed_fields(old, draft)
    if fields and row.picqer_status in FINAL_STATUSES:
        return (
            Preview.WOULD_CONFLICT,
            f"the address or remarks changed after Picqer marked it {row.picqer_status}",
        )
    if fields:
        return Preview.WOULD_UPDATE, "changed: " + ", ".join(sorted(fields))
    return Preview.UP_TO_DATE, ""


def _predict_cancel(row: Order | None, on_cancel_processing: str) -> tuple[Preview, str]:
    if row is None or row.idorder is None:
        return Preview.WOULD_SKIP, "cancelled"
    if row.sync_state in (SyncState.CANCELLED, SyncState.PAUSED):
        return Preview.UP_TO_DATE, "cancellation already handled"
    # the mirror's status may lag Picqer's; the real run asks Picqer before it acts
    status = row.picqer_status or "unknown"
    if status in UNPROCESSED_STATUSES or status == PicqerStatus.CANCELLED:
        return Preview.WOULD_CANCEL, f"Picqer status {status}"
    if status in PICKING_STATUSES:
        action = "force-cancel" if on_cancel_processing == "force_cancel" else "pause"
        return Preview.WOULD_CANCEL, f"Picqer status {status}: would {action} it"
    return Preview.WOULD_CONFLICT, f"cancelled in the shop after Picqer marked it {status}"
