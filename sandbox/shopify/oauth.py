"""The client credentials grant and the token check, as a store does them.

``POST /admin/oauth/access_token`` with ``grant_type=client_credentials``, ``client_id`` and
``client_secret`` (form-encoded as Shopify's page shows it, or JSON as ``@shopify/shopify-api``
sends it) answers ``{"access_token", "scope", "expires_in"}``; the token then opens the Admin API
(REST and GraphQL) until it expires. The legacy custom app's permanent token keeps working too.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs

from sandbox.shopify.errors import StoreError
from sandbox.shopify.state import ShopState

SCOPES = ",".join(
    (
        "read_orders",
        "write_orders",
        "read_fulfillments",
        "write_fulfillments",
        "read_merchant_managed_fulfillment_orders",
        "write_merchant_managed_fulfillment_orders",
    )
)
TokenKind = Literal["app", "legacy"]


def grant_fields(raw: bytes, content_type: str) -> dict[str, str]:
    """The grant's fields from a form or JSON body (or a query string), as text."""
    if "json" in content_type:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise StoreError(
                400, {"error": "invalid_request", "error_description": "Unparsable JSON"}
            ) from None
        if not isinstance(body, dict):
            raise StoreError(400, {"error": "invalid_request", "error_description": "Expected an object"})
        return {key: str(value) for key, value in body.items() if value is not None}
    parsed = parse_qs(raw.decode("utf-8", errors="replace"))
    return {key: values[0] for key, values in parsed.items() if values}


def issue_token(state: ShopState, fields: dict[str, str], now: datetime) -> dict[str, Any]:
    """A new token for the app whose client ID and secret are in ``fields``; 400/401 otherwise."""
    if fields.get("grant_type") != "client_credentials":
        raise StoreError(
            400,
            {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"},
        )
    if not secrets.compare_digest(fields.get("client_id", ""), state.client_id) or not secrets.compare_digest(
        fields.get("client_secret", ""), state.client_secret
    ):
        raise StoreError(
            401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        )
    # expired tokens are kept (a sandbox issues few), so they stay refused rather than unknown
    token = "shpat_" + secrets.token_hex(16)
    state.tokens[token] = now + timedelta(seconds=state.token_lifetime)
    return {"access_token": token, "scope": SCOPES, "expires_in": state.token_lifetime}


def authorize(state: ShopState, token: str | None, now: datetime) -> TokenKind | None:
    """Which app ``token`` belongs to, or None when the store refuses it (missing, wrong, expired)."""
    if not token:
        return None
    until = state.tokens.get(token)
    if until is not None:
        return "app" if now < until else None
    if state.access_token is None:  # a store that accepts any legacy token (the demo, older tests)
        return "legacy"
    return "legacy" if secrets.compare_digest(token, state.access_token) else None
