"""The Magento 2 REST simulator: orders with searchCriteria, the ship endpoint, shipments, API faults.

``api`` (see api.py) is mounted at ``/magento`` and ``control`` (see control.py) at
``/_sandbox/magento``. Errors use Magento's ``{"message": ..., "parameters": ...}``. Magento sends no
order webhooks, so the dispatcher is kept only for the common simulator signature.

Each shop has an integration (four OAuth 1.0a values) and every API request must be signed with it,
as on Magento 2.4.4+; a bearer token works only where the shop's
``oauth/consumer/enable_integration_as_bearer`` is switched on (see integrations.py).
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable

from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.faults import FaultInjector
from sandbox.magento.api import build_api_router
from sandbox.magento.control import build_control_router
from sandbox.magento.demo import seed
from sandbox.magento.integrations import Integration, IntegrationRegistry
from sandbox.magento.state import MagentoState
from sandbox.magento.store import MagentoShop

DEMO_SHOP = "demo-shop"


class MagentoSimulator:
    """Shops by name, each a ``MagentoShop``; thread-safe (uvicorn serves from a thread pool)."""

    def __init__(
        self,
        *,
        clock: Clock,
        dispatcher: WebhookDispatcher,
        integration: Integration | None = None,
        integration_as_bearer: bool = False,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``integration``: the one integration every shop has; None gives each shop its own
        (``Integration.for_shop``). ``integration_as_bearer``: Magento's setting for every shop
        (off, as by default since 2.4.4; ``POST /_sandbox/magento/shops/{shop}/config`` switches it
        per shop). ``wall_clock`` judges OAuth timestamps (clients sign with real time)."""
        self.clock = clock
        self.dispatcher = dispatcher  # unused: Magento Open Source has no order webhooks
        self.integrations = IntegrationRegistry(
            integration=integration, integration_as_bearer=integration_as_bearer, wall_clock=wall_clock
        )
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
        self.integrations.clear()

    def shop(self, name: str) -> MagentoShop:
        """The shop called ``name``, created empty on first use."""
        return self.state.shop(name)

    def seed_demo(self) -> None:
        seed(self.shop(DEMO_SHOP))

    def seed_orders(self, shop: str, count: int, *, spacing_seconds: float = 1.0) -> int:
        """``count`` pending orders of one product at once, for benchmarks: the last one made now,
        each earlier one ``spacing_seconds`` before the next. Returns how many orders the shop holds."""
        spec = {"items": [{"sku": "24-WG080", "name": "Sprite Stasis Ball 55 cm", "price": 23}]}
        with self.state.lock:
            store = self.shop(shop)
            store.seed_orders(spec, count, last=self.clock.now(), spacing_seconds=spacing_seconds)
            held = len(store.orders)
        gc.freeze()  # the orders live as long as the store: the collector need not walk them again
        return held

    def integration(self, shop: str) -> Integration:
        """The integration of the shop called ``shop`` (what its admin shows under Integrations)."""
        return self.integrations.integration(shop)

    def credentials(self) -> dict[str, dict[str, str]]:
        """Every shop's integration, by shop name: ``consumer_key``, ``consumer_secret``,
        ``access_token``, ``access_token_secret`` (for ``GET /_sandbox/credentials``)."""
        with self.state.lock:
            names = sorted(self.state.shops)
        return {name: self.integration(name).as_json() for name in names}
