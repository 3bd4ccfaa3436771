"""A TCP proxy on 127.0.0.1 that plays a sick service (PostgreSQL, Redis) for the resilience tests.

Three states, switched at any time:

- ``forward()``: connections are passed on to ``upstream`` (the service is fine);
- ``silence()``: connections are accepted and never answered (a service that hangs);
- ``refuse()``: nothing listens on the port (connection refused at once), and the connections
  already open are cut (a service that went down).

The port stays the same through every switch, so a client's URL does not change.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Literal

import sqlalchemy as sa

State = Literal["forward", "silent", "refuse"]


class TcpProxy:
    def __init__(self, upstream: tuple[str, int] | None = None, *, state: State = "silent") -> None:
        self.upstream = upstream
        self.state: State = "refuse"
        probe = socket.create_server(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._switch(state)

    def url(self, database_url: str) -> str:
        """``database_url`` pointed at this proxy."""
        url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def forward(self) -> None:
        self._switch("forward")

    def silence(self) -> None:
        self._switch("silent")

    def refuse(self) -> None:
        self._switch("refuse")

    def close(self) -> None:
        self._switch("refuse")

    def _switch(self, state: State) -> None:
        if state == "forward" and self.upstream is None:
            raise ValueError("a proxy without an upstream cannot forward")
        if state == "refuse":
            self._stop_listening()
        elif self._listener is None:
            self._listen()
        if state != self.state:
            self._cut()  # what was open belongs to the state before
        self.state = state

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _stop_listening(self) -> None:
        if self._listener is not None:
            # wakes the accepting thread (a bare close() leaves the port listening under it)
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def _cut(self) -> None:
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                self._connections.append(client)
            if self.state != "forward" or self.upstream is None:
                continue  # held open, read by nobody, answered never
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
