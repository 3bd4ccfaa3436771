"""A live sandbox and a config file pointing at it, on SQLite and on PostgreSQL with Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.app import create_sandbox_app
from tests.conftest import REDIS_URL
from tests.support.liveserver import serve


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with serve(create_sandbox_app(rate_limit=None, seed=True)) as base:
        yield base


@pytest.fixture(
    params=["sqlite", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
def config_file(request: pytest.FixtureRequest, tmp_path: Path, sandbox_url: str) -> Path:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    if request.param == "sqlite":
        database_url, redis_url = f"sqlite:///{tmp_path / 'mirror.db'}", ""
    else:
        database_url = request.getfixturevalue("postgres_url")
        request.getfixturevalue("real_redis")  # flushed before and after
        redis_url = REDIS_URL
    config = tmp_path / "picqer-sync.toml"
    config.write_text(
        f"""
database_url = "{database_url}"
redis_url = "{redis_url}"
log_format = "json"
public_url = "https://sync.example.test"

[picqer]
url = "{sandbox_url}/picqer/api/v1/"
api_key = "env:TEST_PICQER_KEY"
webhook_secret = "picqer-hook-secret"

[[sources]]
name = "shop-nl"
platform = "shopify"
url = "{sandbox_url}/shopify/demo-shop"
access_token = "token"

[[sources]]
name = "woo"
platform = "woocommerce"
url = "{sandbox_url}/woocommerce/demo-shop"
consumer_key = "ck_demo-shop"
consumer_secret = "cs_demo-shop"

[[sources]]
name = "mage"
platform = "magento"
url = "{sandbox_url}/magento/demo-shop"
consumer_key = "demo-shop-consumer-key"
consumer_secret = "demo-shop-consumer-secret"
access_token = "demo-shop-access-token"
access_token_secret = "demo-shop-access-token-secret"
on_cancel_processing = "force_cancel"
"""
    )
    return config


@pytest.fixture(autouse=True)
def _picqer_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PICQER_KEY", "sandbox-key")
