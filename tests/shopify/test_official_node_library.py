"""Shopify's own Node library (``@shopify/shopify-api`` 12.3.0 on npm), unchanged, against the simulator.

``node/check_library.mjs`` drives the library against the sandbox served on a real local port: the
client credentials grant (``shopify.auth.clientCredentials``), orders through its GraphQL client,
a webhook subscription made with that client, and ``shopify.webhooks.validate`` on the delivery the
simulator then really sends to a receiver in the script (and on the same delivery with a changed
body). The library calls ``https://{shop}.myshopify.com/...``; the only thing between them is the
fetch the script sets, which sends those requests to ``/shopify/{shop}/...`` over http.

The library is pinned by ``node/package-lock.json`` and installed with ``npm ci`` into
``node/node_modules`` on first use. Without ``node`` or ``npm`` the tests are skipped locally and
fail under ``CI=true``.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from sandbox.app import create_sandbox_app
from tests.conftest import on_ci
from tests.support.liveserver import serve

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "check_library.mjs"
LIBRARY = "12.3.0"
NODE_MAJOR = 20  # what @shopify/shopify-api 12 needs ("engines")
SHOP = "node-library"
DOMAIN = f"{SHOP}.myshopify.com"
INSTALL_TIMEOUT = 120.0
SCRIPT_TIMEOUT = 30.0


def _unavailable(reason: str) -> NoReturn:
    if on_ci():
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def _lock_digest() -> str:
    """What the installed node_modules must have come from: the manifest and the lock file."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((NODE_DIR / name).read_bytes())
    return digest.hexdigest()


def _install(npm: str) -> None:
    """``npm ci`` into node/node_modules unless what is there came from this very lock file; under
    a file lock, so parallel test processes never install over each other."""
    stamp = NODE_DIR / "node_modules" / ".picqer-sync-lock.sha256"
    wanted = _lock_digest()
    guard = (
        Path(tempfile.gettempdir())
        / f"picqer-sync-npm-{hashlib.sha256(bytes(NODE_DIR)).hexdigest()[:12]}.lock"
    )
    with guard.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == wanted:
            return
        env = {**os.environ, "npm_config_update_notifier": "false"}
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=NODE_DIR,
                env=env,
                timeout=INSTALL_TIMEOUT,
                check=False,
                capture_output=True,
                text=True,
            )
        except subprocess.TimeoutExpired:
            _unavailable(f"npm ci did not finish within {INSTALL_TIMEOUT:.0f} s in {NODE_DIR}")
        if done.returncode != 0:
            _unavailable(f"npm ci failed in {NODE_DIR} (exit {done.returncode}):\n{done.stderr[-3000:]}")
        stamp.write_text(wanted)


@pytest.fixture(scope="module")
def node() -> str:
    """The ``node`` executable, with the pinned library installed beside the script."""
    node_path, npm = shutil.which("node"), shutil.which("npm")
    if node_path is None or npm is None:
        _unavailable(
            f"{'node' if node_path is None else 'npm'} is not installed (needed for @shopify/shopify-api)"
        )
    version = subprocess.run(
        [node_path, "--version"], check=False, capture_output=True, text=True, timeout=10
    ).stdout.strip()
    found = re.match(r"v(\d+)\.", version)
    major = int(found.group(1)) if found else 0
    if major < NODE_MAJOR:
        _unavailable(
            f"node {version or '(unknown)'} is too old: @shopify/shopify-api {LIBRARY} needs {NODE_MAJOR}+"
        )
    _install(npm)
    return node_path


@pytest.fixture(scope="module")
def run(node: str) -> Iterator[dict[str, Any]]:
    """One run of the script against a fresh sandbox, with two orders made beforehand.

    Yields the script's report plus what the test made and what the simulator logged."""
    with serve(create_sandbox_app(seed=False)) as base, httpx.Client(base_url=base, timeout=10) as http:
        app = http.get("/_sandbox/credentials", params={"shop": SHOP}).json()["shopify"][SHOP]
        made = []
        for name in ("tshirt", "mug"):
            answer = http.post(f"/_sandbox/shopify/shops/{SHOP}/orders", json={"template": name})
            answer.raise_for_status()
            made.append(answer.json()["order"])
        arguments = {
            "base": base,
            "shop": SHOP,
            "clientId": app["client_id"],
            "clientSecret": app["client_secret"],
        }
        started = time.monotonic()
        done = subprocess.run(
            [node, str(SCRIPT), json.dumps(arguments)],
            cwd=NODE_DIR,
            timeout=SCRIPT_TIMEOUT,
            check=False,
            capture_output=True,
            text=True,
        )
        took = time.monotonic() - started
        assert done.returncode == 0, f"the script failed (exit {done.returncode}):\n{done.stderr}"
        lines = done.stdout.strip().splitlines()
        assert lines, f"the script printed nothing:\n{done.stderr}"
        report: dict[str, Any] = json.loads(lines[-1])
        yield {
            "report": report,
            "stderr": done.stderr,
            "seconds": took,
            "app": app,
            "made": made,
            "outbox": http.get("/_sandbox/shopify/webhooks").json()["deliveries"],
            "token_works": http.post(
                f"/shopify/{SHOP}/admin/api/2026-04/graphql.json",
                json={"query": "{ shop { name } }"},
                headers={"X-Shopify-Access-Token": report["session"]["accessToken"]},
            ).status_code,
        }


