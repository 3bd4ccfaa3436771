"""Shopify's error answers: an HTTP status and ``{"errors": ...}``."""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """A change Shopify would refuse: ``status`` and Shopify's ``errors`` value."""

    def __init__(self, status: int, errors: Any) -> None:
        super().__init__(str(errors))
        self.status = status
        self.errors = errors
