"""The services a process stands on (the mirror database, Redis): named without secrets, told apart
when they are down, and waited for.

A one-shot command that meets a service that is down says so and exits (``worker/cli/main.py``);
a long-running one (``run``, ``web``, ``worker``, ``scheduler``) waits for it with
:func:`wait_for_service`: one JSON line per attempt (``service_unavailable``, with the service, where
it is and the next wait), a back-off of 1 s doubling to 30 s, and ``service_available`` when it
answers again.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Final

import tenacity

from worker.logging import get_logger

log = get_logger(__name__)

DATABASE: Final = "database"
REDIS: Final = "redis"
FIRST_WAIT_SECONDS: Final = 1.0  # the first retry of a service that is down
MAX_WAIT_SECONDS: Final = 30.0  # the cap: a returning service is noticed within half a minute

# "scheme://user:password@host": the password goes, whatever the scheme
_CREDENTIALS_IN_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@\s]*@")


def mask_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _CREDENTIALS_IN_URL.sub(lambda found: f"{found['scheme']}{found['user']}:***@", text)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says a service is down or unreachable (rather than that we asked wrongly)."""
    import redis.exceptions
    import sqlalchemy.exc

    if isinstance(error, sqlalchemy.exc.DBAPIError):
        if isinstance(error.orig, sqlite3.Error):
            return False  # a file, not a service: a wrong path or a full disk does not mend by waiting
        return isinstance(error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError) or bool(
            error.connection_invalidated
        )
    if isinstance(error, redis.exceptions.AuthenticationError | redis.exceptions.AuthorizationError):
        return False  # a ConnectionError to redis-py, but a wrong password does not mend by waiting
    return isinstance(
        error,
        redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | ConnectionError | TimeoutError,
    )


def service_of(error: BaseException) -> str | None:
    """``"database"`` or ``"redis"`` for an error raised by that service's client, else None."""
    import redis.exceptions
    import sqlalchemy.exc

    if isinstance(error, sqlalchemy.exc.SQLAlchemyError):
        return DATABASE
    if isinstance(error, redis.exceptions.RedisError):
        return REDIS
    return None


def reason_of(error: BaseException) -> str:
    """The first line of the driver's own words (SQLAlchemy wraps them), with no password in it."""
    text = str(getattr(error, "orig", None) or error).strip()
    return mask_url(text.splitlines()[0] if text else type(error).__name__)


def wait_for_service(
    service: str,
    where: str,
    check: Callable[[], object],
    *,
    stop: threading.Event | None = None,
    sleep: Callable[[float], Any] | None = None,
) -> bool:
    """Call ``check()`` until it does not raise an :func:`is_unavailable` error; True then.

    Waits 1 s, 2 s, 4 s ... up to 30 s between attempts (``sleep``, by default ``stop.wait``, so a
    SIGTERM ends the wait at once) and logs each; False when ``stop`` was set first. Any other
    error is raised at once: waiting does not mend a wrong password or a missing table.
    """
    stop = stop or threading.Event()
    pause = sleep or stop.wait
    where = mask_url(where)
    failures = 0

    def waiting(state: tenacity.RetryCallState) -> None:
        nonlocal failures
        failures += 1
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "service_unavailable",
            service=service,
            at=where,
            error=reason_of(error) if error is not None else "",
            retry_in_seconds=state.next_action.sleep if state.next_action is not None else None,
        )

    def nap(seconds: float) -> None:
        pause(seconds)  # stop.wait's answer (set or not) is read by ``stop`` above

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_unavailable),
        wait=tenacity.wait_exponential(multiplier=FIRST_WAIT_SECONDS, exp_base=2, max=MAX_WAIT_SECONDS),
        stop=lambda _: stop.is_set(),
        sleep=nap,
        before_sleep=waiting,
        reraise=True,
    )
    try:
        retrying(check)
    except Exception as error:
        if stop.is_set() and is_unavailable(error):
            return False
        raise
    if failures:
        log.info("service_available", service=service, at=where, failed_attempts=failures)
    return True


def ping_database(database_url: str) -> Callable[[], None]:
    """A check that connects to the mirror database and asks it ``SELECT 1``."""

    def check() -> None:
        from sqlalchemy import text

        from worker.db.session import make_engine

        engine = make_engine(database_url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    return check
