"""A TCP proxy the run owns, between the processes and PostgreSQL or Redis, that can be cut.

``cut()`` closes the listening socket (new connections are refused) and drops every live
connection, as a database or Redis that went away does; ``restore()`` listens on the same port
again. One asyncio loop in a daemon thread serves every proxy of the run: two byte pumps per
connection cost far less than two threads each, and the harness shares two cores with the stack.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 64 * 1024
CONTROL_SECONDS = 10.0  # the longest a cut or restore may take


class ProxyLoop:
    """The event loop the proxies run on, in a daemon thread; ``close()`` stops it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="chaos-proxies", daemon=True)
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(CONTROL_SECONDS)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CONTROL_SECONDS)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``port`` is picked by the OS on first start."""

    def __init__(self, loop: ProxyLoop, *, name: str, target: tuple[str, int]) -> None:
        self.name = name
        self.target = target
        self.port = _free_port()
        self._loop = loop
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0  # accepted over the run, for the report
        self.dropped = 0  # live connections cut

    @property
    def up(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        self._loop.call(self._listen())

    def cut(self) -> None:
        """Refuse new connections and drop the live ones."""
        self._loop.call(self._cut())

    def restore(self) -> None:
        self._loop.call(self._listen())

    def stop(self) -> None:
        if self.up:
            self.cut()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # the listening socket only; the live connections are dropped below
        for writer in list(self._writers):
            self.dropped += 1
            _abort(writer)
        self._writers.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._server is None:  # accepted just before a cut
            _abort(client_writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(client_writer)
            return
        self.connections += 1
        pair = (client_writer, upstream_writer)
        self._writers.update(pair)
        try:
            await asyncio.gather(_pump(client_reader, upstream_writer), _pump(upstream_reader, client_writer))
        finally:
            for writer in pair:
                self._writers.discard(writer)
                _abort(writer)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass
    finally:
        _abort(writer)  # one side gone: the other goes too, as with a real connection


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()  # a reset, not a polite FIN: what a vanished server looks like


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
