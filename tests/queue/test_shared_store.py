"""The shops' shared state in Redis behaves as ``adapters.shared.SharedStore`` says (fakeredis and Redis)."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import TEST_REDIS_NAMESPACE
from worker.infra.shared_store import RedisSharedStore


def store(redis_client: Any) -> RedisSharedStore:
    return RedisSharedStore(redis_client, namespace=TEST_REDIS_NAMESPACE)


def test_set_get_and_expiry(redis_client: Any) -> None:
    shared = store(redis_client)
    shared.set("shopify:token:abc", "tok-1", ttl=0.2)
    assert shared.get("shopify:token:abc") == "tok-1"
    assert redis_client.get(f"{TEST_REDIS_NAMESPACE}:shopify:token:abc") == b"tok-1"  # under the namespace
    time.sleep(0.3)
    assert shared.get("shopify:token:abc") is None


def test_add_only_when_absent(redis_client: Any) -> None:
    shared = store(redis_client)
    assert shared.add("shopify:token-lock:abc", "me", ttl=5)
    assert not shared.add("shopify:token-lock:abc", "you", ttl=5)
    assert shared.get("shopify:token-lock:abc") == "me"
    shared.delete("shopify:token-lock:abc")
    assert shared.add("shopify:token-lock:abc", "you", ttl=5)


def test_compare_and_delete_keeps_a_newer_value(redis_client: Any) -> None:
    shared = store(redis_client)
    shared.set("shopify:token:abc", "newer", ttl=60)
    shared.delete("shopify:token:abc", value="older")  # a process that saw the old token refused
    assert shared.get("shopify:token:abc") == "newer"
    shared.delete("shopify:token:abc", value="newer")
    assert shared.get("shopify:token:abc") is None


def test_two_stores_on_one_redis_share_what_they_hold(redis_client: Any) -> None:
    store(redis_client).set("shopify:cost:shop", '{"available": 10}', ttl=60)
    assert store(redis_client).get("shopify:cost:shop") == '{"available": 10}'
    other = RedisSharedStore(redis_client, namespace=f"{TEST_REDIS_NAMESPACE}-other")
    assert other.get("shopify:cost:shop") is None  # another deployment's namespace


def test_the_wiring_gives_every_shop_client_the_redis_store(redis_client: Any) -> None:
    from adapters.shared import MEMORY_STORE
    from tests.queue.fakes import make_settings
    from worker.app import build_app

    settings = make_settings()
    with build_app(settings, redis=redis_client) as app:
        assert isinstance(app.context.shop_state, RedisSharedStore)
        with app.context.open_source(settings.source("shop-nl")) as shop:
            assert shop.shared is app.context.shop_state  # one token and one cost bucket per fleet
    with build_app(settings) as local:  # no Redis: one process, its memory
        shop = local.context.open_source(settings.source("shop-nl"))
        assert shop.shared is MEMORY_STORE
        shop.close()
