"""What an adapter needs to reach one shop: where it is, who we are there, how its webhooks are signed.

``worker/config.py`` reads the file and the environment; its ``SourceSettings`` extends
:class:`ShopConnection` with what only the sync needs (tags, reference template, polling), so an
adapter is built from the very object the configuration holds, and can be built without it.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from pydantic import BaseModel, Field, SecretStr, model_validator

from adapters.types import MAGENTO, SHOPIFY, WOOCOMMERCE, Platform

# how a source proves who it is (``auth = ...``; section 0 of the webshop facts says why each exists):
# shopify: "client_credentials" (a Dev Dashboard app) or "access_token" (a legacy custom app), chosen
# by which credentials are given; magento: "oauth1" (2.4.4+ default) or "bearer" (when the store lets an
# integration token be used on its own); woocommerce: "auto" (OAuth 1.0a over http, Basic over https),
# "basic", "query" (keys as query parameters) or "oauth1"
AuthScheme: TypeAlias = Literal[
    "client_credentials", "access_token", "oauth1", "bearer", "auto", "basic", "query"
]
AUTH_SCHEMES: Final[dict[str, tuple[AuthScheme, ...]]] = {
    SHOPIFY: ("client_credentials", "access_token"),
    MAGENTO: ("oauth1", "bearer"),
    WOOCOMMERCE: ("auto", "basic", "query", "oauth1"),
}
# the credentials each (platform, scheme) cannot work without
REQUIRED_CREDENTIALS: Final[dict[tuple[str, AuthScheme], tuple[str, ...]]] = {
    (SHOPIFY, "client_credentials"): ("client_id", "client_secret"),
    (SHOPIFY, "access_token"): ("access_token",),
    (MAGENTO, "oauth1"): ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
    (MAGENTO, "bearer"): ("access_token",),
    **{(WOOCOMMERCE, scheme): ("consumer_key", "consumer_secret") for scheme in AUTH_SCHEMES[WOOCOMMERCE]},
}

# sent with every request to Picqer and the shops: Picqer asks for a product name and a contact
DEFAULT_USER_AGENT: Final = (
    "picqer-sync/0.1 (https://github.com/picqer-sync/picqer-sync; ops@picqer-sync.example)"
)
DEFAULT_SHOPIFY_API_VERSION: Final = "2026-07"
DEFAULT_AUTH: Final[dict[str, AuthScheme]] = {MAGENTO: "oauth1", WOOCOMMERCE: "auto"}


class ShopConnection(BaseModel):
    """The connection settings of one shop (a ``[[sources]]`` entry, without the sync rules)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    platform: Platform
    url: str
    auth: AuthScheme | None = None  # None: the platform's default (see :meth:`auth_scheme`)
    client_id: str | None = None  # shopify: a Dev Dashboard app's client ID
    client_secret: SecretStr | None = None  # shopify: its client secret (token grant, webhook signatures)
    access_token: SecretStr | None = None  # shopify (legacy custom app), magento
    access_token_secret: SecretStr | None = None  # magento, OAuth 1.0a
    consumer_key: SecretStr | None = None  # woocommerce, magento (OAuth 1.0a)
    consumer_secret: SecretStr | None = None  # woocommerce, magento (OAuth 1.0a)
    webhook_secret: SecretStr | None = None
    previous_webhook_secret: SecretStr | None = None  # accepted too while a secret is rotated
    api_version: str = DEFAULT_SHOPIFY_API_VERSION  # shopify: the Admin API version in the URL
    store_code: str = ""  # magento: "" for /rest/V1, or a store view code for /rest/<code>/V1

    @model_validator(mode="after")
    def _scheme_fits_the_platform(self) -> ShopConnection:
        if self.auth is not None and self.auth not in AUTH_SCHEMES[self.platform]:
            known = ", ".join(AUTH_SCHEMES[self.platform])
            raise ValueError(f"auth {self.auth!r} is not one of {self.platform}'s ({known})")
        return self

    def auth_scheme(self) -> AuthScheme:
        """The scheme in use: ``auth`` when given, else the platform's default."""
        if self.auth is not None:
            return self.auth
        if self.platform == SHOPIFY:
            return "client_credentials" if self.client_id or self.client_secret else "access_token"
        return DEFAULT_AUTH[self.platform]

    def missing_credentials(self) -> list[str]:
        """The credential keys its scheme needs that are unset or empty, in a stable order."""
        missing = []
        for key in REQUIRED_CREDENTIALS[(self.platform, self.auth_scheme())]:
            value = getattr(self, key)
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not text:
                missing.append(key)
        return missing
