"""All simulators in one ASGI app (``picqer-sync sandbox``).

Each simulator has ``api`` and ``control`` routers, ``reset()`` and ``seed_demo()``. To add one,
append a ``Mount`` to the list in ``_mounts`` (see docs/ARCHITECTURE.md, "Sandbox composition").

Shared control, besides each simulator's own ``/_sandbox/<name>/...``:

    POST /_sandbox/reset   {"seed": true}?   reset every simulator, then seed (default: as created)
    GET  /_sandbox/credentials[?shop=NAME]   every shop's credentials (or one shop's), by platform
    GET  /_sandbox/clock                     {"now": "2026-01-01T12:00:00+00:00"}
    POST /_sandbox/clock   {"advance": 3600} | {"set": "2026-01-01T12:00:00+00:00"} | {"set": null}

Every control body, here and in each simulator, refuses a field it does not know with 422
(``sandbox/bodies.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from sandbox.bodies import ControlBody
from sandbox.clock import Clock
from sandbox.delivery import WebhookDispatcher
from sandbox.magento.simulator import MagentoSimulator
from sandbox.picqer.simulator import PicqerSimulator
from sandbox.shopify.simulator import ShopifySimulator
from sandbox.woocommerce.simulator import WooCommerceSimulator


class Simulator(Protocol):
    api: APIRouter
    control: APIRouter

    def reset(self) -> None: ...

    def seed_demo(self) -> None: ...


@runtime_checkable
class IssuesCredentials(Protocol):
    """A simulator whose shops have credentials of their own (an app, an integration, API keys)."""

    def credentials(self) -> dict[str, dict[str, str]]:
        """Shop name -> its credentials, named as the config file names them."""
        ...

    def shop(self, name: str) -> object:
        """The shop called ``name``, created empty on first use."""
        ...


@dataclass(frozen=True)
class Mount:
    name: str  # also the control prefix: /_sandbox/<name>
    api_prefix: str
    simulator: Simulator


def _mounts(
    *, clock: Clock, rate_limit: int | None, api_key: str | None, transport: httpx.BaseTransport | None
) -> list[Mount]:
    def dispatcher() -> WebhookDispatcher:
        # One dispatcher per simulator, so delivery faults set for one platform stay there.
        return WebhookDispatcher(transport=transport)

    return [
        Mount(
            "picqer",
            "/picqer/api/v1",
            PicqerSimulator(clock=clock, dispatcher=dispatcher(), rate_limit=rate_limit, api_key=api_key),
        ),
        Mount("shopify", "/shopify", ShopifySimulator(clock=clock, dispatcher=dispatcher())),
        Mount("woocommerce", "/woocommerce", WooCommerceSimulator(clock=clock, dispatcher=dispatcher())),
        Mount("magento", "/magento", MagentoSimulator(clock=clock, dispatcher=dispatcher())),
    ]


def create_sandbox_app(
    *,
    rate_limit: int | None = 500,
    api_key: str | None = None,
    clock: Clock | None = None,
    seed: bool = True,
    webhook_transport: httpx.BaseTransport | None = None,
) -> FastAPI:
    """``webhook_transport`` lets in-process tests receive the simulators' webhooks without a socket."""
    clock = clock or Clock()
    mounts = _mounts(clock=clock, rate_limit=rate_limit, api_key=api_key, transport=webhook_transport)
    app = FastAPI(
        title="picqer-sync sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json"
    )
    for mount in mounts:
        app.include_router(mount.simulator.control, prefix=f"/_sandbox/{mount.name}", tags=[mount.name])
        app.include_router(mount.simulator.api, prefix=mount.api_prefix)
        if seed:
            mount.simulator.seed_demo()
    app.state.simulators = {mount.name: mount.simulator for mount in mounts}
    app.state.clock = clock
    app.include_router(_shared_control(mounts, clock, seed=seed, api_key=api_key), prefix="/_sandbox")
    return app


# what ``GET /_sandbox/credentials`` says of each platform's webhook secret (config key: its source)
WEBHOOK_SECRETS = {
    "picqer": "[picqer] webhook_secret: a value you choose; `picqer-sync hooks sync` registers each "
    "hook with it and the simulator signs that hook's events with it",
    "shopify": "none needed: a Dev Dashboard app's webhooks are signed with its client_secret; a "
    "legacy app (access_token) uses the store's webhook_secret listed here",
    "woocommerce": "webhook_secret of the source: a value you choose; `picqer-sync hooks sync` "
    "creates the shop's webhooks with it",
    "magento": "none: Magento sends no order webhooks; its orders are polled",
}


class ResetIn(ControlBody):
    seed: bool | None = None  # None: as the app was created


class ClockIn(ControlBody):
    advance: float | None = None  # seconds
    set: str | None = None  # an ISO datetime; null: follow the real time again


def _shared_control(mounts: list[Mount], clock: Clock, *, seed: bool, api_key: str | None) -> APIRouter:
    router = APIRouter(tags=["sandbox"])

    @router.get("/credentials")
    async def credentials(shop: str | None = None) -> dict[str, Any]:
        """What a person or a script puts in a config to reach each simulator (they are test values):
        every shop's, by platform and shop name; with ``?shop=NAME`` only that shop's, on every
        platform (created empty where it did not exist yet)."""
        found: dict[str, Any] = {
            "picqer": {
                "api_key": api_key or "any non-empty key is accepted",
                "webhook_secret": WEBHOOK_SECRETS["picqer"],
            }
        }
        for mount in mounts:
            if not isinstance(mount.simulator, IssuesCredentials):
                continue
            if shop is not None:
                mount.simulator.shop(shop)
            issued = mount.simulator.credentials()
            found[mount.name] = issued if shop is None else {shop: issued[shop]}
        # where each platform's webhook secret comes from: most are chosen, not issued
        found["webhook_secrets"] = dict(WEBHOOK_SECRETS)
        return found

    @router.post("/reset")
    async def reset(body: ResetIn | None = None) -> JSONResponse:
        reseed = body.seed if body is not None and body.seed is not None else seed
        # the clock first: seeding under a clock a test had moved would stamp the demo orders then
        clock.reset()
        for mount in mounts:
            mount.simulator.reset()
            if reseed:
                mount.simulator.seed_demo()
        return JSONResponse({"reset": [m.name for m in mounts], "seeded": bool(reseed)})

    @router.get("/clock")
    async def get_clock() -> dict[str, Any]:
        return {"now": clock.now().isoformat()}

    @router.post("/clock")
    async def set_clock(body: ClockIn | None = None) -> JSONResponse:
        given = body.model_fields_set if body is not None else set()
        if body is None or not ({"advance", "set"} & given):
            return JSONResponse({"error": 'send {"advance": seconds} or {"set": "ISO datetime" | null}'}, 400)
        try:
            if "set" in given:
                moment = body.set
                clock.set(None if moment is None else _aware(datetime.fromisoformat(moment)))
            if body.advance is not None:
                clock.advance(timedelta(seconds=body.advance))
        except (TypeError, ValueError) as error:
            return JSONResponse({"error": str(error)}, 400)
        return JSONResponse({"now": clock.now().isoformat()})

    return router


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.now().astimezone().tzinfo)
