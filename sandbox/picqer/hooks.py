"""Picqer hooks: registration rules, and signed deliveries of the events raised by a request.

Envelope ``{idhook, name, event, event_triggered_at, data}``; header ``X-Picqer-Signature`` =
base64(HMAC-SHA256(secret, raw body)), absent when the hook has no secret (facts §5.3, §5.4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sandbox.delivery import Delivery
from sandbox.picqer.errors import invalid, missing
from sandbox.picqer.formats import picqer_time
from sandbox.picqer.models import Hook
from sandbox.picqer.serialize import order_json, picklist_json, shipment_json
from sandbox.picqer.state import PendingEvent, PicqerState

EVENTS = frozenset(
    {
        "orders.created",
        "orders.allocated",
        "orders.closed",
        "orders.paused",
        "orders.resumed",
        "orders.status_changed",
        "orders.completed",
        "orders.notes.created",
        "picklists.created",
        "picklists.changed",
        "picklists.paused",
        "picklists.resumed",
        "picklists.closed",
        "picklists.cancelled",
        "picklists.shipments.created",
        "products.changed",
        "products.free_stock_changed",
        "products.stock_changed",
    }
)
# Picqer deactivates a hook whose deliveries keep failing (UNCONFIRMED: 5 failures in 24 hours).
DEACTIVATE_AFTER_FAILURES = 5
USER_AGENT = "Picqer Webhooks (sandbox)"


@dataclass(frozen=True)
class HookDelivery:
    idhook: int
    delivery: Delivery


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def create_hook(state: PicqerState, body: dict[str, Any]) -> Hook:
    absent = [
        name for name in ("name", "event", "address") if not isinstance(body.get(name), str) or not body[name]
    ]
    if absent:
        raise missing(*absent)
    if body["event"] not in EVENTS:
        raise invalid(f"Unknown event: {body['event']}")
    if urlparse(body["address"]).scheme not in ("http", "https"):
        raise invalid("address must be an http(s) URL")
    _check_unique(state, body["address"], body["event"], exclude=None)
    secret = body.get("secret")
    hook = Hook(
        idhook=state.next_id("hook"),
        name=body["name"],
        event=body["event"],
        address=body["address"],
        secret=str(secret) if secret else None,
    )
    state.hooks[hook.idhook] = hook
    return hook


def reactivate_hook(state: PicqerState, hook: Hook) -> None:
    _check_unique(state, hook.address, hook.event, exclude=hook.idhook)
    hook.active = True
    hook.failures = 0


def _check_unique(state: PicqerState, address: str, event: str, *, exclude: int | None) -> None:
    for other in state.hooks.values():
        if other.active and other.idhook != exclude and other.address == address and other.event == event:
            raise invalid("The combination of hook address and hook event must be unique")


def build_deliveries(state: PicqerState, events: list[PendingEvent]) -> list[HookDelivery]:
    """Serialise each event for every active hook on it, as the subject is now (end of request)."""
    deliveries: list[HookDelivery] = []
    for event in events:
        hooks = [h for h in state.hooks.values() if h.active and h.event == event.event]
        if not hooks:
            continue
        data = _subject_json(state, event)
        if data is None:
            continue
        for hook in hooks:
            envelope = {
                "idhook": hook.idhook,
                "name": hook.name,
                "event": event.event,
                "event_triggered_at": picqer_time(event.triggered_at),
                "data": data,
            }
            raw = json.dumps(envelope).encode()
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
            if hook.secret:
                headers["X-Picqer-Signature"] = sign(raw, hook.secret)
            deliveries.append(HookDelivery(hook.idhook, Delivery(hook.address, headers, raw, event.event)))
    return deliveries


def _subject_json(state: PicqerState, event: PendingEvent) -> dict[str, Any] | None:
    if event.kind == "order" and event.subject_id in state.orders:
        return order_json(state, state.orders[event.subject_id])
    if event.kind == "picklist" and event.subject_id in state.picklists:
        return picklist_json(state, state.picklists[event.subject_id])
    if event.kind == "shipment" and event.subject_id in state.shipments:
        return shipment_json(state.shipments[event.subject_id])
    return None


def record_outcome(state: PicqerState, idhook: int, delivery: Delivery) -> None:
    """Count consecutive failures; enough of them deactivate the hook, as Picqer does."""
    hook = state.hooks.get(idhook)
    if hook is None or delivery.dropped or delivery.attempts == 0:
        return
    if delivery.error is None and delivery.status is not None and 200 <= delivery.status < 300:
        hook.failures = 0
        return
    hook.failures += 1
    if hook.failures >= DEACTIVATE_AFTER_FAILURES:
        hook.active = False
