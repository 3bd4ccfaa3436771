"""Push one shop order into Picqer, exactly once: create (concept) -> tags -> process.

Each step is committed to the mirror before and after its Picqer call, so a retry (after a
timeout, a crash, a deploy) resumes at the step that did not finish. A create whose outcome is
unknown is resolved by looking the order up by ``reference`` before creating again, and pushes of
one order are serialised by the context's order lock.

Before a first create the Picqer index (``worker/sync/picqer_index.py``) is asked whether Picqer
may already hold the order (an empty or restored mirror, another deployment, another connector):
when it may, the order is looked up by ``reference`` and adopted; when the index vouches that it
does not, the create goes ahead with no look-up. On that happy path, with the tag cache warm and
the index fresh, a push costs exactly ``2 + len(tags)`` Picqer requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.draft import MappedOrder, OrderDraft, ShopOrderState
from adapters.picqer.models import PicqerOrder
from adapters.picqer.status import UNPROCESSED_STATUSES, PicqerStatus
from worker.db import orders
from worker.db.models import Order, OrderLine, SyncState, SyncStep
from worker.db.session import session_scope
from worker.errors import ApiRejected, FatalError, MappingError, RateLimited, RetriableError, SkippableError
from worker.logging import get_logger
from worker.sync.adopt import adopt_by_reference
from worker.sync.changes import apply_shop_changes
from worker.sync.context import SyncContext
from worker.sync.outcomes import PushKind, PushOutcome, outcome
from worker.sync.picqer_index import Verdict, check_reference, note_created
from worker.sync.record import draft_hash, draft_json, record
from worker.sync.shop_state import cancel_in_picqer, skip_unready

log = get_logger(__name__)

UNKNOWN_PRODUCT_ERROR = 24  # "Product you are trying to order, does not exists"


class UnknownProduct(FatalError):
    """Picqer does not know a product code of the order; nothing was created."""


def reference_of(mapped: MappedOrder) -> str:
    return mapped.draft.reference if mapped.draft is not None else mapped.shop_order_number


def push_order(ctx: SyncContext, mapped: MappedOrder) -> PushOutcome:
    """Bring Picqer in line with one mapped shop order; see the module docstring.

    Raises only ``RetriableError`` (after recording the attempt): the caller retries later.
    Fatal and mapping errors are recorded on the order and returned as ``failed``.
    """
    with ctx.order_lock(mapped.source, mapped.shop_order_id):
        received = _receive(ctx, mapped)
        order = received.order
        if received.stale:
            log.info("order_update_stale", source=order.source, reference=order.reference)
            return outcome(order, PushKind.UNCHANGED, "an older version of the shop order")
        if order.sync_state == SyncState.FAILED and not received.input_changed:
            # the same input failed before; only `failures retry` (or a changed order) tries again
            return outcome(order, PushKind.FAILED, order.last_error)
        try:
            if mapped.state is ShopOrderState.READY:
                return _push_ready(ctx, order, mapped)
            if mapped.state in (ShopOrderState.CANCELLED, ShopOrderState.DELETED):
                return cancel_in_picqer(ctx, order, mapped)
            return skip_unready(ctx, order, mapped)
        except (FatalError, SkippableError) as error:
            return _fail(ctx, order, error)


def record_failure(
    ctx: SyncContext,
    *,
    source: str,
    shop_order_id: str,
    shop_order_number: str,
    reason: str,
    step: str = "mapping",
) -> PushOutcome:
    """Record an order as failed before it reached ``push_order`` (the mapper raised, say)."""
    with session_scope(ctx.engine) as session:
        order = orders.ensure_order(
            session,
            source=source,
            shop_order_id=shop_order_id,
            shop_order_number=shop_order_number,
            reference=shop_order_number,
        )
        assert order.id is not None
        order = orders.update_order(
            session, order_id=order.id, sync_state=SyncState.FAILED, failed_step=step, last_error=reason
        )
    log.warning("order_failed", source=source, reference=shop_order_number, step=step, reason=reason)
    return outcome(order, PushKind.FAILED, reason)


@dataclass(frozen=True)
class _Received:
    order: Order
    stale: bool  # the mapped order is older than what the mirror saw last
    input_changed: bool  # the shop order differs from the one stored before


def _receive(ctx: SyncContext, mapped: MappedOrder) -> _Received:
    """The order's row with the shop's latest state stored."""
    shop_updated = naive_utc(mapped.shop_updated_at)
    with session_scope(ctx.engine) as session:
        order = orders.ensure_order(
            session,
            source=mapped.source,
            shop_order_id=mapped.shop_order_id,
            shop_order_number=mapped.shop_order_number,
            reference=reference_of(mapped),
        )
        assert order.id is not None
        if (
            shop_updated is not None
            and order.shop_updated_at is not None
            and shop_updated < order.shop_updated_at
        ):
            return _Received(order, stale=True, input_changed=False)
        mapped_json = mapped.model_dump(mode="json")
        input_changed = mapped_fingerprint(order.mapped_json) != mapped_fingerprint(mapped_json)
        fields: dict[str, Any] = {
            "shop_order_number": mapped.shop_order_number,
            "shop_status": mapped.shop_status,
            "shop_state": mapped.state.value,
            "shop_updated_at": shop_updated or order.shop_updated_at,
            "mapped_json": mapped_json,
        }
        if order.idorder is None:
            fields["reference"] = reference_of(mapped)
        order = orders.update_order(session, order_id=order.id, **fields)
        return _Received(order, stale=False, input_changed=input_changed)


def naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def mapped_fingerprint(mapped_json: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """What decides a push: the shop state and the draft (not the status words or timestamps)."""
    if mapped_json is None:
        return None
    return (mapped_json.get("state"), mapped_json.get("draft"))


def _push_ready(ctx: SyncContext, order: Order, mapped: MappedOrder) -> PushOutcome:
    draft = mapped.draft
    if draft is None:
        raise MappingError("the order is ready to ship but has no Picqer draft", field="draft")
    if order.sync_state in (SyncState.CANCELLED, SyncState.PAUSED) and order.idorder is not None:
        reason = (
            "the shop order is active again, but its Picqer order was cancelled or paused; decide by hand"
        )
        return _conflict(ctx, order, reason)
    if order.sync_step == SyncStep.PROCESSED and order.idorder is not None:
        return apply_shop_changes(ctx, order, draft)

    order = record(ctx, order, sync_state=SyncState.PENDING, attempts=order.attempts + 1)
    adopted_tags: set[int] | None = None
    try:
        if order.idorder is None:
            order, adopted_tags = _create(
                ctx, order, draft, shop_created_at=naive_utc(mapped.shop_created_at)
            )
        if order.sync_step in (SyncStep.CREATED, SyncStep.TAGGING):
            order = _tag(ctx, order, draft, known=adopted_tags)
        if order.sync_step in (SyncStep.TAGGED, SyncStep.PROCESSING):
            order = _process(ctx, order)
    except RetriableError as error:
        order = record(ctx, order, last_error=error.reason)  # reloads the step the attempt reached
        log.warning(
            "order_push_retry",
            source=order.source,
            reference=order.reference,
            idorder=order.idorder,
            step=order.sync_step,
            reason=error.reason,
        )
        raise
    log.info("order_pushed", source=order.source, reference=order.reference, idorder=order.idorder)
    if order.pushed_draft_hash != draft_hash(draft):
        # adopted, or changed in the shop while an earlier attempt was under way
        changed = apply_shop_changes(ctx, order, draft)
        if changed.kind is PushKind.CONFLICT:
            return changed
    return outcome(order, PushKind.PUSHED)


def _create(
    ctx: SyncContext, order: Order, draft: OrderDraft, *, shop_created_at: datetime | None
) -> tuple[Order, set[int] | None]:
    if order.sync_step == SyncStep.CREATING:
        # an earlier create has no known outcome (timeout, 5xx, the worker died): look first
        adopted = adopt_by_reference(ctx, order, pushed_draft=None)
        if adopted is not None:
            return adopted, None  # its tags are unknown: _tag asks Picqer
    elif check_reference(ctx, order.reference, shop_created_at=shop_created_at) is not Verdict.ABSENT:
        # Picqer may hold it already (the mirror is new or restored, another deployment or
        # connector made it): adopt it when it is this order, as the adoption rules tell
        sent = draft_json(draft)
        adopted = adopt_by_reference(
            ctx, order, pushed_draft=sent, expected=sent, pushed_draft_hash=draft_hash(draft)
        )
        if adopted is not None:
            return adopted, None
    # the draft is stored with the step: if this create's outcome turns out unknown and the
    # order is adopted later, this is what Picqer holds
    order = record(
        ctx,
        order,
        sync_step=SyncStep.CREATING,
        pushed_draft=draft_json(draft),
        pushed_draft_hash=draft_hash(draft),
    )
    try:
        created = ctx.picqer.create_order(draft.create_payload())
    except RateLimited:
        # a 429 means Picqer ignored the request: nothing can exist, no lookup needed next time
        record(ctx, order, sync_step=SyncStep.NONE)
        raise
    except ApiRejected as error:
        record(ctx, order, sync_step=SyncStep.NONE)  # rejected: nothing was created
        if error.error_code == UNKNOWN_PRODUCT_ERROR:
            raise UnknownProduct(_unknown_product_reason(ctx, draft, error)) from error
        raise
    order = _record_created(ctx, order, draft, created)
    return order, set()


def _record_created(ctx: SyncContext, order: Order, draft: OrderDraft, created: PicqerOrder) -> Order:
    """Picqer's new order in the mirror, at the step the push goes on with: tagging, or (no tags)
    tagged. One commit for both: nothing happens between them that a crash could lose, and a
    resumed TAGGING asks Picqer which tags are on it."""
    order_id = order.id
    assert order_id is not None
    with session_scope(ctx.engine) as session:
        order = orders.update_order(
            session,
            order_id=order_id,
            idorder=created.idorder,
            orderid=created.orderid,
            sync_step=SyncStep.TAGGING if draft.tags else SyncStep.TAGGED,
            picqer_status=created.status,
            picqer_updated=created.updated,
        )
        note_created(session, ctx, created)
        orders.replace_lines(
            session,
            order_id=order_id,
            lines=[
                OrderLine(
                    order_id=order_id,
                    productcode=line.productcode,
                    amount=line.amount,
                    name=line.name,
                    price=line.price,
                    shop_line_id=line.shop_line_id,
                )
                for line in draft.products
            ],
        )
    log.info("order_created", source=order.source, reference=order.reference, idorder=created.idorder)
    return order


def _tag(ctx: SyncContext, order: Order, draft: OrderDraft, *, known: set[int] | None) -> Order:
    """The draft's tags on the Picqer order. ``known``: the tags it has, when this attempt made it
    (none); None when an earlier attempt did or it was adopted, and Picqer is asked."""
    idorder = order.idorder
    assert idorder is not None
    if draft.tags:
        if order.sync_step != SyncStep.TAGGING:
            order = record(ctx, order, sync_step=SyncStep.TAGGING)
        idtags = ctx.tags.resolve(ctx.picqer, draft.tags, shared=ctx.shop_state)
        present = set(known or ())
        if known is None:
            # an earlier attempt may have added some: ask rather than add twice
            present = {tag.idtag for tag in ctx.picqer.list_order_tags(idorder)}
        for title, idtag in zip(draft.tags, idtags, strict=True):
            if idtag in present:
                continue
            try:
                ctx.picqer.add_order_tag(idorder, idtag)
            except ApiRejected as error:
                if error.status != 404:
                    raise
                # the tag was deleted in Picqer since we cached it: look it up (or create it) again
                ctx.tags.forget(idtag, shared=ctx.shop_state)
                [idtag] = ctx.tags.resolve(ctx.picqer, [title], shared=ctx.shop_state)
                if idtag not in present:
                    ctx.picqer.add_order_tag(idorder, idtag)
    # tagged, and about to be processed: one commit for both steps (nothing between them to lose; a
    # resumed PROCESSING asks Picqer whether it was processed)
    return record(ctx, order, sync_step=SyncStep.PROCESSING)


def _process(ctx: SyncContext, order: Order) -> Order:
    idorder = order.idorder
    assert idorder is not None
    if order.sync_step != SyncStep.PROCESSING:
        order = record(ctx, order, sync_step=SyncStep.PROCESSING)
    try:
        processed = ctx.picqer.process_order(idorder)
    except ApiRejected:
        # processed already (an earlier attempt, or a person in Picqer)? then the step is done
        processed = ctx.picqer.get_order(idorder)
        if processed.status in UNPROCESSED_STATUSES:
            raise
    # Picqer processes in the background and may still answer "concept"; the hooks bring the rest
    status = (
        processed.status if processed.status not in (None, PicqerStatus.CONCEPT) else PicqerStatus.PROCESSING
    )
    return record(
        ctx,
        order,
        sync_step=SyncStep.PROCESSED,
        sync_state=SyncState.SYNCED,
        picqer_status=status,
        picqer_updated=processed.updated or order.picqer_updated,
        last_error=None,
        failed_step=None,
    )


def _unknown_product_reason(ctx: SyncContext, draft: OrderDraft, error: ApiRejected) -> str:
    codes = list(dict.fromkeys(line.productcode for line in draft.products))
    message = error.error_message or ""
    missing = [code for code in codes if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", message)]
    if not missing:
        # Picqer's message does not name the code: ask per code (only on this failure path)
        missing = [code for code in codes if ctx.picqer.get_product_by_code(code) is None]
    if len(missing) == 1:
        return f"product code {missing[0]} is not in Picqer"
    if missing:
        return f"product codes {', '.join(missing)} are not in Picqer"
    return f"Picqer does not know a product of this order: {message or 'error 24'}"


def _fail(ctx: SyncContext, order: Order, error: FatalError | SkippableError) -> PushOutcome:
    reason = error.reason
    with session_scope(ctx.engine) as session:
        assert order.id is not None
        current = orders.get_order_by_id(session, order_id=order.id)
        step = current.sync_step if current is not None else order.sync_step
    if not step:
        step = "mapping" if isinstance(error, MappingError) else SyncStep.CREATING.value
    order = record(ctx, order, sync_state=SyncState.FAILED, failed_step=step, last_error=reason)
    log.warning(
        "order_failed",
        source=order.source,
        reference=order.reference,
        idorder=order.idorder,
        step=step,
        reason=reason,
    )
    return outcome(order, PushKind.FAILED, reason)


def _conflict(ctx: SyncContext, order: Order, reason: str) -> PushOutcome:
    order = record(ctx, order, sync_state=SyncState.CONFLICT, note=reason)
    log.warning(
        "order_conflict", source=order.source, reference=order.reference, idorder=order.idorder, reason=reason
    )
    return outcome(order, PushKind.CONFLICT, reason)
