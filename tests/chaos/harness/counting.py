"""Counting what the run left behind: Picqer's orders, the mirror, the failures, the logs.

Every count must be 0 and the recovery at most ``MAX_RECOVERY_SECONDS``:

- ``duplicates``: paid shop orders with more than one Picqer order;
- ``missing``: paid shop orders with no Picqer order;
- ``unexpected``: Picqer orders made during the run for no paid shop order (an unpaid one pushed);
- ``mirror_mismatches``: the mirror's idorder or Picqer status differs from Picqer's, or no row;
- ``concept`` / ``untagged``: Picqer orders of ours still in concept, or without their source's tag;
- ``not_processing``: Picqer orders of ours in any status but ``processing`` (concept included);
- ``failures``: what ``picqer-sync failures --json`` lists;
- ``log_lines_not_json``: lines of the product's processes that are not one whole JSON object.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.chaos.harness.load import MadeOrder

MAX_RECOVERY_SECONDS = 60.0
SAMPLES = 5  # examples kept per count, for the report


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, example: str) -> None:
        self.values[name] = self.values.get(name, 0) + 1
        kept = self.examples.setdefault(name, [])
        if len(kept) < SAMPLES:
            kept.append(example)

    def ensure(self, *names: str) -> None:
        for name in names:
            self.values.setdefault(name, 0)


def ours(picqer_orders: list[dict[str, Any]], baseline: set[int]) -> dict[str, list[dict[str, Any]]]:
    """Picqer's orders made during the run, by reference."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in picqer_orders:
        if int(order["idorder"]) not in baseline:
            found[str(order["reference"])].append(order)
    return found


def mirror_rows(engine: sa.Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT source, shop_order_id, idorder, picqer_status, sync_state FROM orders")
        ).mappings()
        return {(row["source"], row["shop_order_id"]): dict(row) for row in rows}


def count_orders(
    made: list[MadeOrder],
    picqer_orders: list[dict[str, Any]],
    baseline: set[int],
    mirror: dict[tuple[str, str], dict[str, Any]],
) -> Counts:
    counts = Counts()
    counts.ensure(
        "duplicates", "missing", "unexpected", "mirror_mismatches", "concept", "untagged", "not_processing"
    )
    in_picqer = ours(picqer_orders, baseline)
    paid = {order.reference: order for order in made if order.paid}
    for reference, found in in_picqer.items():
        if reference not in paid:
            counts.add("unexpected", f"{reference}: {[o['idorder'] for o in found]}")
            continue
        source = paid[reference].source
        for order in found:
            if order["status"] == "concept":
                counts.add("concept", f"{reference} ({order['idorder']})")
            if order["status"] != "processing":
                counts.add("not_processing", f"{reference} ({order['idorder']}): {order['status']}")
            if source not in (order.get("tags") or {}):
                counts.add(
                    "untagged", f"{reference} ({order['idorder']}): tags {sorted(order.get('tags') or {})}"
                )
    for reference, shop_order in paid.items():
        found = in_picqer.get(reference, [])
        if not found:
            counts.add("missing", f"{reference} ({shop_order.source} {shop_order.shop_order_id})")
            continue
        if len(found) > 1:
            counts.add("duplicates", f"{reference}: {[(o['idorder'], o['status']) for o in found]}")
            continue
        [picqer] = found
        row = mirror.get((shop_order.source, shop_order.shop_order_id))
        if row is None:
            counts.add("mirror_mismatches", f"{reference}: no mirror row")
        elif (row["idorder"], row["picqer_status"]) != (picqer["idorder"], picqer["status"]):
            counts.add(
                "mirror_mismatches",
                f"{reference}: mirror {(row['idorder'], row['picqer_status'], row['sync_state'])}, "
                f"Picqer {(picqer['idorder'], picqer['status'])}",
            )
    return counts


def count_failures(counts: Counts, failures: list[dict[str, Any]]) -> None:
    counts.ensure("failures")
    for failure in failures:
        counts.add(
            "failures",
            f"{failure['source']} {failure['shop_order_number']}: {failure['state']} "
            f"{failure['reason'][:160]}",
        )


def count_log_lines(counts: Counts, logs: list[Path]) -> int:
    """Counts the lines that are not one JSON object; returns how many lines were read."""
    counts.ensure("log_lines_not_json")
    read = 0
    for path in logs:
        for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
            read += 1
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                counts.add(
                    "log_lines_not_json", f"{path.name}:{number}: {raw[:160].decode(errors='replace')}"
                )
    return read


def recovery_seconds(
    made: list[MadeOrder], arrived: dict[str, float], last_fault_ended: float
) -> float | None:
    """From the last fault's end to the last paid order's arrival in Picqer; None when one never came.

    0 when every order had arrived before the faults ended.
    """
    moments = [arrived.get(order.reference) for order in made if order.paid]
    if not moments or any(moment is None for moment in moments):
        return None
    last = max(moment for moment in moments if moment is not None)
    return round(max(0.0, last - last_fault_ended), 1)


def arrival_summary(
    made: list[MadeOrder], arrived: dict[str, float], last_fault_ended: float
) -> dict[str, Any]:
    """How the paid orders reached Picqer: the evidence behind the recovery time.

    Latency is from the shop's order to its arrival in Picqer; ``pending_at_last_fault`` counts the
    orders not yet in Picqer when the faults ended, ``after_last_fault`` how many arrived in each
    10 s after that; ``slowest`` are the last to arrive.
    """
    paid = [order for order in made if order.paid]
    timed = sorted(
        ((arrived[order.reference], order) for order in paid if order.reference in arrived),
        key=lambda item: item[0],
    )
    latencies = sorted(moment - order.made_at for moment, order in timed)
    buckets: dict[int, int] = defaultdict(int)
    for moment, _ in timed:
        if moment > last_fault_ended:
            buckets[int((moment - last_fault_ended) // 10) * 10] += 1

    def percentile(share: float) -> float | None:
        return (
            round(latencies[min(len(latencies) - 1, int(share * len(latencies)))], 1) if latencies else None
        )

    return {
        "pending_at_last_fault": sum(
            1 for order in paid if arrived.get(order.reference, 1e20) > last_fault_ended
        ),
        "after_last_fault": {f"{start}-{start + 10}s": n for start, n in sorted(buckets.items())},
        "latency_seconds": {"p50": percentile(0.5), "p95": percentile(0.95), "max": percentile(1.0)},
        "slowest": [
            {
                "reference": order.reference,
                "source": order.source,
                "made_after_last_fault": round(order.made_at - last_fault_ended, 1),
                "arrived_after_last_fault": round(moment - last_fault_ended, 1),
            }
            for moment, order in timed[-8:]
        ],
    }
