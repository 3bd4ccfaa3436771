"""What the shops' webhook checks share: the signature they use and the secrets a source accepts.

Shopify and WooCommerce both sign a webhook with ``base64(HMAC-SHA256(secret, raw body))``, over
the exact bytes sent. Each platform's ``webhooks.py`` reads its own headers and parses its own body.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Any

from adapters.settings import ShopConnection

# hashlib lets go of the GIL while it hashes 2 KiB or more at once; on the receiver's event loop
# that hands the interpreter to the inbox writer's thread, and the loop then waits to get it back,
# longer than the hashing takes (measured: 74 microseconds a webhook where the hash costs 8). Fed in
# pieces below that size the hash keeps the GIL, at the same speed.
_HASH_PIECE = 2047
_BLOCK = 64  # SHA-256's block size (RFC 2104's B)


@functools.lru_cache(maxsize=64)
def _pads(secret: str) -> tuple[Any, Any]:
    """SHA-256 states after the inner and outer padded keys (RFC 2104), copied for each message."""
    key = secret.encode("utf-8")
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return (
        hashlib.sha256(bytes(byte ^ 0x36 for byte in key)),
        hashlib.sha256(bytes(byte ^ 0x5C for byte in key)),
    )


def hmac_sha256(raw: bytes, secret: str) -> bytes:
    """The raw HMAC-SHA256 digest of ``raw`` under ``secret`` (``hmac.digest``'s, computed without
    letting go of the GIL: see ``_HASH_PIECE``)."""
    inner_pad, outer_pad = _pads(secret)
    inner = inner_pad.copy()
    view = memoryview(raw)
    for start in range(0, len(view), _HASH_PIECE):
        inner.update(view[start : start + _HASH_PIECE])
    outer = outer_pad.copy()
    outer.update(inner.digest())
    digest: bytes = outer.digest()
    return digest


def sign(raw: bytes, secret: str) -> str:
    """``base64(HMAC-SHA256(secret, raw))``: the signature header's value for ``raw``."""
    return base64.b64encode(hmac_sha256(raw, secret)).decode("ascii")


def accepted_secrets(settings: ShopConnection) -> list[str]:
    """The webhook secrets a signature may be made with: the current one, and the previous one
    while a secret is rotated (the shop keeps signing with the old one for a while)."""
    return [
        secret.get_secret_value()
        for secret in (settings.webhook_secret, settings.previous_webhook_secret)
        if secret is not None and secret.get_secret_value()
    ]
