"""Account and source health: a refused key is a problem of the account, never of an order.

A 401 or 403 from Picqer or a shop, or a Picqer account URL that answers 404, means every request
to that account will fail the same way until a person fixes the key or the URL. Marking orders
failed for it would bury the one real problem under hundreds of order failures and leave them all
to be retried by hand. Instead:

* the refusal is recorded once per account in ``account_health`` (since when, a readable reason,
  never a secret), which ``/readyz``, ``status`` and the status page show at the top;
* the work that met it raises :class:`AccountUnavailable`, a kind of :class:`RateLimited` (the
  request was refused, nothing happened): the push leaves the order pending, the poll ends without
  moving its cursor, and the actor comes back after a while without spending a retry;
* the next success clears the record, and :func:`check_accounts` (the scheduler, once a minute)
  probes each broken account and retries the orders that failed with a refused key before this
  existed, so everything resumes by itself once the key works again.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from adapters.errors import AuthenticationFailed, RateLimited
from adapters.types import PICQER
from worker.db import health as health_repo
from worker.db import orders
from worker.db.models import Order, SyncState
from worker.db.session import session_scope
from worker.logging import get_logger
from worker.sync.connections import check_picqer, check_source
from worker.sync.context import SyncContext

log = get_logger(__name__)

#: how long work that met a refused account waits before it tries again (and the probe interval)
ACCOUNT_RETRY_SECONDS = 60.0
#: a healthy account's row is refreshed at most this often (not on every request)
OK_REFRESH_SECONDS = 60.0
#: what an order failed for a refused key said before this module existed (``ApiError.reason``)
AUTH_FAILURE_PATTERN = re.compile(r"answered 40[13]\b")
NO_API_FUNCTION = "No API function"


class AccountUnavailable(RateLimited):
    """``target`` (``"picqer"`` or a source name) refuses our credentials or its URL is wrong.

    A :class:`RateLimited`: the request was refused, nothing was created, and the work comes back
    after ``retry_after`` seconds without spending a retry (the push keeps the order pending, the
    poll keeps its cursor).
    """

    def __init__(self, target: str, reason: str, *, retry_after: float = ACCOUNT_RETRY_SECONDS) -> None:
        super().__init__(f"{target} is unavailable: {reason}", retry_after=retry_after, service=target)
        self.target = target
        self.account_reason = reason

    @property
    def reason(self) -> str:
        return f"{self.target} refuses us: {self.account_reason}"


@dataclass(frozen=True)
class BrokenAccount:
    target: str
    reason: str
    broken_since: str  # ISO, naive UTC


class AccountHealth:
    """Records refusals and successes per account in the mirror; cheap on the happy path."""

    def __init__(
        self,
        engine: Engine,
        *,
        retry_after: float = ACCOUNT_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._ok_written: dict[str, float] = {}  # target -> when its healthy row was last written

    def broken(self, target: str, reason: str) -> AccountUnavailable:
        """Record ``target`` as refusing us; the error to raise."""
        with self._lock:
            self._ok_written.pop(target, None)
        try:
            with session_scope(self.engine) as session:
                health_repo.mark_broken(session, target=target, reason=reason)
        except SQLAlchemyError as error:  # a mirror not migrated (`sources check`) or down: still say it
            log.warning("account_health_not_recorded", target=target, error_type=type(error).__name__)
        log.error("account_unavailable", target=target, reason=reason)
        return AccountUnavailable(target, reason, retry_after=self.retry_after)

    def ok(self, target: str) -> bool:
        """Record a success of ``target``; True when that ended a broken spell."""
        now = self._clock()
        with self._lock:
            written = self._ok_written.get(target)
            if written is not None and now - written < OK_REFRESH_SECONDS:
                return False
            self._ok_written[target] = now
        try:
            with session_scope(self.engine) as session:
                recovered = health_repo.mark_ok(session, target=target)
        except SQLAlchemyError as error:
            log.warning("account_health_not_recorded", target=target, error_type=type(error).__name__)
            return False
        if recovered:
            log.info("account_recovered", target=target)
        return recovered

    @contextmanager
    def guard(self, target: str) -> Iterator[None]:
        """A shop's refusal inside the block becomes :class:`AccountUnavailable` for ``target``."""
        try:
            yield
        except AccountUnavailable:
            raise
        except AuthenticationFailed as error:
            who = PICQER if error.service.lower() == PICQER else target
            raise self.broken(who, _auth_reason(error.status)) from error


