"""Shopify's webhook signature, computed independently of the adapter (the sandbox imports no adapter)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(raw: bytes, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 over the exact body bytes."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).digest()).decode("ascii")
