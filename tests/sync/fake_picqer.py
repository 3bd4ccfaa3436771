"""A small in-process Picqer for the sync unit tests: the order lifecycle, tags, products, faults.

It answers through ``httpx.MockTransport`` and logs every request, so tests can count what a use
case sent. The full simulator (``sandbox``) is used by the integration tests; this one is quick
and lets a test inject a fault at an exact request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from adapters.picqer.client import PicqerClient

BASE_URL = "http://picqer.test/api/v1/"
Fault = Callable[[httpx.Request], httpx.Response | None]


def _error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": True, "error_code": code, "error_message": message})


class FakePicqer:
    def __init__(self, *, products: tuple[str, ...] = ("SKU-1", "SKU-2")) -> None:
        self.products = set(products)
        self.orders: dict[int, dict[str, Any]] = {}
        self.tags: dict[int, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.create_delay = 0.0
        self._faults: list[tuple[str, str, Fault, bool]] = []  # method, path, fault, after the write
        self._lock = threading.RLock()
        self._next_id = 5000
        self._clock = datetime(2026, 3, 1, 12, 0, 0)

    # -- test helpers --------------------------------------------------------------------------------

    def client(self) -> PicqerClient:
        return PicqerClient(BASE_URL, "test-key", transport=httpx.MockTransport(self.handle))

    def fail(self, method: str, path: str, fault: Fault, *, after_write: bool = False) -> None:
        """Answer the next ``method path`` with ``fault`` (before, or after the write is stored)."""
        self._faults.append((method, path, fault, after_write))

    def tick(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%d %H:%M:%S")

    def set_status(self, idorder: int, status: str) -> dict[str, Any]:
        with self._lock:
            self.orders[idorder].update(status=status, updated=self.tick())
            return dict(self.orders[idorder])

    def count(self, method: str, path_prefix: str = "") -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))

    def live_orders(self, reference: str | None = None) -> list[dict[str, Any]]:
        return [
            o
            for o in self.orders.values()
            if o["status"] != "cancelled" and reference in (None, o["reference"])
        ]

    # -- the API -------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1/")
        with self._lock:
            self.requests.append((request.method, path))
            fault = self._take_fault(request.method, path, after_write=False)
        if fault is not None:
            answer = fault(request)
            if answer is not None:
                return answer
        if request.method == "POST" and path == "orders" and self.create_delay:
            time.sleep(self.create_delay)  # widen the window in which racing workers could both create
        with self._lock:
            response = self._route(request, path)
            after = self._take_fault(request.method, path, after_write=True)
        if after is not None:
            answer = after(request)
            if answer is not None:
                return answer
        return response

    def _take_fault(self, method: str, path: str, *, after_write: bool) -> Fault | None:
        for index, (m, p, fault, after) in enumerate(self._faults):
            if m == method and p == path and after == after_write:
                del self._faults[index]
                return fault
        return None

    def _route(self, request: httpx.Request, path: str) -> httpx.Response:
        method, parts = request.method, path.split("/")
        body = json.loads(request.content) if request.content else {}
        offset = int(request.url.params.get("offset", "0"))
        if parts[0] == "tags":
            if method == "GET":
                return httpx.Response(200, json=[] if offset else self._tag_list(self.tags))
            self._next_id += 1
            self.tags[self._next_id] = body["title"]
            return httpx.Response(
                201, json={"idtag": self._next_id, "title": body["title"], "color": "#000000"}
            )
        if parts[0] == "products":
            code = request.url.params.get("productcode")
            found = [{"idproduct": 1, "productcode": code}] if code in self.products else []
            return httpx.Response(200, json=found)
        if parts == ["orders"] and method == "GET":
            return httpx.Response(200, json=[] if offset else self._filter(request.url.params))
        if parts == ["orders"] and method == "POST":
            return self._create(body)
        order = self.orders.get(int(parts[1]))
        if order is None:
            return _error(404, 20, "Item not found")
        action = parts[2] if len(parts) > 2 else None
        if action is None:
            return self._one_order(method, order, body, request)
        if action == "tags":
            if method == "GET":
                return httpx.Response(200, json=[] if offset else self._tag_list(order["_tags"]))
            order["_tags"][body["idtag"]] = self.tags[body["idtag"]]
            return httpx.Response(200, json={"idtag": body["idtag"], "title": self.tags[body["idtag"]]})
        if action == "process":
            if order["status"] not in ("concept", "expected"):
                return _error(400, 32, "Order is already closed")
            order.update(status="processing", updated=self.tick())
        elif action == "pause":
            if order["status"] != "processing":
                return _error(400, 21, "Item not found or does not have the right status")
            order.update(status="paused", updated=self.tick(), pause_reason=body.get("reason"))
        return httpx.Response(200, json=self._public(order))

    def _one_order(
        self, method: str, order: dict[str, Any], body: dict[str, Any], request: httpx.Request
    ) -> httpx.Response:
        if method == "GET":
            return httpx.Response(200, json=self._public(order))
        if method == "PUT":
            if order["status"] in ("completed", "cancelled"):
                return _error(400, 30, "Cannot change order. This order is closed")
            order.update(body, updated=self.tick())
            return httpx.Response(200, json=self._public(order))
        force = request.url.params.get("force") == "true"
        if order["status"] not in ("concept", "expected") and not force:
            return _error(400, 21, "Item not found or does not have the right status")
        order.update(status="cancelled", updated=self.tick(), forced=force)
        return httpx.Response(204)

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        unknown = [
            line["productcode"] for line in body["products"] if line["productcode"] not in self.products
        ]
        if unknown:
            return _error(400, 24, "Product you are trying to order, does not exists")
        self._next_id += 1
        order = {
            **body,
            "idorder": self._next_id,
            "orderid": f"O2026-{self._next_id}",
            "status": "concept",
            "created": self.tick(),
            "updated": self._clock.strftime("%Y-%m-%d %H:%M:%S"),
            "_tags": {},
        }
        self.orders[self._next_id] = order
        return httpx.Response(201, json=self._public(order))

    def _filter(self, params: httpx.QueryParams) -> list[dict[str, Any]]:
        rows = list(self.orders.values())
        if "reference" in params:
            rows = [o for o in rows if o["reference"] == params["reference"]]
        if "status" in params:
            rows = [o for o in rows if o["status"] == params["status"]]
        if "sincedate" in params:
            rows = [o for o in rows if o["updated"] >= params["sincedate"]]
        if "sinceid" in params:
            rows = [o for o in rows if o["idorder"] > int(params["sinceid"])]
        return [self._public(o) for o in rows]

    def _public(self, order: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in order.items() if not k.startswith("_")}
        public["tags"] = {title: {"idtag": idtag, "title": title} for idtag, title in order["_tags"].items()}
        return public

    @staticmethod
    def _tag_list(tags: dict[int, str]) -> list[dict[str, Any]]:
        return [{"idtag": idtag, "title": title} for idtag, title in tags.items()]


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def server_error(request: httpx.Request) -> httpx.Response:
    return httpx.Response(500, json={"error": True, "error_code": 1, "error_message": "Picqer is mistaken"})
