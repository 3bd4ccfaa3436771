"""What the shops' webhook checks share: the signature they use and the secrets a source accepts.

Shopify and WooCommerce both sign a webhook with ``base64(HMAC-SHA256(secret, raw body))``, over
the exact bytes sent. Each platform's ``webhooks.py`` reads its own headers and parses its own body.
"""

from __future__ import annotations

import base64
import hmac

from adapters.settings import ShopConnection


def hmac_sha256(raw: bytes, secret: str) -> bytes:
    """The raw HMAC-SHA256 digest of ``raw`` under ``secret``."""
    # the one-shot C digest: no HMAC object built in Python per webhook
    return hmac.digest(secret.encode("utf-8"), raw, "sha256")


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
