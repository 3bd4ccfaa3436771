"""The chaos run's stack: the demo's in-process pipeline, tuned so faults resolve in seconds, not hours.

What is changed against the demo (and why), all through the stack, never in production code:

- the Picqer client timeout is lowered to ``CLIENT_TIMEOUT`` seconds (the demo uses 10 s), so a
  ``timeout_after_write`` answer delayed by ``AFTER_WRITE_DELAY`` is a real client timeout;
- dramatiq's backoffs are lowered on the declared actors (``actor.options``, which dramatiq's
  ``Retries`` reads before its own defaults): 5 s .. 15 min becomes ``MIN_BACKOFF_MS`` ..
  ``MAX_BACKOFF_MS``; ``max_retries`` stays as production has it;
- the fulfilment report waits ``FULFILMENT_DELAY_MS`` after a completion (production: 10 s);
- the WooCommerce source force-cancels a paid order cancelled while Picqer processes it, the
  Shopify source pauses it (the default), so both ``on_cancel_processing`` policies are exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.demo import DemoStack, start_stack
from worker.logging import configure_logging

CLIENT_TIMEOUT = 1.5  # seconds; the Picqer client gives up on an answer after this long
AFTER_WRITE_DELAY = 3.0  # seconds a "timeout after write" answer is held back: longer than the above
MIN_BACKOFF_MS = 200
MAX_BACKOFF_MS = 2_000
FULFILMENT_DELAY_MS = 1_000
WORKER_THREADS = 6


@pytest.fixture
def chaos_stack(tmp_path: Path) -> Iterator[DemoStack]:
    # retries under chaos log a warning each; -s shows the errors (dead letters) and the summary
    configure_logging(log_format="console", level="ERROR")
    assert CLIENT_TIMEOUT < AFTER_WRITE_DELAY
    with start_stack(
        tmp_path,
        fulfilment_delay_ms=FULFILMENT_DELAY_MS,
        threads=WORKER_THREADS,
        picqer_timeout=CLIENT_TIMEOUT,
    ) as stack:
        stack.source("woocommerce").on_cancel_processing = "force_cancel"
        actors = stack.app.actors
        for actor in (
            actors.process_shop_event,
            actors.process_picqer_event,
            actors.push_shop_order,
            actors.report_fulfilment,
            actors.poll_source,
            actors.reconcile,
            actors.record_dead_letter,
        ):
            actor.options.update(min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS)
        yield stack
