"""Magento 2 REST authentication: OAuth 1.0a request signing, or a bearer token.

Magento 2.4.4+ and Adobe Commerce refuse an integration's access token used on its own ("This
behavior has been disabled by default"): every request is signed OAuth 1.0a style with the
integration's four values, HMAC-SHA256, in the ``Authorization`` header. The signature covers the
query string (``searchCriteria[...]``) as RFC 5849 says; a new nonce and timestamp per request,
so a retried request is signed again. ``auth = "bearer"`` keeps the token on its own for stores
that switched ``oauth/consumer/enable_integration_as_bearer`` on (or an admin token).
"""

from __future__ import annotations

import httpx

from adapters.auth import HeaderAuth, required_secrets
from adapters.oauth1 import OAuth1Auth, OAuth1Credentials
from adapters.settings import ShopConnection

OAUTH1_CREDENTIALS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


class BearerAuth(HeaderAuth):
    """``Authorization: Bearer <token>`` (an integration token with bearer use enabled, or an admin token)."""

    def __init__(self, token: str) -> None:
        super().__init__("Authorization", f"Bearer {token}")


def integration_auth(
    consumer_key: str, consumer_secret: str, access_token: str, access_token_secret: str
) -> OAuth1Auth:
    """OAuth 1.0a with an integration's four values: HMAC-SHA256 in the ``Authorization`` header."""
    credentials = OAuth1Credentials(
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        token=access_token,
        token_secret=access_token_secret,
    )
    return OAuth1Auth(credentials=credentials, placement="header", signature_method="HMAC-SHA256")


def build_auth(connection: ShopConnection) -> httpx.Auth:
    """The scheme ``connection`` asks for; ``ConfigError`` when its credentials are missing."""
    if connection.auth_scheme() == "bearer":
        (token,) = required_secrets(connection, "access_token")
        return BearerAuth(token)
    return integration_auth(*required_secrets(connection, *OAUTH1_CREDENTIALS))
