"""Switchable API faults for the simulators: 5xx answers, slow answers, and "timeout after the write".

A fault is a rule matched on method and path (a glob such as ``/orders`` or ``/orders/*/process``).
``count`` makes a rule deterministic: it fires for the next N matching requests and then expires.

Rule JSON (``POST /_sandbox/<name>/faults``)::

    {"kind": "error", "status": 500, "rate": 1.0, "method": "POST", "path": "/orders", "count": 2}
    {"kind": "slow", "delay": 1.5}
    {"kind": "timeout_after_write", "delay": 2.0, "count": 1}   # stored, then answered late
    {"kind": "timeout_after_write", "status": 502, "count": 1}  # stored, then answered 502

Shorthands are accepted too: ``{"error_rate": 0.3}``, ``{"delay": 1.0}``,
``{"timeout_after_write": {"count": 1, "delay": 2.0}}``, each with optional ``method``/``path``/``count``.

Every simulator with API faults keeps its rules in a ``FaultInjector``; the shop simulators take their
own control JSON (WooCommerce's ``fail_next``, Magento's ``{status, count}``) and build error rules
from it, with ``retry_after`` for the ``Retry-After`` header those answers carry.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

FaultKind = Literal["error", "slow", "timeout_after_write"]
KINDS: tuple[FaultKind, ...] = ("error", "slow", "timeout_after_write")
DEFAULT_AFTER_WRITE_DELAY = 2.0


class FaultSpecError(ValueError):
    """The fault JSON does not describe a rule."""


@dataclass
class FaultRule:
    kind: FaultKind
    method: str | None = None
    path: str | None = None
    rate: float = 1.0
    status: int | None = None
    delay: float = 0.0
    count: int | None = None  # remaining firings; None means until cleared
    retry_after: float | None = None  # an error answer's Retry-After header, when set

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or fnmatch.fnmatchcase(path.rstrip("/") or "/", self.path.rstrip("/") or "/")

    def as_json(self) -> dict[str, Any]:
        shown = asdict(self)
        if self.retry_after is None:
            del shown["retry_after"]  # only the shop simulators set it; Picqer's rule JSON never had it
        return shown


@dataclass(frozen=True)
class BeforeFault:
    """What to do before handling: wait ``delay`` seconds, then answer ``status`` if set."""

    delay: float = 0.0
    status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class AfterWriteFault:
    """The write is stored; then wait ``delay`` seconds and/or answer ``status`` instead of the result."""

    delay: float
    status: int | None


class FaultInjector:
    """Holds the active rules; thread-safe; seeded randomness so rates are reproducible."""

    def __init__(self, *, seed: int = 11) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._seed = seed
        self._random = random.Random(seed)

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._random = random.Random(self._seed)

    def add(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules.extend(rules)

    def before(self, method: str, path: str) -> BeforeFault:
        delay = 0.0
        status: int | None = None
        retry_after: float | None = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.kind == "slow":
                    delay = max(delay, rule.delay)
                    self._spend(rule)
                elif rule.kind == "error" and status is None and self._random.random() < rule.rate:
                    status, retry_after = rule.status or 500, rule.retry_after
                    self._spend(rule)
            self._expire()
        return BeforeFault(delay=delay, status=status, retry_after=retry_after)

    def after_write(self, method: str, path: str) -> AfterWriteFault | None:
        with self._lock:
            for rule in self._rules:
                if rule.kind == "timeout_after_write" and rule.matches(method, path):
                    self._spend(rule)
                    self._expire()
                    return AfterWriteFault(delay=rule.delay, status=rule.status)
        return None

    @staticmethod
    def _spend(rule: FaultRule) -> None:
        if rule.count is not None:
            rule.count -= 1

    def _expire(self) -> None:
        self._rules = [rule for rule in self._rules if rule.count is None or rule.count > 0]


def parse_fault_spec(spec: Any) -> list[FaultRule]:
    """Rules from ``{"rules": [...]}``, a list of rules, or one rule (full form or shorthand)."""
    if isinstance(spec, dict) and "rules" in spec:
        spec = spec["rules"]
    items = spec if isinstance(spec, list) else [spec]
    rules: list[FaultRule] = []
    for item in items:
        if not isinstance(item, dict):
            raise FaultSpecError("each fault rule must be a JSON object")
        rules.extend(_parse_rule(item))
    return rules


def _parse_rule(item: dict[str, Any]) -> list[FaultRule]:
    method, path, count = _opt_str(item, "method"), _opt_str(item, "path"), _opt_int(item, "count")
    if "kind" in item:
        kind = item["kind"]
        if kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
        status, delay = _opt_int(item, "status"), _opt_float(item, "delay")
        if kind == "timeout_after_write" and delay is None and status is None:
            delay = DEFAULT_AFTER_WRITE_DELAY
        rate = _opt_float(item, "rate")
        return [
            FaultRule(
                kind=cast(FaultKind, kind),
                method=method,
                path=path,
                count=count,
                rate=1.0 if rate is None else rate,
                status=status,
                delay=delay or 0.0,
            )
        ]
    rules: list[FaultRule] = []
    if "error_rate" in item:
        rate = _opt_float(item, "error_rate") or 0.0
        status = _opt_int(item, "status")
        rules.append(FaultRule(kind="error", method=method, path=path, count=count, rate=rate, status=status))
    if "delay" in item:
        delay = _opt_float(item, "delay") or 0.0
        rules.append(FaultRule(kind="slow", method=method, path=path, count=count, delay=delay))
    if "timeout_after_write" in item:
        inner = item["timeout_after_write"]
        if not isinstance(inner, dict):
            raise FaultSpecError("timeout_after_write must be an object {count, delay, status}")
        status, delay = _opt_int(inner, "status"), _opt_float(inner, "delay")
        if delay is None:
            delay = 0.0 if status is not None else DEFAULT_AFTER_WRITE_DELAY
        rules.append(
            FaultRule(
                kind="timeout_after_write",
                method=method,
                path=path,
                count=_opt_int(inner, "count") if "count" in inner else count,
                status=status,
                delay=delay,
            )
        )
    if not rules:
        raise FaultSpecError("no fault given: use kind, error_rate, delay or timeout_after_write")
    return rules


def _opt_str(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or isinstance(value, str):
        return value
    raise FaultSpecError(f"{key} must be a string")


def _opt_int(item: dict[str, Any], key: str) -> int | None:
    value = item.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise FaultSpecError(f"{key} must be an integer")


def _opt_float(item: dict[str, Any], key: str) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise FaultSpecError(f"{key} must be a number")
