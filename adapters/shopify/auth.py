"""Shopify Admin API authentication: the app's access token in its own header."""

from __future__ import annotations

import httpx

from adapters.auth import HeaderAuth, required_secrets
from adapters.settings import ShopConnection

ACCESS_TOKEN_HEADER = "X-Shopify-Access-Token"


class AccessTokenAuth(HeaderAuth):
    """``X-Shopify-Access-Token: <token>`` (a custom or legacy app's Admin API access token)."""

    def __init__(self, token: str) -> None:
        super().__init__(ACCESS_TOKEN_HEADER, token)


def build_auth(connection: ShopConnection) -> httpx.Auth:
    """The scheme ``connection`` asks for; ``ConfigError`` when its credentials are missing."""
    (token,) = required_secrets(connection, "access_token")
    return AccessTokenAuth(token)
