"""Waiting for a service that is down: the back-off, the log lines, and a scheduler that survives it."""

from __future__ import annotations

import threading

import pytest
import redis.exceptions
import sqlalchemy.exc
from structlog.testing import capture_logs

from worker.infra.services import is_unavailable, mask_url, wait_for_service
from worker.scheduler import Job, Scheduler


class Flaky:
    """Raises ``error`` ``failures`` times, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


REDIS_DOWN = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


def test_a_service_that_is_down_is_retried_1s_doubling_to_30s_and_then_ready() -> None:
    waits: list[float] = []
    check = Flaky(8, REDIS_DOWN)

    with capture_logs() as logs:
        ready = wait_for_service("redis", "redis://:hunter2@127.0.0.1:1/0", check, sleep=waits.append)

    assert ready
    assert check.calls == 9
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    down = [line for line in logs if line["event"] == "service_unavailable"]
    assert [line["retry_in_seconds"] for line in down] == waits
    assert down[0]["service"] == "redis"
    assert down[0]["at"] == "redis://:***@127.0.0.1:1/0"  # never the password
    assert down[0]["error"] == "Error 111 connecting to 127.0.0.1:1. Connection refused."
    assert logs[-1] == {
        "event": "service_available",
        "service": "redis",
        "at": "redis://:***@127.0.0.1:1/0",
        "failed_attempts": 8,
        "log_level": "info",
    }


def test_a_stop_ends_the_wait_and_other_errors_are_not_waited_for() -> None:
    stop = threading.Event()

    def stop_while_waiting(seconds: float) -> None:
        stop.set()

    assert not wait_for_service("redis", "x", Flaky(100, REDIS_DOWN), stop=stop, sleep=stop_while_waiting)
    wrong = Flaky(1, redis.exceptions.AuthenticationError("invalid password"))
    with pytest.raises(redis.exceptions.AuthenticationError):
        wait_for_service("redis", "x", wrong, sleep=lambda _: None)
    assert wrong.calls == 1


def test_what_counts_as_down() -> None:
    refused = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
    sqlite_file = sqlalchemy.exc.OperationalError("SELECT 1", {}, __import__("sqlite3").OperationalError("x"))
    assert is_unavailable(refused)
    assert is_unavailable(REDIS_DOWN)
    assert is_unavailable(ConnectionRefusedError())
    assert not is_unavailable(sqlite_file)  # a file: waiting does not mend a wrong path
    assert not is_unavailable(ValueError("bad input"))


def test_passwords_are_masked_in_any_url() -> None:
    text = "postgresql+psycopg://sync:s3cr%40t@db:5432/picqer and redis://:pw@cache:6379/0 and http://host/x"
    assert mask_url(text) == (
        "postgresql+psycopg://sync:***@db:5432/picqer and redis://:***@cache:6379/0 and http://host/x"
    )


class DownThenUpLock:
    """A Redis job lock whose Redis is down for the first ``down`` attempts."""

    def __init__(self, down: int) -> None:
        self.down = down

    def acquire(self, job: str, ttl: float) -> bool:
        if self.down:
            self.down -= 1
            raise REDIS_DOWN
        return True


def test_the_scheduler_waits_out_a_redis_outage_and_fires_the_due_job_after() -> None:
    stop = threading.Event()
    fired: list[str] = []
    waits: list[float] = []
    scheduler = Scheduler(
        [Job("reconcile", 600.0, lambda: fired.append("reconcile"))], lock=DownThenUpLock(3)
    )  # type: ignore[arg-type]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if fired:
            stop.set()  # one idle wait after the firing: enough

    with capture_logs() as logs:
        scheduler.run(stop, sleep=sleep)

    assert fired == ["reconcile"]  # the job stayed due through the outage, and fired once
    assert waits[:3] == [1, 2, 4]
    assert [line["event"] for line in logs].count("service_unavailable") == 3
