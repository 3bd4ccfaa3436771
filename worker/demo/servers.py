"""ASGI apps served by uvicorn in a thread, each on a free 127.0.0.1 port the OS hands out."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from worker.demo.errors import DemoError

SERVER_START_SECONDS = 10.0


def bind_local_socket() -> socket.socket:
    """A listening-ready socket on a free 127.0.0.1 port; kept open, so no one else takes the port."""
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that name TCP, and without it every
    # small answer waits ~40 ms for the client's delayed acknowledgement
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve(app: Any, sock: socket.socket, *, name: str) -> Iterator[str]:
    """Serve ``app`` with uvicorn on ``sock`` in a thread until the block ends; yields its URL."""
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise DemoError(f"the {name} did not start on {socket_url(sock)}")
            time.sleep(0.01)
        yield socket_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=SERVER_START_SECONDS)
        sock.close()
