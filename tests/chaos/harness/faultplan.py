"""What goes wrong, and when: the fault plan of one run, carried out in a thread.

Over the load's ``seconds`` (t = 0 when the first order is made):

- Picqer answers some requests 5xx, some slowly, and stores some writes but loses the answer
  (a client timeout or a 502), from t = 0 until the faults are cleared;
- the shops and Picqer send webhooks twice, out of order, or not at all, over the same span;
- a worker process is SIGKILLed every 5-10 s (the supervisor starts it again), the scheduler once;
- Redis is unreachable for ``OUTAGE_SECONDS`` once, and later PostgreSQL refuses connections for as
  long (the proxy's listener closed, its live connections dropped).

When the last order is made, the faults are cleared (a webhook held back for reordering is sent).
Every fault is recorded with when it began and ended; the last end is where recovery is counted from.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.chaos.harness.config import AFTER_WRITE_DELAY_SECONDS
from tests.chaos.harness.load import OrderLoad
from tests.chaos.harness.processes import Supervisor
from tests.chaos.harness.proxy import TcpProxy
from tests.chaos.harness.sandbox import Sandbox

OUTAGE_SECONDS = 20.0
KILL_EVERY = (5.0, 10.0)  # seconds between two worker kills, drawn uniformly
WORKERS = ("worker-1", "worker-2")
PICQER_FAULTS: list[dict[str, Any]] = [
    # stored, answered after the client gave up (a timeout) or with a 502: Picqer did the work
    {
        "kind": "timeout_after_write",
        "method": "POST",
        "path": "/orders",
        "count": 8,
        "delay": AFTER_WRITE_DELAY_SECONDS,
    },
    {"kind": "timeout_after_write", "method": "POST", "path": "/orders", "count": 6, "status": 502},
    {
        "kind": "timeout_after_write",
        "method": "POST",
        "path": "/orders/*/process",
        "count": 6,
        "delay": AFTER_WRITE_DELAY_SECONDS,
    },
    {"kind": "timeout_after_write", "method": "POST", "path": "/orders/*/process", "count": 4, "status": 503},
    {"kind": "timeout_after_write", "method": "POST", "path": "/orders/*/tags", "count": 4, "status": 502},
    {"kind": "error", "rate": 0.04, "status": 500},
    {"kind": "error", "rate": 0.04, "status": 503},
    {"kind": "slow", "delay": 1.5, "count": 150},
]
WEBHOOK_FAULTS = {"duplicate_rate": 0.3, "drop_rate": 0.1, "reorder": True}


@dataclass
class Fault:
    kind: str  # "worker_kill", "scheduler_kill", "redis_outage", "postgres_outage", "picqer_faults", ...
    detail: str
    began: float  # time.time()
    ended: float

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "detail": self.detail,
            "began": datetime.fromtimestamp(self.began, UTC).isoformat(timespec="seconds"),
            "seconds": round(self.ended - self.began, 1),
        }


@dataclass
class FaultPlan:
    sandbox: Sandbox
    supervisor: Supervisor
    redis_proxy: TcpProxy
    postgres_proxy: TcpProxy
    seconds: float  # the load's length
    seed: int = 11
    faults: list[Fault] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def schedule(self) -> list[tuple[float, str, Callable[[], None]]]:
        """(t, what, action), by t: kills, the scheduler's kill and the two outages."""
        rng = random.Random(self.seed)
        steps: list[tuple[float, str, Callable[[], None]]] = []
        t = rng.uniform(*KILL_EVERY)
        while t < self.seconds:
            worker = rng.choice(WORKERS)
            steps.append((t, f"kill {worker}", self._kill(worker)))
            t += rng.uniform(*KILL_EVERY)
        steps.append((0.42 * self.seconds, "kill scheduler", self._kill("scheduler")))
        steps.append(
            (0.2 * self.seconds, "Redis unreachable", self._outage("redis_outage", self.redis_proxy))
        )
        steps.append(
            (0.55 * self.seconds, "PostgreSQL refuses", self._outage("postgres_outage", self.postgres_proxy))
        )
        return sorted(steps, key=lambda step: step[0])

    def start(self, load: OrderLoad) -> None:
        self._began = time.time()
        self.sandbox.set_picqer_faults(PICQER_FAULTS)
        self.sandbox.set_webhook_faults(WEBHOOK_FAULTS)
        self._thread = threading.Thread(target=self._run, args=(load,), name="chaos-faults", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        assert self._thread is not None
        self._thread.join(timeout)

    @property
    def last_fault_ended(self) -> float:
        return max(fault.ended for fault in self.faults)

    def _run(self, load: OrderLoad) -> None:
        started = time.monotonic()
        outages: list[threading.Thread] = []
        for at, what, action in self.schedule():
            time.sleep(max(0.0, started + at - time.monotonic()))
            if what.startswith(("Redis", "PostgreSQL")):
                outage = threading.Thread(target=self._guarded, args=(what, action), daemon=True)
                outage.start()
                outages.append(outage)
            else:
                self._guarded(what, action)
        load.join()
        for outage in outages:
            outage.join()
        self._guarded("clear faults", self._clear)

    def _guarded(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as error:  # the plan goes on; the report names what could not be done
            self.errors.append(f"{what}: {type(error).__name__}: {error}")

    def _kill(self, role: str) -> Callable[[], None]:
        def kill() -> None:
            now = time.time()
            self.supervisor.kill(role)
            self.faults.append(
                Fault("scheduler_kill" if role == "scheduler" else "worker_kill", role, now, now)
            )

        return kill

    def _outage(self, kind: str, proxy: TcpProxy) -> Callable[[], None]:
        def outage() -> None:
            began = time.time()
            proxy.cut()
            try:
                time.sleep(OUTAGE_SECONDS)
            finally:
                proxy.restore()
            self.faults.append(
                Fault(
                    kind,
                    f"{proxy.name} proxy closed, {proxy.dropped} connections dropped",
                    began,
                    time.time(),
                )
            )

        return outage

    def _clear(self) -> None:
        self.sandbox.clear_picqer_faults()
        self.sandbox.clear_webhook_faults()
        now = time.time()
        self.faults.append(
            Fault("picqer_faults", "5xx, slow, answers lost after the write", self._began, now)
        )
        self.faults.append(Fault("webhook_faults", "duplicated, dropped, reordered", self._began, now))
