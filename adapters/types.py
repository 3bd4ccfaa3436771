"""Type aliases and names shared by every layer: defined here, at the bottom, once."""

from __future__ import annotations

from typing import Any, Final, Literal, TypeAlias

JSONDict: TypeAlias = dict[str, Any]

# the shop platforms, by the name a ``[[sources]]`` entry gives as ``platform = ...``
Platform: TypeAlias = Literal["shopify", "woocommerce", "magento"]
SHOPIFY: Final = "shopify"
WOOCOMMERCE: Final = "woocommerce"
MAGENTO: Final = "magento"
PLATFORM_NAMES: Final[tuple[Platform, ...]] = (SHOPIFY, WOOCOMMERCE, MAGENTO)

# Picqer's own name where a shop's name would stand: the inbox source of its hooks, the reconcile
# cursor, the target of its hooks; no source may be called this
PICQER: Final = "picqer"
