"""The simulator's fast executor answers every read query exactly as graphql-core's ``execute`` does,
and hands anything it does not cover (errors above all) back to graphql-core."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from graphql import ExecutionResult, FragmentDefinitionNode, execute
from graphql.execution.values import get_variable_values

from adapters.shopify.graphql import (
    FULFILLMENT_ORDERS_QUERY,
    LINE_ITEMS_QUERY,
    ORDER_QUERY,
    ORDERS_QUERY,
    WEBHOOKS_QUERY,
)
from sandbox.shopify import fastexec, graphql
from sandbox.shopify.templates import template
from tests.shopify.conftest import SHOP, Sandbox

ALIASES = """
query Aliased($first: Int) {
  shop { name }
  orders(first: $first, sortKey: ID) {
    edges { cursor node { id again: id ...Names ... on Order { legacyResourceId } } }
    nodes { name lineItems(first: 1) { nodes { sku } pageInfo { hasNextPage } } }
  }
}
fragment Names on Order { name displayFinancialStatus tags customer { firstName defaultAddress { city } } }
"""


def _both(sandbox: Sandbox, query: str, variables: dict[str, Any]) -> tuple[Any, ExecutionResult]:
    state = sandbox.sim.shop(SHOP)
    document, problems = graphql.checked_document(query)
    assert not problems
    operation = graphql._pick_operation(document, None)
    assert operation is not None
    coerced = get_variable_values(graphql.schema(), operation.variable_definitions or (), variables)
    assert not isinstance(coerced, list)
    context = graphql.Context(sandbox.sim, state, version="2026-07", signed_by="app")
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    reference = execute(graphql.schema(), document, context_value=context, variable_values=variables)
    assert isinstance(reference, ExecutionResult)
    try:
        fast: Any = fastexec.execute_query(graphql.schema(), fragments, operation, coerced, context)
    except fastexec.Unsupported:
        fast = fastexec.Unsupported
    return fast, reference


def _orders(sandbox: Sandbox) -> list[int]:
    ids = []
    for name in ("ipod", "tshirt", "mug", "ipod"):
        ids.append(sandbox.sim.create_order(SHOP, template(name))["id"])
        sandbox.clock.advance(timedelta(seconds=3))
    sandbox.sim.cancel(SHOP, ids[1])
    return ids


def test_the_adapters_queries_answer_the_same(sandbox: Sandbox) -> None:
    ids = _orders(sandbox)
    gid = f"gid://shopify/Order/{ids[0]}"
    cases = [
        (ORDERS_QUERY, {"first": 3}),
        (ORDERS_QUERY, {"first": 10, "query": "updated_at:>='2020-01-01T00:00:00Z'"}),
        (ORDER_QUERY, {"id": gid}),
        (ORDER_QUERY, {"id": "gid://shopify/Order/1"}),  # none: null
        (LINE_ITEMS_QUERY, {"id": gid, "after": None}),
        (FULFILLMENT_ORDERS_QUERY, {"id": gid}),
        (WEBHOOKS_QUERY, {"first": 5}),
        (ALIASES, {"first": 2}),
    ]
    for query, variables in cases:
        fast, reference = _both(sandbox, query, variables)
        assert not reference.errors
        assert fast == reference.data


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (ORDERS_QUERY, {"first": 3, "after": "not a cursor"}),  # the resolver raises: graphql-core's error
        ("{ shop { __typename name } }", {}),  # introspection
        ("query Q($skip: Boolean!) { shop { name @skip(if: $skip) } }", {"skip": True}),  # a directive
    ],
)
def test_what_it_does_not_cover_is_graphql_cores(
    sandbox: Sandbox, query: str, variables: dict[str, Any]
) -> None:
    _orders(sandbox)
    fast, _ = _both(sandbox, query, variables)
    assert fast is fastexec.Unsupported