def test_the_pinned_library_only_ever_calls_the_store(run: dict[str, Any]) -> None:
    report = run["report"]
    assert report["library"] == LIBRARY
    assert report["requests"], run["stderr"]
    for request in report["requests"]:
        assert request["url"].startswith(f"https://{DOMAIN}/admin/"), request
    assert run["seconds"] < SCRIPT_TIMEOUT


def test_client_credentials_gives_the_library_a_token_the_store_accepts(run: dict[str, Any]) -> None:
    report = run["report"]
    session = report["session"]
    assert session["shop"] == DOMAIN
    assert session["accessToken"].startswith("shpat_"), run["stderr"]
    assert "read_orders" in session["scope"].split(",")
    assert session["expires"] is not None  # the library read expires_in
    assert run["token_works"] == 200
    # the grant as the library sends it: a JSON POST to /admin/oauth/access_token
    grant = report["requests"][0]
    assert (grant["method"], grant["url"], grant["contentType"]) == (
        "POST",
        f"https://{DOMAIN}/admin/oauth/access_token",
        "application/json",
    )
    # a wrong secret: the library raises the store's 401
    assert report["wrongSecret"] == {"refused": True, "error": "HttpResponseError", "code": 401}


def test_the_graphql_client_reads_orders_with_their_cost(run: dict[str, Any]) -> None:
    orders = run["report"]["orders"]
    assert orders["data"]["shop"]["myshopifyDomain"] == DOMAIN
    nodes = orders["data"]["orders"]["nodes"]
    made = run["made"]
    assert [(node["id"], node["legacyResourceId"], node["name"]) for node in nodes] == [
        (f"gid://shopify/Order/{order['id']}", str(order["id"]), order["name"]) for order in made
    ]
    assert [[line["sku"] for line in node["lineItems"]["nodes"]] for node in nodes] == [
        [line["sku"] for line in order["line_items"]] for order in made
    ]
    assert orders["data"]["orders"]["pageInfo"] == {"hasNextPage": False}
    cost = orders["extensions"]["cost"]
    assert cost["requestedQueryCost"] >= cost["actualQueryCost"] > 0
    assert cost["throttleStatus"]["maximumAvailable"] > cost["throttleStatus"]["currentlyAvailable"] > 0
    assert orders["apiVersion"] in ("2026-04", ["2026-04"])


def test_the_library_accepts_a_delivered_webhook_and_refuses_a_changed_one(run: dict[str, Any]) -> None:
    report = run["report"]
    assert report["subscription"]["userErrors"] == []
    assert report["subscription"]["webhookSubscription"]["topic"] == "ORDERS_CREATE"
    delivery = report["delivery"]
    headers = delivery["headers"]
    assert (delivery["method"], headers["x-shopify-topic"], headers["x-shopify-shop-domain"]) == (
        "POST",
        "orders/create",
        DOMAIN,
    )
    assert json.loads(delivery["rawBody"])["id"] == report["order"]["id"]
    # what the receiver got is what the simulator sent, signed with the app's client secret
    [sent] = [
        item
        for item in run["outbox"]
        if item["headers"]["X-Shopify-Webhook-Id"] == headers["x-shopify-webhook-id"]
    ]
    assert (sent["status"], sent["body"]) == (200, delivery["rawBody"])
    secret = run["app"]["client_secret"].encode()
    expected = base64.b64encode(
        hmac.new(secret, delivery["rawBody"].encode(), hashlib.sha256).digest()
    ).decode()
    assert headers["x-shopify-hmac-sha256"] == expected

    assert report["valid"] == {
        "valid": True,
        "apiVersion": "2026-04",
        "domain": DOMAIN,
        "hmac": expected,
        "topic": "ORDERS_CREATE",
        "webhookId": headers["x-shopify-webhook-id"],
    }
    assert report["tampered"] == {"changed": True, "valid": False, "reason": "invalid_hmac"}
    assert report["otherSecret"] == {"valid": False, "reason": "invalid_hmac"}
