"""Hook health: the Picqer hooks (and shop webhooks) that feed the receiver.

``hooks sync`` reconciles them (``worker/sync/hook_reconcile.py``: ours at an old address are moved,
ours no longer needed removed, hooks not ours never touched). ``sync_picqer_hooks`` and
``sync_shop_webhooks`` only add and reactivate at the current address, idempotently (the demo, and
the scheduler through ``check_hook_health``).
``check_hook_health`` (the scheduler) only repairs what exists: Picqer deactivates a hook after
repeated failed deliveries (facts sheet §5.5), so an inactive one of ours is reactivated; a missing
one is logged, never created behind the operator's back (``public_url`` may not be reachable from
Picqer yet).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from adapters.picqer.client import PicqerClient
from adapters.picqer.models import Hook
from adapters.registry import get_platform
from adapters.source import OrderSource
from adapters.types import PICQER
from worker import metrics
from worker.config import Settings, SourceSettings
from worker.db import hooks as hook_repo
from worker.db.session import session_scope
from worker.errors import SyncError
from worker.logging import get_logger
from worker.sync.context import SyncContext

log = get_logger(__name__)

PICQER_HOOK_EVENTS = (
    "orders.status_changed",
    "orders.completed",
    "orders.paused",
    "orders.resumed",
    "picklists.shipments.created",
)
PICQER_TARGET = PICQER
HOOK_NAME_PREFIX = "picqer-sync "  # every hook we create in Picqer is named this plus its event


@dataclass(frozen=True)
class HookResult:
    target: str  # "picqer" or a source name
    event: str
    # sync/check: ok, created, reactivated, replaced, missing, failed; a plan (``plan_hooks``):
    # keep, create, move, replace, reactivate, remove (and failed once applied)
    action: str
    remote_id: str | None = None
    detail: str | None = None
    address: str | None = None  # where the hook points (after the step, for a plan)


def picqer_hook_address(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/webhooks/picqer"


def source_hook_address(settings: Settings, source: SourceSettings) -> str:
    return settings.public_url.rstrip("/") + f"/webhooks/sources/{source.name}"


def secret_differs(hook: Hook, secret: str) -> bool:
    # Picqer answers the secret as a boolean (set or not) or echoes it; only a definite "no" or a
    # different string means its signatures would fail our check
    return hook.secret is False or (isinstance(hook.secret, str) and hook.secret != secret)


def _record(engine: Engine, result: HookResult, address: str, active: bool) -> None:
    if result.remote_id is None:
        return
    with session_scope(engine) as session:
        hook_repo.upsert_hook_registration(
            session,
            target=result.target,
            remote_id=result.remote_id,
            event=result.event,
            address=address,
            active=active,
        )


def _registered(engine: Engine, target: str, address: str) -> bool:
    with session_scope(engine) as session:
        return any(
            row.address == address for row in hook_repo.list_hook_registrations(session, target=target)
        )


def sync_picqer_hooks(client: PicqerClient, engine: Engine, *, address: str, secret: str) -> list[HookResult]:
    """One active hook per event at ``address`` with ``secret``: create, reactivate or replace."""
    existing = list(client.iter_hooks())
    results = []
    for event in PICQER_HOOK_EVENTS:
        ours = [hook for hook in existing if hook.event == event and hook.address == address]
        active = next((hook for hook in ours if hook.active), None)
        hook = active or (ours[0] if ours else None)
        try:
            if hook is not None and secret_differs(hook, secret):
                client.delete_hook(hook.idhook)
                hook = client.create_hook(
                    name=HOOK_NAME_PREFIX + event, event=event, address=address, secret=secret
                )
                action = "replaced"
            elif hook is None:
                hook = client.create_hook(
                    name=HOOK_NAME_PREFIX + event, event=event, address=address, secret=secret
                )
                action = "created"
            elif not hook.active:
                hook = client.reactivate_hook(hook.idhook)
                metrics.HOOKS_REACTIVATED.inc()
                action = "reactivated"
            else:
                action = "ok"
        except SyncError as error:
            results.append(HookResult(PICQER_TARGET, event, "failed", detail=error.reason))
            log.error("picqer_hook_sync_failed", picqer_event=event, reason=error.reason)
            continue
        result = HookResult(PICQER_TARGET, event, action, remote_id=str(hook.idhook))
        _record(engine, result, address, active=True)
        results.append(result)
        log.info("picqer_hook_synced", picqer_event=event, idhook=hook.idhook, action=action)
    return results


def check_picqer_hooks(client: PicqerClient, engine: Engine, *, address: str) -> list[HookResult]:
    """Reactivate our inactive hooks; report missing ones (the scheduler's hook health job)."""
    existing = [hook for hook in client.iter_hooks() if hook.address == address]
    results = []
    inactive = 0
    for event in PICQER_HOOK_EVENTS:
        ours = [hook for hook in existing if hook.event == event]
        if not ours:
            log.warning("picqer_hook_missing", picqer_event=event, hint="run `picqer-sync hooks sync`")
            results.append(HookResult(PICQER_TARGET, event, "missing"))
            continue
        hook = next((item for item in ours if item.active), ours[0])
        action = "ok"
        if not hook.active:
            inactive += 1
            try:
                hook = client.reactivate_hook(hook.idhook)
            except SyncError as error:
                log.error("picqer_hook_reactivate_failed", picqer_event=event, reason=error.reason)
                results.append(HookResult(PICQER_TARGET, event, "failed", str(hook.idhook), error.reason))
                _record(engine, results[-1], address, active=False)
                continue
            metrics.HOOKS_REACTIVATED.inc()
            log.warning("picqer_hook_reactivated", picqer_event=event, idhook=hook.idhook)
            action = "reactivated"
        result = HookResult(PICQER_TARGET, event, action, remote_id=str(hook.idhook))
        _record(engine, result, address, active=bool(hook.active) or action == "reactivated")
        results.append(result)
    metrics.HOOKS_INACTIVE.set(inactive)
    return results


def sync_shop_webhooks(
    settings: Settings,
    engine: Engine,
    *,
    open_source: Callable[[SourceSettings], OrderSource] | None = None,
    only_registered: bool = False,
) -> list[HookResult]:
    """The shops' order webhooks, for every enabled source whose platform package offers them.

    ``only_registered`` (the scheduler's check): only sources whose webhooks ``hooks sync`` set up
    for the current address are kept up, so a daemon never subscribes a shop by itself.
    """
    results = []
    for source in settings.sources:
        if not source.enabled:
            continue
        if only_registered and not _registered(engine, source.name, source_hook_address(settings, source)):
            continue
        platform = get_platform(source.platform)
        if platform.ensure_webhooks is None or platform.verify_webhook is None:
            results.append(
                HookResult(source.name, "-", "ok", detail=f"{platform.name} is polled (no webhooks)")
            )
            continue
        address = source_hook_address(settings, source)
        shop = open_source(source) if open_source else platform.source_class(source)
        try:
            secret = source.webhook_secret.get_secret_value() if source.webhook_secret else ""
            hooks = platform.ensure_webhooks(shop, address, secret)
        except SyncError as error:
            results.append(HookResult(source.name, "*", "failed", detail=error.reason))
            log.error("shop_webhook_sync_failed", source=source.name, reason=error.reason)
            continue
        finally:
            shop.close()
        for hook in hooks:
            topic = str(hook.get("topic") or "?")
            result = HookResult(source.name, topic, "ok", remote_id=str(hook.get("id")))
            _record(engine, result, address, active=str(hook.get("status", "active")) == "active")
            results.append(result)
    return results


def check_hook_health(ctx: SyncContext) -> list[HookResult]:
    """The scheduler's hook health job: our Picqer hooks reactivated, the shops' webhooks ensured.

    Shops drop webhooks too (WooCommerce disables one after failures, Shopify deletes it): ensuring
    the ones ``hooks sync`` set up is idempotent and reactivates what was disabled.
    """
    results = check_picqer_hooks(ctx.picqer, ctx.engine, address=picqer_hook_address(ctx.settings))
    return results + sync_shop_webhooks(ctx.settings, ctx.engine, only_registered=True)
