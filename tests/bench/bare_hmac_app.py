"""The ingest bench's baseline: a bare ASGI app that only checks a Shopify webhook's HMAC.

What the HTTP stack alone costs on this machine: uvicorn with the options ``picqer-sync run`` uses,
read the body, HMAC-SHA256 it, compare, answer 202. No parsing, no storage. The receiver's figure
is judged beside this one, measured in the same run.

``python tests/bench/bare_hmac_app.py --port P --secret S``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def make_app(secret: bytes) -> Callable[..., Awaitable[None]]:
    async def app(
        scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        given = dict(scope["headers"]).get(b"x-shopify-hmac-sha256", b"")
        expected = base64.b64encode(hmac.new(secret, bytes(body), hashlib.sha256).digest())
        ok = hmac.compare_digest(given, expected)
        answer = b'{"status":"accepted"}' if ok else b'{"error":"bad signature"}'
        await send(
            {
                "type": "http.response.start",
                "status": 202 if ok else 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(answer)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    return app


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    # the receiver's uvicorn options (worker/cli/run_cmd.py), so the baseline is the same stack
    from worker.cli.run_cmd import uvicorn_options

    uvicorn.run(make_app(args.secret.encode()), host="127.0.0.1", port=args.port, **uvicorn_options())
