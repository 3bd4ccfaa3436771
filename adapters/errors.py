"""The one error tree of picqer-sync, grouped by what the caller should do.

It lives in the bottom layer (``adapters/``) because the API clients raise it; ``worker/`` imports
it from here (``worker.errors`` re-exports it for convenience), never the other way round.

::

    SyncError                       base of everything we raise on purpose
    ├── RetriableError              try again later; the work is not lost
    │   ├── RateLimited             the API said 429; wait ``retry_after`` seconds, spend no retry
    │   └── TransientError          5xx, timeout, connection error on a request that is safe to repeat
    │       └── OutcomeUnknown      a write (create) that may or may not have happened: resolve
    │                               by looking the object up (Picqer: by ``reference``) before repeating
    ├── FatalError                  will never succeed as it is; record it for a person
    │   ├── ApiRejected             4xx other than 429 (Picqer's error body: code, message)
    │   ├── AuthenticationFailed    401/403: credentials or rights are wrong
    │   └── ConfigError             the configuration is missing or invalid
    └── SkippableError              one bad record; record the reason and carry on with the rest
        ├── MappingError            a shop order that cannot become a Picqer order (names the field)
        └── WebhookRejected         a webhook with a bad signature or body (the receiver answers 4xx)

``ApiError`` is mixed into the HTTP-born errors (``RateLimited``, ``TransientError`` from a
response, ``ApiRejected``, ``AuthenticationFailed``) and carries the context instead of baking it
into the message: ``service``, ``status``, ``error_code``, ``error_message``, ``method`` and ``url``
of the request. URLs are stored without query strings so a key sent as a query parameter never
reaches a log line.

Dramatiq actors map the tree directly: ``RateLimited`` -> ``Retry(delay=...)`` without spending a
retry, ``RetriableError`` -> retry with backoff, ``FatalError``/``SkippableError`` -> ``throws=``
and a recorded failure with its reason.
"""

from __future__ import annotations

from typing import Any


class SyncError(Exception):
    """Base of every error picqer-sync raises on purpose."""

    #: a short phrase a person understands, shown by ``failures`` and the status page
    @property
    def reason(self) -> str:
        return str(self)


class RetriableError(SyncError):
    """Trying again later may succeed."""


class FatalError(SyncError):
    """Will never succeed as it is; needs a person or a changed input."""


class SkippableError(SyncError):
    """One bad record; record why and carry on with the others."""


class ConfigError(FatalError):
    """The configuration is missing a value or holds an invalid one."""


class ApiError(SyncError):
    """An error born from an HTTP exchange with Picqer or a shop.

    Carries the context as attributes; ``str()`` gives a readable one-line summary.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        status: int | None = None,
        error_code: int | None = None,
        error_message: str | None = None,
        method: str | None = None,
        url: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.error_code = error_code
        self.error_message = error_message
        self.method = method
        self.url = url.split("?", 1)[0] if url else url
        self.body = body

    @property
    def reason(self) -> str:
        detail = self.error_message or str(self)
        prefix = f"{self.service} " if self.service else ""
        status = f"{self.status}" if self.status is not None else "no response"
        code = f", error {self.error_code}" if self.error_code is not None else ""
        return f"{prefix}answered {status}{code}: {detail}"


class RateLimited(ApiError, RetriableError):
    """HTTP 429: the request was ignored; wait ``retry_after`` seconds and send it again."""

    def __init__(self, message: str, *, retry_after: float, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class TransientError(ApiError, RetriableError):
    """A 5xx, timeout or connection error on a request that is safe to repeat."""


class OutcomeUnknown(TransientError):
    """A write whose result is unknown (timeout or 5xx after sending): look before repeating."""


class ApiRejected(ApiError, FatalError):
    """A 4xx (other than 401/403/429): the request is wrong and repeating it will not help."""


class AuthenticationFailed(ApiError, FatalError):
    """A 401 or 403: the key or token is wrong or lacks rights."""


class MappingError(SkippableError):
    """A shop order that cannot become a Picqer order; ``field`` names what is wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class WebhookRejected(SkippableError):
    """A webhook that fails verification or parsing; ``status`` is the HTTP answer to give."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
