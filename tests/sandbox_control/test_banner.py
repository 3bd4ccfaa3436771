"""`picqer-sync sandbox` says where every simulator lives and where a config's secrets come from."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sandbox.app import create_sandbox_app
from worker.cli.sandbox_cmd import sandbox_banner

BASE = "http://127.0.0.1:8700"


def test_the_banner_names_every_simulator_the_control_and_the_credentials() -> None:
    banner = sandbox_banner(BASE)
    simulators = create_sandbox_app(seed=False).state.simulators
    for name in simulators:
        assert f"{BASE}/{name}/" in banner, name
    assert f"{BASE}/_sandbox/ " in banner
    assert f"{BASE}/_sandbox/docs" in banner
    assert f"{BASE}/_sandbox/credentials" in banner
    assert "webhook_secrets" in banner


def test_the_credentials_say_where_every_webhook_secret_comes_from() -> None:
    app = create_sandbox_app(seed=True)
    with TestClient(app) as client:
        issued = client.get("/_sandbox/credentials").json()
        one_shop = client.get("/_sandbox/credentials", params={"shop": "demo-shop"}).json()
    assert set(issued["webhook_secrets"]) == set(app.state.simulators)
    assert "hooks sync" in issued["picqer"]["webhook_secret"]
    assert {"client_id", "client_secret"} <= issued["shopify"]["demo-shop"].keys()
    assert {"consumer_key", "consumer_secret"} <= issued["woocommerce"]["demo-shop"].keys()
    assert one_shop["webhook_secrets"] == issued["webhook_secrets"]
