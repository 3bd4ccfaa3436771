"""The run's config file, written as an operator would write one (deploy/config.example.toml).

Only settings an operator may set are used: the shorter intervals of the safety nets (polls,
reconcile, inbox sweep) and a Picqer client timeout below the sandbox's "answer after the write"
delay, so those answers are real client timeouts. Secrets are ``env:`` references, set in the
processes' environment only. Each source has a reference prefix, so the three shops' order numbers
can never meet in Picqer (the run counts Picqer orders by reference).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHOP = "chaos-shop"  # the store name in every shop simulator: empty until the run fills it
# source name -> (platform, reference prefix)
SOURCES = {
    "shop-shopify": ("shopify", "SH-"),
    "shop-woo": ("woocommerce", "WC-"),
    "shop-magento": ("magento", "MG-"),
}
PICQER_TIMEOUT_SECONDS = 4.0
AFTER_WRITE_DELAY_SECONDS = 6.0  # > the client timeout: the client gives up, Picqer did the work
POLL_SECONDS = 10
# a poll re-reads this far behind its cursor (default 15 min): every 10 s, 15 minutes of the run's
# orders would be read again and again, at a cost the default interval (5 min) never pays
POLL_OVERLAP_SECONDS = 120
RECONCILE_SECONDS = 15
INBOX_SWEEP_SECONDS = 5
HOOK_CHECK_SECONDS = 30
WORKER_THREADS = 4


@dataclass(frozen=True)
class Endpoints:
    sandbox_url: str
    web_port: int
    database_url: str  # through the PostgreSQL proxy
    redis_url: str  # through the Redis proxy
    redis_namespace: str
    requests_per_minute: int


@dataclass(frozen=True)
class Secrets:
    """Values the processes read from their environment (``env:`` references in the file)."""

    values: dict[str, str]

    @classmethod
    def issue(cls, credentials: dict[str, Any]) -> Secrets:
        shopify = credentials["shopify"][SHOP]
        woo = credentials["woocommerce"][SHOP]
        magento = credentials["magento"][SHOP]
        return cls(
            {
                "CHAOS_ADMIN_TOKEN": secrets.token_hex(16),
                "CHAOS_PICQER_API_KEY": "chaos-api-key",
                "CHAOS_PICQER_WEBHOOK_SECRET": secrets.token_hex(16),
                "CHAOS_SHOPIFY_CLIENT_ID": shopify["client_id"],
                "CHAOS_SHOPIFY_CLIENT_SECRET": shopify["client_secret"],
                "CHAOS_WOO_KEY": woo["consumer_key"],
                "CHAOS_WOO_SECRET": woo["consumer_secret"],
                "CHAOS_WOO_WEBHOOK_SECRET": secrets.token_hex(16),
                **{f"CHAOS_MAGENTO_{key.upper()}": magento[key] for key in MAGENTO_KEYS},
            }
        )


MAGENTO_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


def write_config(path: Path, endpoints: Endpoints) -> Path:
    sandbox = endpoints.sandbox_url
    lines = [
        "# written by the chaos run (tests/chaos/harness/config.py)",
        f'database_url = "{endpoints.database_url}"',
        f'redis_url = "{endpoints.redis_url}"',
        f'redis_namespace = "{endpoints.redis_namespace}"',
        f'public_url = "http://127.0.0.1:{endpoints.web_port}"',
        'admin_token = "env:CHAOS_ADMIN_TOKEN"',
        'log_format = "json"',
        'log_level = "INFO"',
        f"worker_threads = {WORKER_THREADS}",
        f"reconcile_interval_seconds = {RECONCILE_SECONDS}",
        f"inbox_sweep_interval_seconds = {INBOX_SWEEP_SECONDS}",
        f"hook_check_interval_seconds = {HOOK_CHECK_SECONDS}",
        "fulfilment_delay_seconds = 1.0",
        "",
        "[picqer]",
        f'url = "{sandbox}/picqer/api/v1/"',
        'api_key = "env:CHAOS_PICQER_API_KEY"',
        'webhook_secret = "env:CHAOS_PICQER_WEBHOOK_SECRET"',
        f"requests_per_minute = {endpoints.requests_per_minute}",
        f"timeout_seconds = {PICQER_TIMEOUT_SECONDS}",
    ]
    for name, (platform, prefix) in SOURCES.items():
        lines += [
            "",
            "[[sources]]",
            f'name = "{name}"',
            f'platform = "{platform}"',
            f'url = "{sandbox}/{platform}/{SHOP}"',
            f'reference = "{prefix}{{number}}"',
            'tags = ["{source}"]',
            f"poll_interval_seconds = {POLL_SECONDS}",
            f"poll_overlap_seconds = {POLL_OVERLAP_SECONDS}",
            'start_at = "2020-01-01"',
        ]
        if platform == "shopify":
            lines += [
                'client_id = "env:CHAOS_SHOPIFY_CLIENT_ID"',
                'client_secret = "env:CHAOS_SHOPIFY_CLIENT_SECRET"',
            ]
        elif platform == "woocommerce":
            lines += [
                'consumer_key = "env:CHAOS_WOO_KEY"',
                'consumer_secret = "env:CHAOS_WOO_SECRET"',
                'webhook_secret = "env:CHAOS_WOO_WEBHOOK_SECRET"',
            ]
        else:
            lines += [f'{key} = "env:CHAOS_MAGENTO_{key.upper()}"' for key in MAGENTO_KEYS]
    path.write_text("\n".join(lines) + "\n")
    return path
