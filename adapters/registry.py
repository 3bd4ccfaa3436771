"""Look a shop platform up by the name used in ``[[sources]] platform = ...``."""

from __future__ import annotations

import importlib

from adapters.errors import ConfigError
from adapters.platform import ShopPlatform
from adapters.types import PLATFORM_NAMES


def get_platform(name: str) -> ShopPlatform:
    """The platform bundle of ``adapters/<name>/`` (imported on first use)."""
    if name not in PLATFORM_NAMES:
        raise ConfigError(f"unknown platform {name!r} (known: {', '.join(PLATFORM_NAMES)})")
    module = importlib.import_module(f"adapters.{name}")
    platform = getattr(module, "PLATFORM", None)
    if not isinstance(platform, ShopPlatform):
        raise ConfigError(f"adapters.{name} does not define PLATFORM")
    return platform
