"""Picqer's webhooks: the ``X-Picqer-Signature`` check and the event envelope.

Picqer signs the raw body: ``base64(HMAC-SHA256(key=hook secret, message=body))`` (picqer-php
``PicqerWebhook::retrieveWithSecret``). Always verify the exact bytes received, never a
re-serialised copy of the parsed JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from pydantic import ValidationError

from adapters.errors import WebhookRejected
from adapters.jsonbody import load_json_body
from adapters.picqer.models import PicqerEvent
from adapters.webhooks import hmac_sha256

__all__ = ["ENVELOPE_KEYS", "SIGNATURE_HEADER", "PicqerEvent", "parse_event", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Picqer-Signature"
ENVELOPE_KEYS = ("idhook", "name", "event", "event_triggered_at", "data")


def sign(raw: bytes, secret: str) -> str:
    """The signature Picqer sends for ``raw`` under ``secret``."""
    return base64.b64encode(hmac_sha256(raw, secret)).decode("ascii")


def verify_signature(raw: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is the signature of ``raw`` under ``secret``; False when it is missing."""
    if not header or not secret:
        return False  # an unsigned delivery, or no secret to check it with, proves nothing
    return hmac.compare_digest(sign(raw, secret).encode("ascii"), header.strip().encode("utf-8", "replace"))


def parse_event(raw: bytes) -> PicqerEvent:
    """The envelope ``{idhook, name, event, event_triggered_at, data}``; ``WebhookRejected`` otherwise."""
    # UTF-8 only, bounded nesting, no NUL: a signed body that can never be stored is a 400
    envelope = load_json_body(raw, "Picqer webhook body")
    if not isinstance(envelope, dict):
        raise WebhookRejected("Picqer webhook body is not a JSON object", status=400)
    missing = [key for key in ENVELOPE_KEYS if key not in envelope]
    if missing:
        raise WebhookRejected(f"Picqer webhook lacks {', '.join(missing)}", status=400)
    try:
        return PicqerEvent.model_validate({**envelope, "body_sha256": hashlib.sha256(raw).hexdigest()})
    except ValidationError as error:
        fields = ", ".join(".".join(str(part) for part in item["loc"]) for item in error.errors())
        raise WebhookRejected(f"Picqer webhook has invalid {fields}", status=400) from None
