"""The Prometheus metrics of picqer-sync, on prometheus_client's default registry.

Metric objects are module-level by design (prometheus_client's own idiom: a metric is registered
once per process). They are counters and histograms, never state the code depends on. The receiver's
``GET /metrics`` serves this registry; ``picqer-sync worker --metrics-port`` serves it from a thread
for split deployments (no forked exposition server, unlike dramatiq's Prometheus middleware).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

NAMESPACE = "picqer_sync"

ORDERS_PUSHED = Counter(
    "orders_pushed", "Shop orders created and processed in Picqer.", ["source"], namespace=NAMESPACE
)
ORDERS_FAILED = Counter(
    "orders_failed", "Shop orders recorded as failed (need a person).", ["source"], namespace=NAMESPACE
)
PUSH_LATENCY = Histogram(
    "push_latency_seconds",
    "From the shop event (webhook received or poll saw it) to the order processed in Picqer.",
    ["source"],
    namespace=NAMESPACE,
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
RATE_LIMITED = Counter(
    "picqer_rate_limited",
    "429 answers from Picqer (each one penalises the shared budget).",
    namespace=NAMESPACE,
)
BUDGET_WAIT = Histogram(
    "picqer_budget_wait_seconds",
    "How long a request waited for the shared Picqer request budget.",
    namespace=NAMESPACE,
    buckets=(0, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
)
WEBHOOKS = Counter(
    "webhooks",
    "Webhooks received, by target (picqer or a source name) and outcome.",
    ["target", "outcome"],
    namespace=NAMESPACE,
)
MESSAGES = Counter(
    "messages",
    "Queue messages handled, by actor and outcome (done, retried, rate_limited, failed).",
    ["actor", "outcome"],
    namespace=NAMESPACE,
)
MESSAGE_DURATION = Histogram(
    "message_duration_seconds",
    "Time spent processing one queue message.",
    ["actor"],
    namespace=NAMESPACE,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
INBOX_SWEPT = Counter(
    "inbox_swept", "Inbox events re-enqueued by the sweeper (lost messages).", namespace=NAMESPACE
)
SCHEDULER_RUNS = Counter("scheduler_runs", "Scheduled jobs fired, by job.", ["job"], namespace=NAMESPACE)
HOOKS_REACTIVATED = Counter(
    "hooks_reactivated", "Picqer hooks found inactive and reactivated.", namespace=NAMESPACE
)
HOOKS_INACTIVE = Gauge(
    "hooks_inactive",
    "Picqer hooks seen inactive at the last hook check.",
    namespace=NAMESPACE,
    multiprocess_mode="max",  # under ``web --processes``: the latest check's count, not one per process
)

QueueDepth = Callable[[], Mapping[str, int]]


class QueueDepthCollector(Collector):
    """Reads the queue depth when scraped, so the number is never stale."""

    def __init__(self) -> None:
        self.source: QueueDepth | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            f"{NAMESPACE}_queue_depth", "Messages waiting in each queue (delayed included).", labels=["queue"]
        )
        if self.source is not None:
            try:
                depths = self.source()
            except Exception:  # a scrape must not fail because the queue is down; readyz says so
                depths = {}
            for queue, depth in sorted(depths.items()):
                family.add_metric([queue], float(depth))
        yield family


QUEUE_DEPTH = QueueDepthCollector()
REGISTRY.register(QUEUE_DEPTH)


def set_queue_depth_source(source: QueueDepth | None) -> None:
    """Tell the collector how to read the queue depth of this process's broker."""
    QUEUE_DEPTH.source = source


def render_latest() -> tuple[bytes, str]:
    """The exposition text of this process's metrics and its content type; under ``web
    --processes`` (``PROMETHEUS_MULTIPROC_DIR`` set) the counters of every receiver process summed."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(QUEUE_DEPTH)  # read from the queue, not from a process: not summed
    return generate_latest(registry), CONTENT_TYPE_LATEST
