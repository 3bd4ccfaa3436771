"""Reading a webhook's JSON body safely: UTF-8 only, bounded nesting, no NUL or lone surrogates.

A body can carry a valid signature and still be something no retry will ever store: nested so
deep that parsing overflows the stack, in another encoding (UTF-16 with a byte-order mark), or
holding a NUL character (PostgreSQL ``text`` cannot hold one), a lone surrogate (not encodable
as UTF-8) or ``NaN``/``Infinity`` (not JSON, though Python's parser takes them).
:func:`load_json_body` turns each of these into ``WebhookRejected`` (400), so the sender gets a
4xx and stops retrying, instead of a 5xx it retries forever.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from adapters.errors import WebhookRejected

# real order webhooks nest about ten levels; anything far deeper is not an order
MAX_JSON_DEPTH = 64

# a JSON string token (skipped: brackets inside strings do not nest) or a bracket
_TOKENS = re.compile(rb'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]', re.DOTALL)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# the escapes that can put one of those in a parsed string (an escaped backslash before "u0000" matches
# too: the walk then finds nothing, which only costs time)
_NUL_OR_SURROGATE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
# an integer of 19 digits or more may not fit 64 bits (signed, for a negative one), which orjson
# reads as a float: such a body takes the standard parser, which keeps every integer exact. Found by
# mapping every digit to "0" and looking for 19 in a row: a tenth of what a regular expression
# costs over an order's ids
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``raw`` opens more than ``limit`` nested arrays or objects (checked before parsing)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def unstorable_text(value: Any) -> bool:
    """Whether any string (key or value) in the parsed ``value`` holds a NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _not_json(constant: str) -> Any:
    # Python's parser takes NaN and Infinity, JSON (RFC 8259) has no such values
    raise ValueError(f"{constant} is not a JSON value")


_NOT_JSON = object()


def _parse(raw: bytes, text: str) -> Any:
    """The parsed ``raw``, or ``_NOT_JSON``. orjson first: about five times faster than the standard
    parser on an order (the receiver's hot path). Whatever it refuses (or might read differently: a
    huge integer) is decided by the standard parser, so the answer is the standard parser's."""
    if _LONG_DIGIT_RUN not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        return _NOT_JSON


def load_json_body(raw: bytes, what: str = "the webhook body") -> Any:
    """The parsed JSON of ``raw``; ``WebhookRejected`` (400) when it cannot be stored as sent."""
    if raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise WebhookRejected(
            f"{what} starts with a byte-order mark; only UTF-8 JSON is accepted", status=400
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(f"{what} is not UTF-8", status=400) from None
    if json_depth_exceeds(raw):
        raise WebhookRejected(f"{what} nests deeper than {MAX_JSON_DEPTH} levels", status=400)
    value = _parse(raw, text)
    if value is _NOT_JSON:
        raise WebhookRejected(f"{what} is not JSON", status=400)
    # after a strict UTF-8 decode (no lone surrogates) and a strict parse (no raw control characters
    # in strings), a NUL or a lone surrogate can only come from a \u0000 or \uD800-\uDFFF escape:
    # the walk over every string runs only when the body has one (an escaped "&", "\u0026", which
    # Shopify writes for every "&", does not)
    if _NUL_OR_SURROGATE_ESCAPE.search(raw) is not None and unstorable_text(value):
        raise WebhookRejected(f"{what} holds a NUL character or a lone surrogate", status=400)
    return value


__all__ = ["MAX_JSON_DEPTH", "json_depth_exceeds", "load_json_body", "unstorable_text"]
