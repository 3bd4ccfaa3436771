"""Magento 2 REST authentication: a bearer token."""

from __future__ import annotations

import httpx

from adapters.auth import HeaderAuth, required_secrets
from adapters.settings import ShopConnection


class BearerAuth(HeaderAuth):
    """``Authorization: Bearer <token>`` (an integration token with bearer use enabled, or an admin token)."""

    def __init__(self, token: str) -> None:
        super().__init__("Authorization", f"Bearer {token}")


def build_auth(connection: ShopConnection) -> httpx.Auth:
    """The scheme ``connection`` asks for; ``ConfigError`` when its credentials are missing."""
    (token,) = required_secrets(connection, "access_token")
    return BearerAuth(token)
