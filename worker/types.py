"""Type aliases shared across packages."""

from __future__ import annotations

from typing import Any, TypeAlias

JSONDict: TypeAlias = dict[str, Any]
JSONList: TypeAlias = list[Any]
Headers: TypeAlias = dict[str, str]
