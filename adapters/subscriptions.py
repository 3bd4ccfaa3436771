"""What ``hooks sync`` needs of a shop's webhook subscriptions, alike for every platform.

Each ``adapters/<platform>/subscriptions.py`` that has webhooks declares ``ADMIN``, a
:class:`WebhookAdmin` over its own calls: list every subscription of the app, create one, move one
to another address, reactivate one the shop disabled, remove one. Subscriptions come back as
:class:`Subscription`, whatever the platform's own shape. Magento has none (``ADMIN = None``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.errors import ConfigError
from adapters.types import PLATFORM_NAMES


@dataclass(frozen=True)
class Subscription:
    """One webhook subscription as the shop lists it."""

    id: str
    topic: str
    address: str
    active: bool = True
    name: str = ""


@dataclass(frozen=True)
class WebhookAdmin:
    """A platform's subscription calls; each takes the platform's ``OrderSource`` first."""

    list: Callable[[Any], list[Subscription]]
    create: Callable[[Any, str, str, str], Subscription]  # (source, topic, address, secret)
    move: Callable[[Any, Subscription, str, str], Subscription]  # (source, hook, address, secret)
    remove: Callable[[Any, Subscription], None]
    # None: the shop never disables a subscription (Shopify deletes it instead)
    reactivate: Callable[[Any, Subscription, str], Subscription] | None = None


def webhook_admin(platform: str) -> WebhookAdmin | None:
    """``adapters.<platform>.subscriptions.ADMIN``: None for a platform without webhooks."""
    if platform not in PLATFORM_NAMES:
        raise ConfigError(f"unknown platform {platform!r} (known: {', '.join(PLATFORM_NAMES)})")
    admin = getattr(importlib.import_module(f"adapters.{platform}.subscriptions"), "ADMIN", None)
    return admin if isinstance(admin, WebhookAdmin) else None
