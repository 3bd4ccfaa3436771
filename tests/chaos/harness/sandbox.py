"""The sandbox as the run drives it: its control endpoints (``/_sandbox/...``) over HTTP.

The sandbox is a subprocess (``picqer-sync sandbox``); this client makes the shops' orders (each
shop sends its signed webhooks as it makes one), switches Picqer's and the shops' faults, and reads
Picqer's orders back.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.chaos.harness.config import SHOP

CONTROL_TIMEOUT = 60.0  # an order's webhooks are sent before the shop's call returns: a slow receiver
START_SECONDS = 30.0
WEBHOOK_PLATFORMS = ("shopify", "woocommerce", "picqer")


class SandboxError(RuntimeError):
    pass


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=CONTROL_TIMEOUT)

    def close(self) -> None:
        self._http.close()

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if self._http.get("/_sandbox/clock", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SandboxError(f"the sandbox did not answer at {self.url}")
            time.sleep(0.2)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self._http.request(method, f"/_sandbox/{path.lstrip('/')}", **kwargs)
        if answer.is_error:
            raise SandboxError(f"{method} /_sandbox/{path}: {answer.status_code} {answer.text[:200]}")
        return answer.json() if answer.content else None

    def credentials(self) -> dict[str, Any]:
        """Every platform's credentials for the run's shop (it is created empty on every platform)."""
        result: dict[str, Any] = self.control("GET", "credentials", params={"shop": SHOP})
        return result

    # -- the shops -------------------------------------------------------------------------------

    def create_shopify_order(self, *, paid: bool, template: str) -> tuple[str, str]:
        body = {"template": template, "financial_status": "paid" if paid else "pending"}
        order = self.control("POST", f"shopify/shops/{SHOP}/orders", json=body)["order"]
        return str(order["id"]), str(order["name"])

    def create_woocommerce_order(self, *, paid: bool, skus: tuple[str, ...]) -> tuple[str, str]:
        body = {
            "status": "processing" if paid else "pending",  # processing: WooCommerce's "paid, ship it"
            "line_items": [{"sku": sku, "name": sku, "quantity": 1, "price": 25.0} for sku in skus],
        }
        order = self.control("POST", f"woocommerce/shops/{SHOP}/orders", json=body)
        return str(order["id"]), str(order["number"])

    def create_magento_order(self) -> tuple[str, str]:
        body = {
            "paid": True,  # invoiced: state "processing"
            "items": [
                {"sku": "WS12-M-Orange", "name": "Radiant Tee-M-Orange", "price": 22, "qty": 2},
                {"sku": "24-WG084", "name": "Sprite Foam Yoga Brick", "price": 5, "qty": 1},
            ],
        }
        order = self.control("POST", f"magento/shops/{SHOP}/orders", json=body)
        return str(order["entity_id"]), str(order["increment_id"])

    # -- faults ----------------------------------------------------------------------------------

    def set_picqer_faults(self, rules: list[dict[str, Any]]) -> None:
        self.control("POST", "picqer/faults", json={"rules": rules})

    def clear_picqer_faults(self) -> None:
        self.control("DELETE", "picqer/faults")

    def set_webhook_faults(self, faults: dict[str, Any]) -> None:
        for platform in WEBHOOK_PLATFORMS:
            self.control("POST", f"{platform}/webhooks/faults", json=faults)

    def clear_webhook_faults(self) -> None:
        """No more duplicates, drops or reordering; a delivery held back for reordering is sent now."""
        for platform in WEBHOOK_PLATFORMS:
            self.control("POST", f"{platform}/webhooks/faults", json={})
            self.control("POST", f"{platform}/webhooks/flush")

    # -- Picqer ----------------------------------------------------------------------------------

    def picqer_orders(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.control("GET", "picqer/orders")
        return result
