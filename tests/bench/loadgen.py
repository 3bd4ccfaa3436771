"""A load generator for the ingest bench: signed Shopify webhooks over keep-alive HTTP/1.1 sockets.

Run in its own process (``python tests/bench/loadgen.py --port P ...``) so it never shares the
server's GIL. ``--connections`` clients each send one request at a time (closed loop) for
``--seconds``; the first ``--warmup`` seconds are sent but not counted. Every webhook has a distinct
``X-Shopify-Webhook-Id`` (``<prefix>-<n>``) and order id, signed with ``--secret``. Prints one JSON
object: requests, answers by status, accepted/s and latency percentiles over the counted window;
with ``--accepted-file`` it writes the webhook id of every 202 "accepted" answer, one a line, so
the bench can check each of them is in the inbox.

Standard library only (uvloop when it is installed), so the figure is the server's, not the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "shopify-order-1.json"
ID_PLACEHOLDER = b"987654321987654321"


def order_template() -> bytes:
    """The sample Shopify order with its id replaced by a placeholder each request fills in."""
    order = json.loads(SAMPLE.read_text())
    order = order.get("order", order)
    order["id"] = int(ID_PLACEHOLDER)
    return json.dumps(order, separators=(",", ":")).encode()


@dataclass
class Tally:
    started: float = 0.0
    counting_from: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    accepted_ids: list[str] = field(default_factory=list)
    counted_accepted: int = 0
    errors: int = 0


class Connection(asyncio.Protocol):
    """One keep-alive connection: ``request(bytes)`` resolves to (status, body) of its answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is not a subclass)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((int(head[0].split(" ")[1]), body))

    def request(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter


def build_request(
    path: str, port: int, secret: bytes, template: bytes, webhook_id: str, number: int
) -> bytes:
    body = template.replace(ID_PLACEHOLDER, str(number).encode())
    signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Shopify-Topic: orders/updated\r\nX-Shopify-Hmac-Sha256: {signature}\r\n"
        f"X-Shopify-Webhook-Id: {webhook_id}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def client(args: argparse.Namespace, tally: Tally, counter: list[int], stop_at: float) -> None:
    loop = asyncio.get_running_loop()
    _, connection = await loop.create_connection(Connection, "127.0.0.1", args.port)
    secret = args.secret.encode()
    template = order_template()
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            counter[0] += 1
            number = args.first_order_id + counter[0]
            webhook_id = f"{args.prefix}-{counter[0]}"
            data = build_request(args.path, args.port, secret, template, webhook_id, number)
            sent = time.perf_counter()
            status, body = await connection.request(data)
            done = time.perf_counter()
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            accepted = status == 202 and b'"accepted"' in body
            if accepted:
                tally.accepted_ids.append(webhook_id)
            if sent >= tally.counting_from:
                tally.latencies.append(done - sent)
                tally.counted_accepted += accepted
    finally:
        assert connection.transport is not None
        connection.transport.close()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(args: argparse.Namespace) -> dict[str, object]:
    tally = Tally(started=time.perf_counter())
    tally.counting_from = tally.started + args.warmup
    stop_at = tally.counting_from + args.seconds
    counter = [0]
    results = await asyncio.gather(
        *(client(args, tally, counter, stop_at) for _ in range(args.connections)), return_exceptions=True
    )
    ended = time.perf_counter()
    failures = [result for result in results if isinstance(result, BaseException)]
    tally.errors = len(failures)
    window = ended - tally.counting_from
    if args.accepted_file:
        Path(args.accepted_file).write_text("".join(f"{webhook_id}\n" for webhook_id in tally.accepted_ids))
    return {
        "connections": args.connections,
        "requests": sum(tally.statuses.values()),
        "statuses": {str(code): count for code, count in sorted(tally.statuses.items())},
        "accepted": len(tally.accepted_ids),
        "counted_seconds": round(window, 3),
        "accepted_per_s": round(tally.counted_accepted / window, 1),
        "answers_per_s": round(len(tally.latencies) / window, 1),
        "p50_ms": round(percentile(tally.latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(tally.latencies, 0.99) * 1000, 2),
        "max_ms": round(max(tally.latencies, default=0.0) * 1000, 2),
        "client_errors": tally.errors,
        "client_error_types": sorted({type(error).__name__ for error in failures}),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/webhooks/sources/shop-nl")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--prefix", required=True, help="webhook ids are <prefix>-<n>")
    parser.add_argument("--first-order-id", type=int, default=5_000_000_000)
    parser.add_argument("--accepted-file", default="")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(main(parse()))))
