"""One poll per source and one reconcile at a time: a run that outlasts its interval is not joined.

A poll slower than ``poll_interval_seconds`` used to be joined by the next firing and the one after:
each re-read the same window from the same cursor and shared the shop's rate limit, and none ended
to move the cursor. The second run is skipped (the first covers it), on one process's locks and on
the Redis leases every worker process shares.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.registry import get_platform
from tests.conftest import TEST_REDIS_NAMESPACE
from tests.queue.fakes import make_settings
from tests.sync.test_polling import ListedShop
from worker.db.migrate import upgrade_database
from worker.db.session import make_engine
from worker.infra.locks import OrderLockFactory, running_job_locks
from worker.sync.handlers import SyncHandlers

NOW = datetime(2026, 3, 1, 12, 0, 0)


class Health:
    """Every account fine: the guard lets everything through."""

    def guard(self, source: str) -> Any:
        return nullcontext()

    def ok(self, source: str) -> None:
        pass


@pytest.fixture(params=["one process", "fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def locks(request: pytest.FixtureRequest) -> Callable[[], OrderLockFactory]:
    """A factory per worker process: each call is another process's view of the same locks."""
    if request.param == "one process":
        shared = running_job_locks(None)
        return lambda: shared  # threads of one process share one set
    if request.param == "fakeredis":
        import fakeredis

        client: Any = fakeredis.FakeRedis()
    else:
        client = request.getfixturevalue("real_redis")
    return lambda: running_job_locks(client, namespace=TEST_REDIS_NAMESPACE)


def handlers(tmp_path: Path, running: OrderLockFactory, opened: list[str]) -> SyncHandlers:
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    upgrade_database(url)
    settings = make_settings(database_url=url)

    def open_source(source: Any) -> ListedShop:
        opened.append(source.name)
        return ListedShop([])

    ctx = SimpleNamespace(
        settings=settings,
        engine=make_engine(url),
        clock=lambda: NOW,
        platform=lambda source: get_platform(source.platform),
        open_source=open_source,
    )
    return SyncHandlers(ctx, health=Health(), running=running)  # type: ignore[arg-type]


def poll(handlers: SyncHandlers, source: str) -> None:
    handlers.poll_source(source, defer_push=lambda *_: None, on_outcome=lambda _: None)


def test_a_poll_is_skipped_while_another_of_the_same_source_runs(
    tmp_path: Path, locks: Callable[[], OrderLockFactory]
) -> None:
    opened: list[str] = []
    worker = handlers(tmp_path, locks(), opened)
    with locks()("poll", "shop-nl"), capture_logs() as logs:  # another worker's poll, still running
        poll(worker, "shop-nl")
        poll(worker, "woo")  # another source's poll is its own
    assert opened == ["woo"]
    skipped = [entry for entry in logs if entry["event"] == "poll_skipped"]
    assert [entry["name"] for entry in skipped] == ["shop-nl"]
    poll(worker, "shop-nl")  # the other poll ended: this one runs
    assert opened == ["woo", "shop-nl"]


def test_a_reconcile_is_skipped_while_another_runs(
    tmp_path: Path, locks: Callable[[], OrderLockFactory]
) -> None:
    worker = handlers(tmp_path, locks(), [])
    with locks()("reconcile", "picqer"):
        assert worker.reconcile(None) is None  # nothing read from Picqer, nothing to report


def test_a_failed_poll_frees_its_source(tmp_path: Path, locks: Callable[[], OrderLockFactory]) -> None:
    opened: list[str] = []
    worker = handlers(tmp_path, locks(), opened)

    def broken(source: Any) -> ListedShop:
        opened.append(source.name)
        raise ConnectionError("the shop is away")

    worker.ctx.open_source = broken  # type: ignore[misc]
    with pytest.raises(ConnectionError):
        poll(worker, "shop-nl")
    with pytest.raises(ConnectionError):  # not "skipped": the failed run let go of its lock
        poll(worker, "shop-nl")
    assert opened == ["shop-nl", "shop-nl"]
