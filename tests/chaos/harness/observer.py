"""When each order reached Picqer: a thread that reads Picqer's orders every ``EVERY_SECONDS``.

An order has reached Picqer when Picqer holds it in status ``processing`` (created, tagged and
processed). The first moment the observer sees that is its arrival, to within ``EVERY_SECONDS``;
the recovery time is measured from those moments, never from the harness's own waits.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.chaos.harness.sandbox import Sandbox

EVERY_SECONDS = 2.0  # a read of ~550 orders costs the sandbox ~0.1 s of a core
PROCESSED = "processing"


class ArrivalObserver:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.arrived: dict[str, float] = {}  # reference -> time.time() first seen processing
        self.latest: list[dict[str, Any]] = []
        self.read_errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="chaos-observer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def look(self) -> list[dict[str, Any]]:
        """Read Picqer's orders now and note new arrivals."""
        try:
            orders = self.sandbox.picqer_orders()
        except Exception:  # the sandbox is busy; the next look will do
            self.read_errors += 1
            return self.latest
        seen = time.time()
        for order in orders:
            if order["status"] == PROCESSED:
                self.arrived.setdefault(str(order["reference"]), seen)
        self.latest = orders
        return orders

    def _watch(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.look()
            self._stop.wait(max(0.0, EVERY_SECONDS - (time.monotonic() - began)))
