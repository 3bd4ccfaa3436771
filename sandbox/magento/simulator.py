"""The Magento 2 REST simulator: orders with searchCriteria, the ship endpoint, shipments, API faults.

``api`` (see api.py) is mounted at ``/magento`` and ``control`` (see control.py) at
``/_sandbox/magento``. Errors use Magento's ``{"message": ..., "parameters": ...}``. Magento sends no
order webhooks, so the dispatcher is kept only for the common simulator signature.
"""

from __future__ import annotations

from collections import deque

from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.faults import FaultInjector
from sandbox.magento.api import build_api_router
from sandbox.magento.control import build_control_router
from sandbox.magento.demo import seed
from sandbox.magento.state import MagentoState
from sandbox.magento.store import MagentoShop

DEMO_SHOP = "demo-shop"


class MagentoSimulator:
    """Shops by name, each a ``MagentoShop``; thread-safe (uvicorn serves from a thread pool)."""

    def __init__(
        self, *, clock: Clock, dispatcher: WebhookDispatcher, access_token: str | None = None
    ) -> None:
        self.clock = clock
        self.dispatcher = dispatcher  # unused: Magento Open Source has no order webhooks
        self.access_token = access_token  # None: any non-empty bearer token is accepted
        self.state = MagentoState(clock)
        self.faults = FaultInjector()
        self.api = build_api_router(self)
        self.control = build_control_router(self)

    @property
    def requests(self) -> deque[str]:
        """The API request log: ``"GET /magento/demo-shop/rest/V1/orders?..."``, oldest first."""
        return self.state.requests

    def reset(self) -> None:
        self.state.clear()
        self.faults.clear()

    def shop(self, name: str) -> MagentoShop:
        """The shop called ``name``, created empty on first use."""
        return self.state.shop(name)

    def seed_demo(self) -> None:
        seed(self.shop(DEMO_SHOP))
