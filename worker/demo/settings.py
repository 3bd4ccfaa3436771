"""The demo's embedded configuration: Picqer and one source per platform, all in the sandbox."""

from __future__ import annotations

from worker.config import Settings

DEMO_SHOP = "picqer-sync-demo"  # a store name no seed uses: the demo's orders are the only ones
SOURCE_SHOPIFY = "shopify"  # one source per platform, named after it: the summary reads plainly
SOURCE_WOOCOMMERCE = "woocommerce"
SOURCE_MAGENTO = "magento"
DEFAULT_RATE_LIMIT = 500  # Picqer's normal limit, requests per minute
DEFAULT_PICQER_TIMEOUT = 10.0  # seconds; the sandbox answers in milliseconds


def demo_settings(
    *,
    sandbox_url: str,
    receiver_url: str,
    database_url: str,
    picqer_secret: str,
    shopify_secret: str,
    woocommerce_secret: str,
    picqer_timeout: float = DEFAULT_PICQER_TIMEOUT,
) -> Settings:
    """Embedded defaults: Picqer and one source per platform in the sandbox, the receiver at its address.

    Built directly (no config file, no ``PICQER_SYNC_CONFIG``), so a machine's own config never
    points the demo anywhere but the sandbox. Keys are any non-empty value (the sandbox takes any).
    """
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
                "access_token": "demo-access-token",
                "webhook_secret": shopify_secret,
            },
            {
                "name": SOURCE_WOOCOMMERCE,
                "platform": "woocommerce",
                "url": f"{sandbox_url}/woocommerce/{DEMO_SHOP}",
                "consumer_key": "ck_demo",
                "consumer_secret": "cs_demo",
                "webhook_secret": woocommerce_secret,
            },
            {
                "name": SOURCE_MAGENTO,
                "platform": "magento",
                "url": f"{sandbox_url}/magento/{DEMO_SHOP}",
                "access_token": "demo-access-token",
            },
        ],
    )
