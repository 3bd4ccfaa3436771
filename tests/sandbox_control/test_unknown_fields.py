"""Every sandbox control endpoint refuses a field it does not know (422), instead of answering 200
and doing something other than the caller meant."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from sandbox.app import create_sandbox_app

# free-form on purpose: the keys are Magento config paths, and an unknown one is refused with
# Magento's own 400 ("The simulator knows no setting ...")
FREE_FORM = {("post", "/_sandbox/magento/shops/{shop}/config")}
WRITES = ("post", "put", "patch", "delete")

APP = create_sandbox_app(seed=False)
SCHEMA: dict[str, Any] = APP.openapi()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_sandbox_app(seed=True)) as test_client:
        yield test_client


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every control write, as the OpenAPI document describes it."""
    return [
        (method, path, operation)
        for path, item in SCHEMA["paths"].items()
        if path.startswith("/_sandbox/")
        for method, operation in item.items()
        if method in WRITES
    ]


WITH_BODY = [op for op in _operations() if "requestBody" in op[2] and op[:2] not in FREE_FORM]
IDS = [f"{method.upper()} {path}" for method, path, _ in WITH_BODY]


def _models(schema: dict[str, Any]) -> list[str]:
    """The names of the models a body schema can be (through anyOf, arrays and nesting)."""
    if "$ref" in schema:
        return [schema["$ref"].rsplit("/", 1)[-1]]
    found = [name for option in schema.get("anyOf", []) for name in _models(option)]
    if "items" in schema:
        found += _models(schema["items"])
    return found


def _all_models(names: list[str]) -> set[str]:
    """``names`` and every model their fields refer to."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for field in SCHEMA["components"]["schemas"][name].get("properties", {}).values():
            todo += _models(field)
    return seen


def test_the_walk_finds_the_control_endpoints() -> None:
    assert len(WITH_BODY) >= 25
    prefixes = {path.split("/")[2] for _, path, _ in WITH_BODY}
    assert {"picqer", "shopify", "woocommerce", "magento", "clock", "reset"} <= prefixes


def test_no_control_endpoint_reads_the_raw_request() -> None:
    """A body read by hand escapes validation (and the docs page): every body is a declared model."""
    for name, simulator in APP.state.simulators.items():
        for route in simulator.control.routes:
            assert isinstance(route, APIRoute)
            assert route.dependant.request_param_name is None, f"/_sandbox/{name}{route.path}"


@pytest.mark.parametrize(("method", "path", "operation"), WITH_BODY, ids=IDS)
def test_every_control_body_forbids_unknown_fields(method: str, path: str, operation: dict[str, Any]) -> None:
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    names = _all_models(_models(schema))
    assert names, f"{method} {path}: the body is not a model"
    for name in names:
        assert SCHEMA["components"]["schemas"][name].get("additionalProperties") is False, name


def _path(path: str, operation: dict[str, Any]) -> str:
    """The path with plausible values: 1 for ids, a shop name for names."""
    kinds = {p["name"]: p["schema"].get("type") for p in operation.get("parameters", []) if p["in"] == "path"}
    return re.sub(r"\{(\w+)\}", lambda m: "1" if kinds.get(m.group(1)) == "integer" else "demo-shop", path)


@pytest.mark.parametrize(("method", "path", "operation"), WITH_BODY, ids=IDS)
def test_an_unknown_field_is_answered_422_and_named(
    client: TestClient, method: str, path: str, operation: dict[str, Any]
) -> None:
    answer = client.request(method, _path(path, operation), json={"no_such_field": 1})
    assert answer.status_code == 422, answer.text
    assert "no_such_field" in answer.text


def test_a_misspelt_fault_changes_nothing(client: TestClient) -> None:
    """The failure this prevents: a test that thinks it switched faults on, and did not."""
    assert client.post("/_sandbox/picqer/faults", json={"error_rte": 1, "status": 503}).status_code == 422
    assert client.get("/_sandbox/picqer/faults").json() == {"rules": []}
    assert client.post("/_sandbox/picqer/faults", json={"error_rate": 1, "status": 503}).status_code == 200
    assert client.get("/_sandbox/picqer/faults").json()["rules"][0]["status"] == 503


def test_known_fields_still_work_in_every_simulator(client: TestClient) -> None:
    assert client.post("/_sandbox/clock", json={"advance": 60}).status_code == 200
    assert client.post("/_sandbox/picqer/rate-limit", json={"limit": 100}).json() == {"limit": 100}
    assert client.post("/_sandbox/shopify/webhooks/faults", json={"duplicate_rate": 0.5}).status_code == 200
    assert client.put("/_sandbox/woocommerce/faults", json={"strip_authorization": False}).status_code == 200
    made = client.post(
        "/_sandbox/magento/shops/demo-shop/orders",
        json={"items": [{"sku": "MUG-LOGO", "qty": 2}], "paid": True},
    )
    assert made.status_code == 201, made.text
    assert made.json()["items"][0]["qty_ordered"] == 2
    assert client.post("/_sandbox/reset", json={"seed": False}).json()["seeded"] is False
