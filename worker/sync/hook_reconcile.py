"""``hooks sync``: reconcile our Picqer hooks and shop webhooks with the current ``public_url``.

Which hooks are ours: a Picqer hook whose name starts with ``HOOK_NAME_PREFIX`` or whose address
path ends in ``/webhooks/picqer``; a shop webhook whose address path ends in
``/webhooks/sources/{name}``, for this source's name or for a name no longer in the config (a source
renamed or removed). Every other hook belongs to someone else and is never touched.

Per target and event the plan picks one hook of ours (at the current address first, an active one
first) and says what it needs: ``keep``; ``create`` (none); ``move`` (it points elsewhere: Picqer
hooks cannot be edited, so a new one is created and the old one deleted; Shopify the same; Woo
``PUT``s the new ``delivery_url``); ``replace`` (a Picqer hook with another secret); ``reactivate``
(disabled). Every other hook of ours (a duplicate, an event we no longer use) is ``remove``d. Picqer's
``DELETE`` only deactivates a hook, so an inactive Picqer hook of ours that the plan does not pick
counts as gone already: a second run plans only ``keep``.

A dry run lists and plans; it sends nothing and writes nothing. A real run applies the plan and
keeps ``hook_registrations`` in step (rows of moved-away and removed hooks are deleted).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from adapters.picqer.client import PicqerClient
from adapters.picqer.models import Hook
from adapters.registry import get_platform
from adapters.source import OrderSource
from adapters.subscriptions import Subscription, WebhookAdmin, webhook_admin
from worker import metrics
from worker.config import Settings, SourceSettings
from worker.db import hooks as hook_repo
from worker.db.session import session_scope
from worker.errors import SyncError
from worker.logging import get_logger
from worker.sync.hooks import (
    HOOK_NAME_PREFIX,
    PICQER_HOOK_EVENTS,
    PICQER_TARGET,
    HookResult,
    picqer_hook_address,
    secret_differs,
    source_hook_address,
)

log = get_logger(__name__)

PICQER_HOOK_PATH = "/webhooks/picqer"
SOURCE_HOOK_PATH = re.compile(r"/webhooks/sources/(?P<name>[^/]+)$")
KEEP, CREATE, MOVE, REPLACE, REACTIVATE, REMOVE = (
    "keep",
    "create",
    "move",
    "replace",
    "reactivate",
    "remove",
)


@dataclass(frozen=True)
class HookStep:
    """One line of the plan: ``action`` on ``hook`` (None for a create) so it points at ``address``."""

    target: str
    event: str
    action: str
    address: str  # where the hook points after the step (for a remove: where it points now)
    hook: Subscription | None = None

    def result(self, remote_id: str | None = None, *, detail: str | None = None) -> HookResult:
        moved_from = self.hook.address if self.action == MOVE and self.hook else None
        return HookResult(
            self.target,
            self.event,
            self.action,
            remote_id=remote_id if remote_id is not None else (self.hook.id if self.hook else None),
            detail=detail or (f"from {moved_from}" if moved_from else None),
            address=self.address,
        )


def _path(address: str) -> str:
    return urlsplit(address).path.rstrip("/")


def is_our_picqer_hook(hook: Subscription) -> bool:
    return hook.name.startswith(HOOK_NAME_PREFIX) or _path(hook.address).endswith(PICQER_HOOK_PATH)


def is_our_shop_webhook(hook: Subscription, *, source: str, configured: Iterable[str]) -> bool:
    """Ours for ``source``: its own path, or the path of a source the config no longer has."""
    match = SOURCE_HOOK_PATH.search(_path(hook.address))
    if match is None:
        return False
    name = match.group("name")
    return name == source or name not in set(configured)


def plan_target(
    target: str,
    hooks: Sequence[Subscription],
    *,
    events: Iterable[str],
    address: str,
    stale: Callable[[Subscription], bool] = lambda _hook: False,
    deletes_for_real: bool = True,
) -> list[HookStep]:
    """The steps that leave one active hook of ours per event at ``address`` (``hooks`` are ours)."""
    steps: list[HookStep] = []
    picked: set[str] = set()
    for event in events:
        same = [hook for hook in hooks if hook.topic == event]
        hook = _first(hook for hook in same if hook.address == address) or _first(same)
        if hook is None:
            steps.append(HookStep(target, event, CREATE, address))
            continue
        picked.add(hook.id)
        if hook.address != address:
            action = MOVE
        elif stale(hook):
            action = REPLACE
        elif not hook.active:
            action = REACTIVATE
        else:
            action = KEEP
        steps.append(HookStep(target, event, action, address, hook))
    for hook in hooks:
        if hook.id in picked or (not deletes_for_real and not hook.active):
            continue
        steps.append(HookStep(target, hook.topic, REMOVE, hook.address, hook))
    return steps


def _first(hooks: Iterable[Subscription]) -> Subscription | None:
    """The first active one, else the first."""
    listed = list(hooks)
    return next((hook for hook in listed if hook.active), listed[0] if listed else None)


# -- Picqer ----------------------------------------------------------------------------------------


def _picqer_subscription(hook: Hook) -> Subscription:
    return Subscription(
        id=str(hook.idhook),
        topic=hook.event or "",
        address=hook.address or "",
        active=bool(hook.active),
        name=hook.name or "",
    )


def reconcile_picqer_hooks(
    client: PicqerClient, engine: Engine, *, address: str, secret: str, dry_run: bool = False
) -> list[HookResult]:
    """Plan (and unless ``dry_run``, apply) our Picqer hooks; see the module docstring."""
    try:
        listed = list(client.iter_hooks())
    except SyncError as error:
        return [HookResult(PICQER_TARGET, "*", "failed", detail=error.reason)]
    by_id = {str(hook.idhook): hook for hook in listed}
    ours = [hook for hook in map(_picqer_subscription, listed) if is_our_picqer_hook(hook)]
    steps = plan_target(
        PICQER_TARGET,
        ours,
        events=PICQER_HOOK_EVENTS,
        address=address,
        stale=lambda hook: secret_differs(by_id[hook.id], secret),
        deletes_for_real=False,
    )
    if dry_run:
        return [step.result() for step in steps]
    return [_apply(engine, step, lambda step: _apply_picqer(client, step, secret)) for step in steps]


def _apply_picqer(client: PicqerClient, step: HookStep, secret: str) -> str | None:
    """Do one step in Picqer; the id of the hook that now serves the event (None for a remove)."""
    old = step.hook

    def create() -> str:
        made = client.create_hook(
            name=HOOK_NAME_PREFIX + step.event, event=step.event, address=step.address, secret=secret
        )
        return str(made.idhook)

    if step.action == CREATE:
        return create()
    assert old is not None  # every other step acts on an existing hook
    if step.action == MOVE:
        made = create()  # first: no gap in deliveries
        if old.active:
            client.delete_hook(int(old.id))
        return made
    if step.action == REPLACE:  # the same address and event: Picqer allows one active
        client.delete_hook(int(old.id))
        return create()
    if step.action == REACTIVATE:
        client.reactivate_hook(int(old.id))
        metrics.HOOKS_REACTIVATED.inc()
        return old.id
    if step.action == REMOVE:
        client.delete_hook(int(old.id))
        return None
    return old.id


# -- shops -----------------------------------------------------------------------------------------


def reconcile_shop_webhooks(
    settings: Settings,
    engine: Engine,
    *,
    dry_run: bool = False,
    open_source: Callable[[SourceSettings], OrderSource] | None = None,
) -> list[HookResult]:
    """Plan (and unless ``dry_run``, apply) every enabled source's order webhooks.

    A disabled source's shop is not contacted at all: its webhooks stay as they are.
    """
    configured = [source.name for source in settings.sources]
    results: list[HookResult] = []
    for source in settings.sources:
        if not source.enabled:
            continue
        platform = get_platform(source.platform)
        admin = webhook_admin(platform.name)
        if admin is None:
            detail = f"{platform.name} is polled (no webhooks)"
            results.append(HookResult(source.name, "-", KEEP, detail=detail))
            continue
        shop = open_source(source) if open_source else platform.source_class(source)
        try:
            results += _reconcile_shop(
                engine, shop, admin, source, settings, configured, platform.webhook_topics, dry_run
            )
        finally:
            shop.close()
    return results


def _reconcile_shop(
    engine: Engine,
    shop: OrderSource,
    admin: WebhookAdmin,
    source: SourceSettings,
    settings: Settings,
    configured: Sequence[str],
    topics: Sequence[str],
    dry_run: bool,
) -> list[HookResult]:
    address = source_hook_address(settings, source)
    try:
        listed = admin.list(shop)
    except SyncError as error:
        log.error("shop_webhook_sync_failed", source=source.name, reason=error.reason)
        return [HookResult(source.name, "*", "failed", detail=error.reason)]
    ours = [hook for hook in listed if is_our_shop_webhook(hook, source=source.name, configured=configured)]
    steps = plan_target(source.name, ours, events=topics, address=address)
    if dry_run:
        return [step.result() for step in steps]
    secret = source.webhook_secret.get_secret_value() if source.webhook_secret else ""
    return [_apply(engine, step, lambda step: _apply_shop(shop, admin, step, secret)) for step in steps]


def _apply_shop(shop: OrderSource, admin: WebhookAdmin, step: HookStep, secret: str) -> str | None:
    old = step.hook
    if step.action == CREATE:
        return admin.create(shop, step.event, step.address, secret).id
    assert old is not None
    if step.action in (MOVE, REPLACE):
        return admin.move(shop, old, step.address, secret).id
    if step.action == REACTIVATE:
        if admin.reactivate is None:
            return admin.move(shop, old, step.address, secret).id
        return admin.reactivate(shop, old, secret).id
    if step.action == REMOVE:
        admin.remove(shop, old)
        return None
    return old.id


# -- both ------------------------------------------------------------------------------------------


def _apply(engine: Engine, step: HookStep, do: Callable[[HookStep], str | None]) -> HookResult:
    """One step, logged and mirrored in ``hook_registrations``; a failure is reported, not raised."""
    try:
        remote_id = do(step)
    except SyncError as error:
        log.error("hook_sync_failed", target=step.target, hook_event=step.event, reason=error.reason)
        return HookResult(step.target, step.event, "failed", detail=error.reason, address=step.address)
    with session_scope(engine) as session:
        if step.hook is not None and step.hook.id != remote_id:
            hook_repo.delete_hook_registration(session, target=step.target, remote_id=step.hook.id)
        if remote_id is not None:
            hook_repo.upsert_hook_registration(
                session,
                target=step.target,
                remote_id=remote_id,
                event=step.event,
                address=step.address,
                active=True,
            )
    log.info(
        "hook_synced", target=step.target, hook_event=step.event, action=step.action, remote_id=remote_id
    )
    return step.result(remote_id)


def reconcile_hooks(
    settings: Settings,
    engine: Engine,
    client: PicqerClient,
    *,
    secret: str,
    picqer: bool = True,
    shops: bool = True,
    dry_run: bool = False,
    open_source: Callable[[SourceSettings], OrderSource] | None = None,
) -> list[HookResult]:
    """``hooks sync``: Picqer's hooks, then each enabled source's webhooks."""
    results: list[HookResult] = []
    if picqer:
        results += reconcile_picqer_hooks(
            client, engine, address=picqer_hook_address(settings), secret=secret, dry_run=dry_run
        )
    if shops:
        results += reconcile_shop_webhooks(settings, engine, dry_run=dry_run, open_source=open_source)
    return results
