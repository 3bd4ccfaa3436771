"""Test doubles for the queue: handlers that record calls and fail on demand, settings helpers, and
a wait for a condition that another thread makes true."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from dramatiq.middleware import CurrentMessage
from pydantic import SecretStr

from worker.config import PicqerSettings, Settings, SourceSettings

WEBHOOK_SECRET = "picqer-hook-secret-123"
SHOP_SECRET = "shop-hook-secret-456"
EVENTUALLY_SECONDS = 10.0  # generous: what the tests wait for takes milliseconds


def eventually(condition: Callable[[], bool], what: str, *, seconds: float = EVENTUALLY_SECONDS) -> None:
    """Wait until ``condition()`` holds; fail, saying ``what``, after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(0.01)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite://",
        "redis_url": "",
        "picqer": PicqerSettings(
            url="http://picqer.invalid/api/v1/",
            api_key=SecretStr("picqer-api-key-789"),
            webhook_secret=SecretStr(WEBHOOK_SECRET),
        ),
        "sources": [
            SourceSettings(
                name="shop-nl",
                platform="shopify",
                url="http://shop.invalid",
                access_token=SecretStr("shop-token"),
                webhook_secret=SecretStr(SHOP_SECRET),
            ),
            SourceSettings(
                name="woo",
                platform="woocommerce",
                url="http://woo.invalid",
                consumer_key=SecretStr("ck"),
                consumer_secret=SecretStr("cs"),
                webhook_secret=SecretStr(SHOP_SECRET),
            ),
            SourceSettings(
                name="mage", platform="magento", url="http://mage.invalid", access_token=SecretStr("t")
            ),
        ],
    }
    values.update(overrides)
    return Settings(**values)


class RecordingHandlers:
    """Records every call with the message's retry count; ``behaviour[name]`` may raise.

    A dead letter is recorded as (the actor whose message died, its arguments, kwargs, reason).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.dead_letters: list[tuple[str, list[Any], dict[str, Any], str]] = []
        self.behaviour: dict[str, Callable[..., None]] = {}
        self.done = threading.Event()
        self._lock = threading.Lock()

    def _call(self, name: str, *args: Any) -> None:
        message = CurrentMessage.get_current_message()
        info = {
            "retries": message.options.get("retries", 0) if message else None,
            "rate_limit_waits": message.options.get("rate_limit_waits", 0) if message else None,
            "context": dict(structlog.contextvars.get_contextvars()),
        }
        with self._lock:
            self.calls.append((name, args, info))
        action = self.behaviour.get(name)
        if action is not None:
            action(*args)

    def calls_to(self, name: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
        return [call for call in self.calls if call[0] == name]

    def process_shop_event(self, inbox_id: int) -> None:
        self._call("process_shop_event", inbox_id)

    def process_picqer_event(self, inbox_id: int) -> None:
        self._call("process_picqer_event", inbox_id)

    def push_shop_order(self, source: str, shop_order_id: str) -> None:
        self._call("push_shop_order", source, shop_order_id)

    def report_fulfilment(self, order_row_id: int) -> None:
        self._call("report_fulfilment", order_row_id)

    def poll_source(self, source: str, **_: Any) -> None:
        self._call("poll_source", source)

    def reconcile(self, since: datetime | None) -> None:
        self._call("reconcile", since)

    def record_dead_inbox_event(self, inbox_id: int, reason: str) -> None:
        self._dead("inbox_event", [inbox_id], reason)  # either event actor

    def record_dead_push(self, source: str, shop_order_id: str, reason: str) -> None:
        self._dead("push_shop_order", [source, shop_order_id], reason)

    def record_dead_fulfilment(self, order_row_id: int, reason: str) -> None:
        self._dead("report_fulfilment", [order_row_id], reason)

    def _dead(self, actor_name: str, args: list[Any], reason: str) -> None:
        with self._lock:
            self.dead_letters.append((actor_name, args, {}, reason))
        self.done.set()
