"""Query parameters of Woo's list endpoints, validated as WordPress does (400 rest_invalid_param)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sandbox.woocommerce import orders as build
from sandbox.woocommerce.errors import invalid_param


def one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def int_param(
    query: Mapping[str, Sequence[str]], name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    raw = one(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.") from None
    if value < minimum or (maximum is not None and value > maximum):
        top = f" and {maximum} (inclusive)" if maximum is not None else ""
        raise invalid_param(name, f"{name} must be between {minimum} (inclusive){top}.")
    return value


def date_param(query: Mapping[str, Sequence[str]], name: str) -> datetime | None:
    raw = one(query, name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_param(name, "Invalid date.") from None


def statuses_param(query: Mapping[str, Sequence[str]]) -> set[str]:
    given = [*query.get("status", []), *query.get("status[]", [])]
    wanted = [part for value in given for part in value.split(",") if part] or ["any"]
    result: set[str] = set()
    for status in wanted:
        if status == "any":
            result.update(s for s in build.STATUSES if s != "trash")  # "any" leaves the trash out
        elif status in build.STATUSES:
            result.add(status)
        else:
            raise invalid_param("status", f"status[0] is not one of any, {', '.join(build.STATUSES)}.")
    return result
