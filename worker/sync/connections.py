"""Can we reach Picqer and each shop with the configured credentials? One cheap call each.

For ``picqer-sync sources check``: a person who just pasted keys into the config wants to hear, per
shop, "these work" or exactly what the shop said, before any order depends on it. Each check sends
one request: Picqer's warehouse list, and a shop's first page of orders changed in the last day
(which needs the order-reading right the sync needs). Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.errors import AuthenticationFailed, ConfigError, SyncError
from adapters.picqer.client import PicqerClient
from adapters.source import OrderSource
from adapters.types import PICQER
from worker.config import SourceSettings
from worker.logging import get_logger

log = get_logger(__name__)

LOOK_BACK = timedelta(days=1)


@dataclass(frozen=True)
class ConnectionCheck:
    target: str  # "picqer" or a source name
    platform: str
    auth: str  # the auth scheme in use
    ok: bool
    detail: str  # what worked, or what the other side answered (never a secret)


def check_picqer(client: PicqerClient, *, url: str) -> ConnectionCheck:
    """Picqer: list the warehouses (one request)."""
    try:
        warehouses = next(client.iter_warehouses(), None)
    except SyncError as error:
        return _failed(PICQER, PICQER, "api key", error)
    found = "a warehouse" if warehouses is not None else "no warehouse yet"
    return ConnectionCheck(PICQER, PICQER, "api key", True, f"{url} accepted the key; it has {found}")


def check_source(
    source: SourceSettings, *, open_source: Callable[[SourceSettings], OrderSource], now: datetime
) -> ConnectionCheck:
    """One shop: read the first page of its orders changed in the last day."""
    scheme = source.auth_scheme()
    try:
        shop = open_source(source)
    except ConfigError as error:
        return ConnectionCheck(source.name, source.platform, scheme, False, error.reason)
    try:
        first = next(iter(shop.iter_orders(now - LOOK_BACK)), None)
    except SyncError as error:
        return _failed(source.name, source.platform, scheme, error)
    finally:
        shop.close()
    seen = "an order changed in the last day" if first is not None else "no order changed in the last day"
    return ConnectionCheck(source.name, source.platform, scheme, True, f"orders readable ({seen})")


def _failed(target: str, platform: str, scheme: str, error: SyncError) -> ConnectionCheck:
    hint = (
        " (check the credentials and the rights they grant)"
        if isinstance(error, AuthenticationFailed)
        else ""
    )
    log.warning("connection_check_failed", target=target, reason=error.reason)
    return ConnectionCheck(target, platform, scheme, False, error.reason + hint)
