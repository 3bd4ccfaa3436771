"""Read a request body without trusting its size: the header first, then what actually arrives."""

from __future__ import annotations

from fastapi import Request
from starlette.requests import ClientDisconnect


class BodyTooLarge(Exception):
    """The body is (or says it is) larger than the limit: 413."""


class InvalidContentLength(Exception):
    """``Content-Length`` is not a number: 400."""


class ClientGone(Exception):
    """The sender disconnected before its whole body arrived: nobody is left to answer."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, at most ``limit`` bytes; stops reading as soon as it goes over.

    ``Content-Length`` can be absent (chunked) or lie, so the streamed size is checked too.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InvalidContentLength from None
        if size > limit:
            raise BodyTooLarge
    received = bytearray()
    try:
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:
                raise BodyTooLarge
    except ClientDisconnect:
        raise ClientGone from None
    return bytes(received)
