"""The shop side: paid orders made in the three shops at a steady rate, and what each must become.

Shopify and WooCommerce send their signed webhooks as each order is made (the faults may double,
drop or hold them back); Magento has no order webhooks, so its orders come in by the poll. A few
unpaid orders are mixed in: they must never reach Picqer.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from tests.chaos.harness.config import SOURCES
from tests.chaos.harness.sandbox import Sandbox, SandboxError

SHOPIFY_TEMPLATES = ("ipod", "tshirt", "mug")
WOO_LINES = (("IPOD2008RED", "240-LV08"), ("WS12-M-Orange",), ("24-WG084", "Bar3"), ("IPOD2008BLACK",))
PLATFORM_SOURCE = {platform: name for name, (platform, _) in SOURCES.items()}


@dataclass(frozen=True)
class MadeOrder:
    source: str
    platform: str
    shop_order_id: str
    number: str
    paid: bool
    made_at: float  # time.time() when the shop's call returned

    @property
    def reference(self) -> str:
        """Picqer's reference for it: the source's prefix and the shop's order number."""
        return f"{SOURCES[self.source][1]}{self.number}"


@dataclass(frozen=True)
class LoadPlan:
    shopify: int
    woocommerce: int
    magento: int
    unpaid_every: int  # every n-th Shopify and WooCommerce order is unpaid (0: none)
    seconds: float  # spread over this long
    makers: int = 4  # threads: a shop call waits for its webhooks' answers

    @property
    def paid(self) -> int:
        return self.shopify + self.woocommerce + self.magento

    def items(self, rng: random.Random) -> list[tuple[str, bool]]:
        """(platform, paid) for every order, shuffled; the unpaid ones come on top of ``paid``."""
        items = [("shopify", True)] * self.shopify + [("woocommerce", True)] * self.woocommerce
        items += [("magento", True)] * self.magento
        if self.unpaid_every:
            unpaid = (self.shopify + self.woocommerce) // self.unpaid_every
            items += [("shopify", False), ("woocommerce", False)] * (unpaid // 2)
        rng.shuffle(items)
        return items


class OrderLoad:
    """Makes the plan's orders in a few threads, each at its scheduled moment."""

    def __init__(self, sandbox: Sandbox, plan: LoadPlan, *, seed: int = 11) -> None:
        self.sandbox = sandbox
        self.plan = plan
        self.made: list[MadeOrder] = []
        self.errors: list[str] = []  # shop calls that failed (the sandbox itself misbehaving)
        self._items = plan.items(random.Random(seed))
        self._templates: Iterator[str] = itertools.cycle(SHOPIFY_TEMPLATES)
        self._lines: Iterator[tuple[str, ...]] = itertools.cycle(WOO_LINES)
        self._lock = threading.Lock()
        self._next = 0
        self._started = 0.0
        self._threads = [
            threading.Thread(target=self._make, name=f"chaos-maker-{i}", daemon=True)
            for i in range(plan.makers)
        ]

    def start(self) -> None:
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    @property
    def done(self) -> bool:
        return not any(thread.is_alive() for thread in self._threads)

    def _take(self) -> tuple[float, str, bool] | None:
        with self._lock:
            if self._next >= len(self._items):
                return None
            index, self._next = self._next, self._next + 1
            platform, paid = self._items[index]
        due = self._started + self.plan.seconds * index / len(self._items)
        return due, platform, paid

    def _make(self) -> None:
        while (taken := self._take()) is not None:
            due, platform, paid = taken
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                made = self._make_one(platform, paid)
            except SandboxError as error:
                with self._lock:
                    self.errors.append(str(error))
                continue
            with self._lock:
                self.made.append(made)

    def _make_one(self, platform: str, paid: bool) -> MadeOrder:
        with self._lock:
            template, lines = next(self._templates), next(self._lines)
        if platform == "shopify":
            shop_order_id, number = self.sandbox.create_shopify_order(paid=paid, template=template)
        elif platform == "woocommerce":
            shop_order_id, number = self.sandbox.create_woocommerce_order(paid=paid, skus=lines)
        else:
            shop_order_id, number = self.sandbox.create_magento_order()
        return MadeOrder(
            source=PLATFORM_SOURCE[platform],
            platform=platform,
            shop_order_id=shop_order_id,
            number=number,
            paid=paid,
            made_at=time.time(),
        )
