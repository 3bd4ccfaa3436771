"""Reading shop JSON defensively: one definition of each small coercion the mappers share.

Real payloads carry nulls where objects are expected, numbers as strings, empty strings and
missing keys. These helpers never raise: each returns ``None`` (or an empty value, or 0) for what
it cannot read, and the mapper decides whether that is a ``MappingError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

ISO_COUNTRY = re.compile(r"^[A-Z]{2}$")


def text(value: object) -> str | None:
    """A stripped string, or None for missing, empty and non-scalar values (objects, lists)."""
    if value is None or isinstance(value, dict | list):
        return None
    stripped = str(value).strip()
    return stripped or None


def first_text(*values: object) -> str | None:
    """The first of ``values`` that reads as :func:`text`."""
    for value in values:
        found = text(value)
        if found:
            return found
    return None


def joined(*values: object) -> str | None:
    """The readable ``values`` joined by spaces (a first and last name), or None when none is."""
    return text(" ".join(part for value in values if (part := text(value))))


def price(value: object) -> float | None:
    """A finite amount from a number or a numeric string ("12.00"); None for anything else."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    try:
        amount = float(str(value))
    except ValueError:
        return None
    return amount if math.isfinite(amount) else None


def number(value: Any) -> float:
    """A finite float from a number, a numeric string or a flag (``true`` is 1); 0.0 otherwise.

    Lenient on purpose: Magento's quantities and ``is_virtual`` flags come as numbers, numeric
    strings or booleans, and a missing one means none.
    """
    try:
        parsed = float(value) if value is not None else 0.0
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return parsed if math.isfinite(parsed) else 0.0


def quantity(value: object) -> int:
    """A count, truncated to a whole number; 0 for missing, unreadable and boolean values."""
    if isinstance(value, bool):
        return 0
    return int(number(value))


def country_code(value: object) -> str | None:
    """An ISO 3166 two-letter country code, upper case; None when ``value`` is not one."""
    code = (text(value) or "").upper()
    return code if ISO_COUNTRY.match(code) else None


def as_mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one (for a null where an object belongs)."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []
