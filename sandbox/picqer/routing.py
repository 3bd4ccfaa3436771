"""A small route table for the Picqer API.

The API is served by one catch-all FastAPI route so that Picqer's client quirks all work: trailing
slashes (``POST /tags/``), a JSON ``null`` or empty body on action POSTs, and a JSON content type on
GETs. Handlers get the parsed pieces and answer ``(status, json)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.picqer.errors import INVALID_JSON, PicqerError, invalid, not_found
from sandbox.picqer.state import PicqerState

PAGE_SIZE = 100
Reply = tuple[int, Any]  # HTTP status and the JSON answer (None for 204)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any  # parsed JSON; None when the body was empty or ``null``

    def id(self, name: str) -> int:
        """A path id; anything but digits cannot name a record, so it is Picqer's 404."""
        value = self.params[name]
        if not value.isdigit():
            raise not_found(name.removeprefix("id").capitalize() or "Item")
        return int(value)

    def object_body(self) -> dict[str, Any]:
        """The body as an object; empty and ``null`` bodies count as ``{}`` (picqer-php sends them)."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise PicqerError(400, INVALID_JSON, "No valid JSON: expected an object")
        return self.body

    def flag(self, name: str) -> bool:
        value = self.query.get(name)
        return value is not None and value.lower() in ("", "1", "true", "yes")

    def int_query(self, name: str) -> int | None:
        value = self.query.get(name)
        if value is None or value == "":
            return None
        if not value.lstrip("-").isdigit():
            raise invalid(f"{name} must be an integer")
        return int(value)

    def page(self, items: list[Any]) -> list[Any]:
        """Picqer pagination: 100 per page, the next page with ``offset``."""
        offset = self.int_query("offset") or 0
        if offset < 0:
            raise invalid("offset must not be negative")
        return items[offset : offset + PAGE_SIZE]


Handler = Callable[[PicqerState, ApiRequest], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler


class RouteTable:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        pattern = re.compile(f"^{regex}$")

        def register(handler: Handler) -> Handler:
            self._routes.append(Route(method, pattern, template, handler))
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            found = route.pattern.match(path)
            if found and route.method == method:
                return route, found.groupdict()
        return None

    def path_known(self, path: str) -> bool:
        return any(route.pattern.match(path) for route in self._routes)