def list_broken(engine: Engine) -> list[BrokenAccount]:
    with session_scope(engine) as session:
        return [
            BrokenAccount(
                target=row.target,
                reason=row.reason or "unknown",
                broken_since=row.broken_since.isoformat(timespec="seconds") if row.broken_since else "",
            )
            for row in health_repo.list_broken(session)
        ]


def _auth_reason(status: int | None) -> str:
    if status == 403:
        return "the credentials lack the rights needed (403); check the key's permissions"
    return "the credentials were refused (401); check the API key or token"


class PicqerAccountGuard(httpx.BaseTransport):
    """The Picqer client's transport: notices a refused key or a wrong account URL.

    It raises :class:`AccountUnavailable` instead of handing the client the 401/403/404, so no use
    case ever sees it as a fatal error of one order; a success clears the account's record.
    """

    def __init__(self, health: AccountHealth, inner: httpx.BaseTransport | None = None) -> None:
        self.health = health
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        status = response.status_code
        if status in (401, 403):
            response.read()
            response.close()
            raise self.health.broken(PICQER, _auth_reason(status))
        if status == 404:
            response.read()
            if not _is_picqer_not_found(response.content):
                response.close()
                raise self.health.broken(
                    PICQER, "the account URL answers 404 (not a Picqer API); check picqer.url"
                )
        elif 200 <= status < 300:
            self.health.ok(PICQER)
        return response

    def close(self) -> None:
        self.inner.close()


def _is_picqer_not_found(body: bytes) -> bool:
    """Whether a 404 is Picqer's own "no such object" (and not a wrong account or API URL)."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if not isinstance(data, dict) or "error_message" not in data:
        return False
    return not str(data.get("error_message") or "").startswith(NO_API_FUNCTION)


def orders_failed_for_auth(engine: Engine, *, targets: set[str] | None = None) -> list[tuple[int, str, str]]:
    """(row id, source, shop order id) of failed orders whose reason is a refused key."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Order).where(Order.sync_state == SyncState.FAILED, col(Order.last_error).is_not(None))
        ).all()
        found = []
        for row in rows:
            if row.id is None or not AUTH_FAILURE_PATTERN.search(row.last_error or ""):
                continue
            if targets is not None and row.source not in targets:
                continue
            found.append((row.id, row.source, row.shop_order_id))
        return found


@dataclass(frozen=True)
class AccountCheck:
    recovered: list[str]  # targets that work again
    still_broken: list[str]
    retried: int  # orders failed for a refused key, handed back to the queue


def check_accounts(
    ctx: SyncContext, health: AccountHealth, *, enqueue_push: Callable[[str, str], object]
) -> AccountCheck:
    """Probe each broken account once; retry the orders a refused key failed (the scheduler, a minute).

    The orders are those marked failed with a 401/403 reason before refusals stopped failing
    orders; each is put back to pending and pushed again from the shop's current state, once both
    Picqer and its source work.
    """
    recovered: list[str] = []
    still: list[str] = []
    for broken in list_broken(ctx.engine):
        if _probe(ctx, health, broken.target):
            recovered.append(broken.target)
        else:
            still.append(broken.target)
    unavailable = set(still)
    retried = 0
    if PICQER not in unavailable:
        for order_id, source, shop_order_id in orders_failed_for_auth(ctx.engine):
            if source in unavailable or ctx.source_settings(source) is None:
                continue
            with session_scope(ctx.engine) as session:
                orders.reset_for_retry(session, order_ids=[order_id])
            enqueue_push(source, shop_order_id)
            retried += 1
    if recovered or retried:
        log.info("accounts_checked", recovered=recovered, still_broken=still, retried=retried)
    return AccountCheck(recovered=recovered, still_broken=still, retried=retried)


def _probe(ctx: SyncContext, health: AccountHealth, target: str) -> bool:
    """One cheap read of ``target`` (as ``sources check`` does); its health recorded either way."""
    if target == PICQER:
        result = check_picqer(ctx.picqer, url=ctx.settings.picqer.url)
    else:
        source = ctx.source_settings(target)
        if source is None:  # removed from the config: nothing left to wait for
            with session_scope(ctx.engine) as session:
                health_repo.mark_ok(session, target=target)
            return True
        with health.guard(target):
            result = check_source(source, open_source=ctx.open_source, now=ctx.clock())
    if result.ok:
        with session_scope(ctx.engine) as session:
            health_repo.mark_ok(session, target=target)
        return True
    with session_scope(ctx.engine) as session:
        health_repo.mark_broken(session, target=target, reason=_readable(result.detail))
    return False


def _readable(detail: str) -> str:
    return detail[:300]
