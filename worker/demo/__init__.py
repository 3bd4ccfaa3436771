"""``picqer-sync demo``: the whole pipeline on embedded defaults against the local sandbox.

Everything runs in this process on 127.0.0.1 ports the OS hands out: the sandbox (every simulator,
seeded), the receiver, the in-process queue with its worker threads, and a SQLite mirror in a
temporary directory. The steps are plain functions over a :class:`DemoStack`, so the end-to-end
tests drive the same building blocks (and may swap in PostgreSQL and a real Redis).

The demo's shops are fresh stores (``DEMO_SHOP``) rather than the seeded ``demo-shop`` ones, so the
summary shows exactly the orders the demo made and can say whether each one ended as expected.

One job a module:

- ``settings``: the embedded configuration (the demo's shop and sources)
- ``servers``: an ASGI app served by uvicorn in a thread on a free local port
- ``stack``: the sandbox, receiver, queue and mirror started (and stopped) together
- ``plan``: what each demo order must end as
- ``scenario``: hooks sync, the shop orders, shipping in Picqer
- ``observe``: reading back the mirror, the shops' fulfilments and Picqer's request log
- ``waiting``: bounded waits on the orders
- ``summary``: each order's outcome and the totals
- ``run``: ``run_demo``, all of the above in order
"""

from __future__ import annotations

from worker.demo.errors import DemoError
from worker.demo.observe import mirror_row, shop_tracking_codes
from worker.demo.plan import Expect, PlannedOrder
from worker.demo.run import run_demo
from worker.demo.scenario import (
    UNKNOWN_SKU,
    create_magento_order,
    create_shopify_order,
    create_woocommerce_order,
    ship_in_picqer,
    sync_hooks,
)
from worker.demo.settings import DEMO_SHOP, SOURCE_MAGENTO, SOURCE_SHOPIFY
from worker.demo.stack import MIRROR_FILE, DemoStack, remove_mirror, start_stack
from worker.demo.summary import DemoResult, OrderReport
from worker.demo.waiting import DEFAULT_TIMEOUT, wait_for, wait_until_fulfilled, wait_until_pushed

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEMO_SHOP",
    "MIRROR_FILE",
    "SOURCE_MAGENTO",
    "SOURCE_SHOPIFY",
    "UNKNOWN_SKU",
    "DemoError",
    "DemoResult",
    "DemoStack",
    "Expect",
    "OrderReport",
    "PlannedOrder",
    "create_magento_order",
    "create_shopify_order",
    "create_woocommerce_order",
    "mirror_row",
    "remove_mirror",
    "run_demo",
    "ship_in_picqer",
    "shop_tracking_codes",
    "start_stack",
    "sync_hooks",
    "wait_for",
    "wait_until_fulfilled",
    "wait_until_pushed",
]
