"""One request to Picqer and the meaning of its answer: the error tree, rate limits, the budget.

Everything HTTP lives here so the endpoint methods in ``client.py`` read as a list of paths. This
module never retries (the worker does); it only says, through the exception type, whether and how
a retry is safe.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog

from adapters.errors import (
    ApiError,
    ApiRejected,
    AuthenticationFailed,
    OutcomeUnknown,
    RateLimited,
    TransientError,
)
from adapters.picqer.budget import RateLimitState, RequestBudget
from adapters.picqer.models import ErrorBody, format_picqer_datetime

log = structlog.get_logger(__name__)

SERVICE = "Picqer"
DEFAULT_TIMEOUT_SECONDS = 30.0
# Picqer sends no Retry-After (facts sheet §2); picqer-php sleeps 20 s, shorter keeps tests and
# catch-up quick while the shared budget still holds every process back for this long
DEFAULT_RATE_LIMIT_WAIT = 10.0
MAX_ERROR_TEXT = 500  # characters of a non-JSON error body kept on the exception
REDACTED = "[redacted]"

QueryValue = str | int | float | bool | datetime | None


def query_params(params: Mapping[str, QueryValue]) -> dict[str, str | int | float]:
    """Query parameters as Picqer reads them: no Nones, booleans as true/false, Picqer timestamps."""
    result: dict[str, str | int | float] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            result[name] = "true" if value else "false"
        elif isinstance(value, datetime):
            result[name] = format_picqer_datetime(value)
        else:
            result[name] = value
    return result


def retry_after_seconds(response: httpx.Response, default: float) -> float:
    """``Retry-After`` as seconds (a number or an HTTP date), else ``default``."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return default
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PicqerConnection:
    """The account's ``httpx.Client``: auth, headers, timeouts; turns answers into data or errors."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        user_agent: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        budget: RequestBudget | None = None,
        rate_limit_wait: float = DEFAULT_RATE_LIMIT_WAIT,
    ) -> None:
        self._api_key = api_key
        self._budget = budget
        self._rate_limit_wait = rate_limit_wait
        self._rate_limit = RateLimitState()
        self._http = httpx.Client(
            # paths are joined onto the base ("orders/12"), so it must end in a slash
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            # Picqer: Basic auth with the key as user name; the password is ignored
            auth=httpx.BasicAuth(api_key, ""),
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    @property
    def rate_limit(self) -> RateLimitState:
        return self._rate_limit

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        idempotent: bool = True,
    ) -> Any:
        """Send one request; the decoded JSON body (None for an empty answer) or an error.

        ``idempotent=False`` marks a request that creates something: a failure after it may have
        been sent becomes ``OutcomeUnknown`` instead of ``TransientError``.
        """
        request = self._http.build_request(method, path, params=query_params(params or {}), json=json)
        failure_type = TransientError if idempotent else OutcomeUnknown
        if self._budget is not None:
            self._budget.acquire()
        started = time.monotonic()
        try:
            response = self._http.send(request)
        except httpx.TransportError as error:
            log.debug(
                "picqer_request_failed", method=method, path=request.url.path, error=type(error).__name__
            )
            kind = "timed out" if isinstance(error, httpx.TimeoutException) else "failed"
            raise failure_type(
                f"{SERVICE} {method} {request.url.path} {kind}: {type(error).__name__}",
                service=SERVICE,
                method=method,
                url=self._public_url(request.url),
            ) from error
        self._observe(response)
        log.debug(
            "picqer_request",
            method=method,
            path=request.url.path,
            status=response.status_code,
            remaining=self._rate_limit.remaining,
            elapsed_ms=round((time.monotonic() - started) * 1000),
        )
        if 200 <= response.status_code < 300:
            return self._decode_success(response, failure_type)
        raise self._error_for(response, failure_type)

    # -- answers -------------------------------------------------------------------------------------

    def _observe(self, response: httpx.Response) -> None:
        self._rate_limit = RateLimitState.from_headers(response.headers)
        if self._budget is not None:
            self._budget.observe(limit=self._rate_limit.limit, remaining=self._rate_limit.remaining)

    def _decode_success(self, response: httpx.Response, failure_type: type[TransientError]) -> Any:
        if response.status_code == 204 or not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            # a proxy page or a cut-off body: for a create we cannot tell whether it happened
            raise failure_type(
                f"{SERVICE} answered {response.status_code} with a body that is not JSON",
                **self._context(response, error_message=self._text(response)),
            ) from None

    def _error_for(self, response: httpx.Response, failure_type: type[TransientError]) -> ApiError:
        status = response.status_code
        error_code, error_message, body = self._error_details(response)
        context = self._context(response, error_code=error_code, error_message=error_message, body=body)
        summary = f"{SERVICE} {response.request.method} {response.request.url.path} answered {status}"
        if error_message:
            summary += f": {error_message}"
        if status == 429:
            # Picqer ignored the request (nothing was created), so even a create may simply be sent again
            wait = retry_after_seconds(response, self._rate_limit_wait)
            if self._budget is not None:
                self._budget.penalise(wait)
            return RateLimited(summary, retry_after=wait, **context)
        if status >= 500:
            return failure_type(summary, **context)
        if status in (401, 403):
            return AuthenticationFailed(summary, **context)
        return ApiRejected(summary, **context)

    def _error_details(self, response: httpx.Response) -> tuple[int | None, str | None, Any]:
        """``error_code``, ``error_message`` and the body; the raw text when it is not Picqer's JSON."""
        text = self._text(response)
        try:
            data = response.json()
        except ValueError:
            return None, text or None, text
        if self._api_key and self._api_key in response.text:
            data = text  # keep only the scrubbed text of a body that echoes the key
        if isinstance(data, dict) and ("error_code" in data or "error_message" in data or "error" in data):
            parsed = ErrorBody.model_validate(data)
            return parsed.error_code, parsed.error_message, data
        return None, text or None, data

    def _context(self, response: httpx.Response, **fields: Any) -> dict[str, Any]:
        return {
            "service": SERVICE,
            "status": response.status_code,
            "method": response.request.method,
            "url": self._public_url(response.request.url),
            **fields,
        }

    def _text(self, response: httpx.Response) -> str:
        return self._scrub(response.text)[:MAX_ERROR_TEXT]

    def _scrub(self, text: str) -> str:
        # an echo of the key in an error page must not travel on into logs and failure records
        return text.replace(self._api_key, REDACTED) if self._api_key else text

    @staticmethod
    def _public_url(url: httpx.URL) -> str:
        # no user info and no query string: neither may carry a secret into an error or a log
        return str(url.copy_with(username=None, password=None, query=None))
