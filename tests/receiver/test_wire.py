"""What reaches the receiver over a real socket (uvicorn): a sender that disconnects mid-body, a
Content-Length that lies or is not a number. Each gets a 4xx or, with nobody left to answer, one
log line; never an "Exception in ASGI application" traceback."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from adapters.picqer.webhooks import sign as picqer_sign
from tests.queue.fakes import WEBHOOK_SECRET, make_settings
from tests.support.liveserver import serve
from worker.receiver.app import create_receiver_app

EVENT: dict[str, Any] = {
    "idhook": 30088,
    "name": "picqer-sync orders.status_changed",
    "event": "orders.status_changed",
    "event_triggered_at": "2026-01-13 09:46:30",
    "data": {"idorder": 11, "reference": "#1001", "status": "processing"},
}


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def server(engine: Engine) -> Iterator[tuple[int, Records]]:
    """A live receiver; yields its port and what uvicorn itself logs (where tracebacks would go)."""
    app = create_receiver_app(make_settings(), engine=engine, enqueue=lambda source, inbox_id: None)
    records = Records()
    with serve(app) as url:
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.addHandler(records)
        try:
            yield int(url.rsplit(":", 1)[1]), records
        finally:
            uvicorn_log.removeHandler(records)


def _head(length: str, extra: str = "") -> bytes:
    signature = picqer_sign(json.dumps(EVENT).encode(), WEBHOOK_SECRET)
    return (
        "POST /webhooks/picqer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Picqer-Signature: {signature}\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


def _answer(connection: socket.socket) -> bytes:
    connection.settimeout(10)
    received = b""
    try:
        while b"\r\n\r\n" not in received and (chunk := connection.recv(4096)):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def _wait_for_event(logs: list[Any], event: str) -> None:
    deadline = time.monotonic() + 10
    while event not in [entry["event"] for entry in logs]:
        assert time.monotonic() < deadline, logs
        time.sleep(0.01)


@pytest.mark.parametrize("how", ["close", "half-close"])
def test_a_sender_that_disconnects_mid_body_leaves_one_log_line(
    server: tuple[int, Records], how: str
) -> None:
    port, uvicorn_records = server
    body = json.dumps(EVENT).encode()
    with capture_logs() as logs:
        connection = socket.create_connection(("127.0.0.1", port))
        connection.sendall(_head(str(len(body) + 100)) + body[:20])
        if how == "close":
            connection.close()
        else:
            connection.shutdown(socket.SHUT_WR)  # says "no more", then waits for an answer
        _wait_for_event(logs, "webhook_client_disconnected")
        if how == "half-close":
            _answer(connection)  # nobody is left to answer: the connection just ends
            connection.close()
        time.sleep(0.1)  # let a traceback, if any, reach the log before looking
    assert [entry["event"] for entry in logs] == ["webhook_client_disconnected"]
    assert not [line for line in uvicorn_records.messages if "Exception" in line], uvicorn_records.messages


def test_a_content_length_shorter_than_the_body_is_a_4xx(server: tuple[int, Records]) -> None:
    port, uvicorn_records = server
    body = json.dumps(EVENT).encode()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        # the body arrives cut at the declared length: its signature cannot match
        connection.sendall(_head(str(len(body) - 10), "Connection: close\r\n") + body)
        status = _answer(connection).split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 4"), status
    assert not [line for line in uvicorn_records.messages if "Exception" in line], uvicorn_records.messages


@pytest.mark.parametrize("length", ["twelve", "-5", "1e3"])
def test_a_content_length_that_is_not_a_number_is_a_400(server: tuple[int, Records], length: str) -> None:
    port, uvicorn_records = server
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(_head(length) + json.dumps(EVENT).encode())
        status = _answer(connection).split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 400"), status
    assert not [line for line in uvicorn_records.messages if "Exception" in line], uvicorn_records.messages
