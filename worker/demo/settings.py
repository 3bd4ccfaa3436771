"""The demo's embedded configuration: Picqer and one source per platform, all in the sandbox."""

from __future__ import annotations

from collections.abc import Mapping

from worker.config import Settings

# platform -> what the sandbox issued the demo's store there (``GET /_sandbox/credentials?shop=...``)
Credentials = Mapping[str, Mapping[str, str]]

DEMO_SHOP = "picqer-sync-demo"  # a store name no seed uses: the demo's orders are the only ones
SOURCE_SHOPIFY = "shopify"  # one source per platform, named after it: the summary reads plainly
SOURCE_WOOCOMMERCE = "woocommerce"
SOURCE_MAGENTO = "magento"
DEFAULT_RATE_LIMIT = 500  # Picqer's normal limit, requests per minute
DEFAULT_PICQER_TIMEOUT = 10.0  # seconds; the sandbox answers in milliseconds
# the four values of a Magento integration, for OAuth 1.0a
MAGENTO_KEYS = (
    "consumer_key",
    "consumer_secret",
    "access_token",
    "access_token_secret",
)


def demo_settings(
    *,
    sandbox_url: str,
    receiver_url: str,
    database_url: str,
    picqer_secret: str,
    woocommerce_secret: str,
    credentials: Credentials,
    picqer_timeout: float = DEFAULT_PICQER_TIMEOUT,
) -> Settings:
    """Embedded defaults: Picqer and one source per platform in the sandbox, the receiver at its address.

    Built directly (no config file, no ``PICQER_SYNC_CONFIG``), so a machine's own config never
    points the demo anywhere but the sandbox. Each shop is reached as a store set up today is:
    Shopify through a Dev Dashboard app's client credentials (its webhooks are signed with the
    client secret), WooCommerce over http and Magento with OAuth 1.0a signatures, with the
    credentials the sandbox issued (``credentials``).
    """
    shopify, woocommerce, magento = credentials["shopify"], credentials["woocommerce"], credentials["magento"]
    return Settings(
        database_url=database_url,
        redis_url="",
        public_url=receiver_url,
        worker_threads=4,
        picqer={
            "url": f"{sandbox_url}/picqer/api/v1/",
            "api_key": "demo-api-key",
            "webhook_secret": picqer_secret,
            "requests_per_minute": DEFAULT_RATE_LIMIT,
            "timeout_seconds": picqer_timeout,
        },
        sources=[
            {
                "name": SOURCE_SHOPIFY,
                "platform": "shopify",
                "url": f"{sandbox_url}/shopify/{DEMO_SHOP}",
                "client_id": shopify["client_id"],
                "client_secret": shopify["client_secret"],
            },
            {
                "name": SOURCE_WOOCOMMERCE,
                "platform": "woocommerce",
                "url": f"{sandbox_url}/woocommerce/{DEMO_SHOP}",
                "consumer_key": woocommerce["consumer_key"],
                "consumer_secret": woocommerce["consumer_secret"],
                "webhook_secret": woocommerce_secret,
            },
            {
                "name": SOURCE_MAGENTO,
                "platform": "magento",
                "url": f"{sandbox_url}/magento/{DEMO_SHOP}",
                **{key: magento[key] for key in MAGENTO_KEYS},
            },
        ],
    )
