"""Read a request body without trusting its size: the header first, then what actually arrives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

#: an ASGI ``receive``
Receive = Callable[[], Awaitable[Mapping[str, Any]]]


class BodyTooLarge(Exception):
    """The body is (or says it is) larger than the limit: 413."""


class InvalidContentLength(Exception):
    """``Content-Length`` is not a number: 400."""


class ClientGone(Exception):
    """The sender disconnected before its whole body arrived: nobody is left to answer."""


async def read_body(headers: Mapping[str, str], receive: Receive, limit: int) -> bytes:
    """The body, at most ``limit`` bytes, from the ASGI ``receive``; stops reading as soon as it
    goes over.

    ``Content-Length`` can be absent (chunked) or lie, so the streamed size is checked too.
    """
    declared = headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InvalidContentLength from None
        if size < 0:
            raise InvalidContentLength
        if size > limit:
            raise BodyTooLarge
    received = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        received += chunk
        if len(received) > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            return received
