"""The error tree, re-exported for the worker's convenience; it is defined in :mod:`adapters.errors`."""

from __future__ import annotations

from adapters.errors import (
    ApiError,
    ApiRejected,
    AuthenticationFailed,
    ConfigError,
    FatalError,
    MappingError,
    OutcomeUnknown,
    RateLimited,
    RetriableError,
    SkippableError,
    SyncError,
    TransientError,
    WebhookRejected,
)

__all__ = [
    "ApiError",
    "ApiRejected",
    "AuthenticationFailed",
    "ConfigError",
    "FatalError",
    "MappingError",
    "OutcomeUnknown",
    "RateLimited",
    "RetriableError",
    "SkippableError",
    "SyncError",
    "TransientError",
    "WebhookRejected",
]
