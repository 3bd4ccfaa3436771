"""The Magento simulator's memory: shops by name and the API request log, behind one re-entrant lock.

uvicorn serves requests from a thread pool; every read or change of a shop holds ``lock``.
"""

from __future__ import annotations

import threading
from collections import deque

from sandbox.clock import Clock
from sandbox.magento.store import MagentoShop

REQUEST_LOG_SIZE = 1000


class MagentoState:
    def __init__(self, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.shops: dict[str, MagentoShop] = {}
        # "GET /magento/demo-shop/rest/V1/orders?...", for tests that count pages; bounded for long demos
        self.requests: deque[str] = deque(maxlen=REQUEST_LOG_SIZE)

    def clear(self) -> None:
        with self.lock:
            self.shops.clear()
            self.requests.clear()

    def shop(self, name: str) -> MagentoShop:
        """The shop called ``name``, created empty on first use (control side only)."""
        with self.lock:
            if name not in self.shops:
                self.shops[name] = MagentoShop(name=name, clock=self.clock)
            return self.shops[name]

    def find(self, name: str) -> MagentoShop | None:
        """The shop called ``name`` if it exists (the API never creates one)."""
        with self.lock:
            return self.shops.get(name)
