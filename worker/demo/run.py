"""The demo from start to verdict: start the stack, run the scenario, report every order."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path

import httpx

from worker.demo.errors import DemoError
from worker.demo.observe import picqer_request_counts
from worker.demo.plan import PlannedOrder
from worker.demo.scenario import create_demo_orders, ship_in_picqer, sync_hooks
from worker.demo.stack import DEFAULT_FULFILMENT_DELAY_MS, MIRROR_FILE, DemoStack, start_stack
from worker.demo.summary import DemoResult, report
from worker.demo.waiting import DEFAULT_TIMEOUT, wait_until_fulfilled, wait_until_pushed
from worker.logging import get_logger
from worker.sync.hooks import PICQER_TARGET

log = get_logger("worker.demo")  # one logger name for the whole demo, whichever module logs

Progress = Callable[[str], None]


def run_demo(
    *,
    keep: Path | None = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    fulfilment_delay_ms: int = DEFAULT_FULFILMENT_DELAY_MS,
) -> DemoResult:
    """The whole pipeline against the sandbox; the result says what happened to every order.

    Never raises for a step that did not finish: ``result.error`` says which, and the orders are
    reported as far as they got. ``keep`` keeps the mirror's SQLite file in that directory.
    """
    say = progress or (lambda _: None)
    started = time.monotonic()
    result = DemoResult()
    with ExitStack() as cleanup:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            workdir = keep
        else:
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="picqer-sync-demo-")))
        planned: list[PlannedOrder] = []
        stack: DemoStack | None = None
        try:
            stack = cleanup.enter_context(start_stack(workdir, fulfilment_delay_ms=fulfilment_delay_ms))
            say(f"sandbox serving Picqer, Shopify, WooCommerce and Magento at {stack.sandbox_url}")
            threads = stack.settings.worker_threads
            say(f"receiver at {stack.receiver_url}, {threads} worker threads, in-process queue")
            hooks = sync_hooks(stack)
            picqer_hooks = sum(1 for hook in hooks if hook.target == PICQER_TARGET)
            shop_hooks = sum(1 for hook in hooks if hook.target != PICQER_TARGET and hook.remote_id)
            say(f"hooks sync: {picqer_hooks} Picqer hooks, {shop_hooks} shop webhooks point at the receiver")
            planned = create_demo_orders(stack)
            for order in planned:
                say(f"created {order.platform} order {order.shop_order_number}: {order.description}")
            say("fired Magento's poll (it sends no webhooks)")
            wait_until_pushed(stack, planned, timeout=timeout)
            say("Picqer has the paid orders, processed; the failure and the unpaid order are recorded")
            shipped = ship_in_picqer(stack, planned)
            say(f"shipped {len(shipped)} orders in the Picqer warehouse (sandbox)")
            wait_until_fulfilled(stack, planned, shipped, timeout=timeout)
            say("Picqer's hooks completed them in the mirror; each shop recorded its fulfilment")
        except DemoError as error:
            result.error = str(error)
        except httpx.HTTPError as error:
            result.error = f"the sandbox did not answer: {type(error).__name__}: {error}"
        except Exception as error:
            # a demo reports what broke next to how far the orders got, rather than a bare traceback
            log.exception("demo_failed")
            result.error = f"unexpected {type(error).__name__}: {str(error)[:300]}"
        if stack is not None:
            result.orders = [report(stack, order) for order in planned]
            with suppress(DemoError, httpx.HTTPError):  # the counts are a nicety; the orders are the verdict
                result.picqer_requests, result.rate_limited = picqer_request_counts(stack)
        if keep is not None and (keep / MIRROR_FILE).exists():
            result.mirror = str((keep / MIRROR_FILE).resolve())
    result.seconds = time.monotonic() - started
    return result
