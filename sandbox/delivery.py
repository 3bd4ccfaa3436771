"""Outgoing webhooks of the simulators: signed POSTs with switchable duplicates, drops and reordering.

Every delivery is kept in an outbox log (``GET /_sandbox/<platform>/webhooks``) so tests can see
what was sent, replay it, or deliver it themselves when no address is reachable.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import Field

from sandbox.bodies import ControlBody


@dataclass
class Delivery:
    """One webhook as sent: where, which headers, the exact bytes."""

    url: str
    headers: dict[str, str]
    body: bytes
    topic: str
    status: int | None = None  # the answer, None when dropped or unreachable
    error: str | None = None
    dropped: bool = False
    attempts: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "headers": self.headers,
            "body": self.body.decode("utf-8", errors="replace"),
            "topic": self.topic,
            "status": self.status,
            "error": self.error,
            "dropped": self.dropped,
            "attempts": self.attempts,
        }


@dataclass
class DeliveryFaults:
    """Switchable misbehaviour, as real senders show it."""

    duplicate_rate: float = 0.0  # chance a delivery is sent twice
    drop_rate: float = 0.0  # chance a delivery is never sent
    reorder: bool = False  # hold each delivery back and send it after the next one


class DeliveryFaultsBody(ControlBody):
    """The body of ``POST /_sandbox/<name>/webhooks/faults`` as the shop simulators validate it."""

    duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    reorder: bool = False

    def faults(self) -> DeliveryFaults:
        return DeliveryFaults(**self.model_dump())


@dataclass
class WebhookDispatcher:
    """Sends deliveries now (synchronously) and logs them; thread-safe."""

    transport: httpx.BaseTransport | None = None
    timeout: float = 5.0
    faults: DeliveryFaults = field(default_factory=DeliveryFaults)
    log: list[Delivery] = field(default_factory=list)
    _held: Delivery | None = None
    # one client for every delivery: building one per webhook costs tens of milliseconds (TLS setup)
    _client: httpx.Client | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=lambda: random.Random(7))

    def dispatch(self, delivery: Delivery) -> None:
        with self._lock:
            self.log.append(delivery)
            if self._random.random() < self.faults.drop_rate:
                delivery.dropped = True
                return
            to_send = [delivery]
            if self.faults.reorder:
                held, self._held = self._held, delivery
                to_send = [held] if held is not None else []
            if self._random.random() < self.faults.duplicate_rate:
                to_send = to_send + to_send
        for item in to_send:
            self._send(item)

    def flush(self) -> None:
        """Send a delivery held back for reordering."""
        with self._lock:
            held, self._held = self._held, None
        if held is not None:
            self._send(held)

    def _send(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        try:
            answer = self._http().post(delivery.url, content=delivery.body, headers=delivery.headers)
            delivery.status = answer.status_code
            delivery.error = None
        except httpx.HTTPError as error:
            delivery.error = f"{type(error).__name__}: {error}"

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(transport=self.transport, timeout=self.timeout)
            return self._client

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self._held = None
            self.faults = DeliveryFaults()
            self._random = random.Random(7)
