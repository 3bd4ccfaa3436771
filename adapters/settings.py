"""What an adapter needs to reach one shop: where it is, who we are there, how its webhooks are signed.

``worker/config.py`` reads the file and the environment; its ``SourceSettings`` extends
:class:`ShopConnection` with what only the sync needs (tags, reference template, polling), so an
adapter is built from the very object the configuration holds, and can be built without it.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, Field, SecretStr

from adapters.types import Platform

# sent with every request to Picqer and the shops: Picqer asks for a product name and a contact
DEFAULT_USER_AGENT: Final = (
    "picqer-sync/0.1 (https://github.com/picqer-sync/picqer-sync; ops@picqer-sync.example)"
)
DEFAULT_SHOPIFY_API_VERSION: Final = "2026-07"


class ShopConnection(BaseModel):
    """The connection settings of one shop (a ``[[sources]]`` entry, without the sync rules)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    platform: Platform
    url: str
    access_token: SecretStr | None = None  # shopify, magento
    consumer_key: SecretStr | None = None  # woocommerce
    consumer_secret: SecretStr | None = None  # woocommerce
    webhook_secret: SecretStr | None = None
    previous_webhook_secret: SecretStr | None = None  # accepted too while a secret is rotated
    api_version: str = DEFAULT_SHOPIFY_API_VERSION  # shopify: the Admin API version in the URL
    store_code: str = ""  # magento: "" for /rest/V1, or a store view code for /rest/<code>/V1
