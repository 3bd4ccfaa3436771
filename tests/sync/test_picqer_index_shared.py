"""What worker processes starting together share: one import of the Picqer index (no refresh right
after it), one listing of the tags (and one creation of a missing one), and exactly-once as before.

Each "process" here is a context of its own (its own engine, client, index memory and tag cache),
as ``build_app`` makes one per process; they share only the mirror and Redis (fakeredis, and a real
Redis under the ``redis`` marker), as worker processes do. The Picqer answers are slowed down, so
that without the shared lease both would list at the same time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from adapters.picqer.client import PicqerClient
from adapters.shared import MemoryStore
from tests.sync.conftest import make_settings, mapped_order
from tests.sync.fake_picqer import BASE_URL, FakePicqer
from worker.app import App, build_app
from worker.db import picqer_index
from worker.db.models import PicqerIndexEntry
from worker.db.session import session_scope
from worker.sync.context import SyncContext
from worker.sync.lease import LeaseBusy, hold_lease
from worker.sync.outcomes import PushKind
from worker.sync.picqer_index import Verdict, check_reference
from worker.sync.push import push_order
from worker.sync.tags import TagCache

SLOW_SECONDS = 0.3  # each listing: long enough for the other process to ask meanwhile


class SlowPicqer:
    """The fake Picqer behind clients that log every request with its query, listings slowed down."""

    def __init__(self, fake: FakePicqer) -> None:
        self.fake = fake
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1/")
        with self._lock:
            self.log.append((request.method, path, dict(request.url.params)))
        if request.method == "GET" and path in ("orders", "tags"):
            time.sleep(SLOW_SECONDS)
        return self.fake.handle(request)

    def client(self) -> PicqerClient:
        return PicqerClient(BASE_URL, "test-key", transport=httpx.MockTransport(self.handle))

    def listings(self, *keys: str) -> list[dict[str, str]]:
        """The order listings whose query has one of ``keys``."""
        return [
            params
            for method, path, params in self.log
            if method == "GET" and path == "orders" and any(key in params for key in keys)
        ]

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.log if m == method and p == path)


ProcessFactory = Callable[[], SyncContext]


@pytest.fixture
def slow(fake: FakePicqer) -> SlowPicqer:
    fake._clock = datetime.now(UTC).replace(tzinfo=None)  # its orders are recent, as in a live account
    return SlowPicqer(fake)


@pytest.fixture
def start_process(mirror_url: str, slow: SlowPicqer, redis_client: Any) -> Iterator[ProcessFactory]:
    """A worker process's objects: shared mirror and Redis, everything else its own."""
    built: list[App] = []

    def factory() -> SyncContext:
        app = build_app(
            make_settings(mirror_url), picqer_client=slow.client(), redis=redis_client, tag_cache=TagCache()
        )
        built.append(app)
        return app.context

    yield factory
    for app in built:
        app.picqer.close()
        app.close()


def together(*work: Callable[[], Any]) -> list[Any]:
    """Run each of ``work`` in its own thread, released at the same moment."""
    barrier = threading.Barrier(len(work))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(run, work))


def test_processes_starting_together_import_the_index_once_and_do_not_refresh_it(
    start_process: ProcessFactory, slow: SlowPicqer
) -> None:
    first, second = start_process(), start_process()

    outcomes = together(
        lambda: push_order(first, mapped_order("1000", tags=("bench",))),
        lambda: push_order(second, mapped_order("1001", tags=("bench",))),
    )

    assert [outcome.kind for outcome in outcomes] == [PushKind.PUSHED, PushKind.PUSHED]
    assert len(slow.listings("sincedate")) == 1  # the import, once
    assert slow.listings("sinceid", "status", "reference") == []  # no refresh, no look-up
    # and later pushes of both still trust it
    for ctx, number in ((first, "1002"), (second, "1003")):
        push_order(ctx, mapped_order(number, tags=("bench",)))
    assert len(slow.listings("sincedate", "sinceid", "status", "reference")) == 1


def test_the_tag_list_is_read_once_and_a_missing_tag_made_once_for_every_process(
    start_process: ProcessFactory, slow: SlowPicqer, fake: FakePicqer
) -> None:
    first, second = start_process(), start_process()

    outcomes = together(
        lambda: push_order(first, mapped_order("1000", tags=("bench", "vip"))),
        lambda: push_order(second, mapped_order("1001", tags=("bench", "vip"))),
    )

    assert [outcome.kind for outcome in outcomes] == [PushKind.PUSHED, PushKind.PUSHED]
    assert slow.count("GET", "tags") == 1
    assert slow.count("POST", "tags") == 2  # "bench" and "vip", each once
    assert sorted(fake.tags.values()) == ["bench", "vip"]
    # a process started later reads the map the first one stored: no listing of its own
    third = start_process()
    assert push_order(third, mapped_order("1002", tags=("vip", "bench"))).kind is PushKind.PUSHED
    assert slow.count("GET", "tags") == 1
    assert sorted(fake.tags.values()) == ["bench", "vip"]


def test_a_tag_deleted_in_picqer_drops_the_shared_map_and_is_made_again(
    start_process: ProcessFactory, slow: SlowPicqer, fake: FakePicqer
) -> None:
    first = start_process()
    push_order(first, mapped_order("1000", tags=("bench",)))
    [deleted] = fake.tags
    del fake.tags[deleted]  # a person deletes the tag in Picqer: adding it answers 404
    not_found = httpx.Response(404, json={"error": True, "error_code": 20, "error_message": "Item not found"})
    fake.fail("POST", f"orders/{fake._next_id + 1}/tags", lambda request: not_found)

    assert push_order(first, mapped_order("1001", tags=("bench",))).kind is PushKind.PUSHED

    assert list(fake.tags.values()) == ["bench"]  # made again, once
    assert slow.count("GET", "tags") == 2  # listed again before it was made
    [made] = fake.tags
    assert made != deleted
    second = start_process()  # reads the new map
    assert push_order(second, mapped_order("1002", tags=("bench",))).kind is PushKind.PUSHED
    assert fake.orders[max(fake.orders)]["_tags"] == {made: "bench"}
    assert slow.count("GET", "tags") == 2


def test_a_process_started_after_the_import_refreshes_once_before_it_trusts_the_index(
    start_process: ProcessFactory, slow: SlowPicqer
) -> None:
    first = start_process()
    push_order(first, mapped_order("1000"))
    # the mirror may be a restored backup's, as far as a process started now can tell
    late = start_process()

    push_order(late, mapped_order("1001"))
    push_order(late, mapped_order("1002"))

    assert [set(params) for params in slow.listings("sinceid")] == [{"sinceid", "offset"}]
    assert len(slow.listings("sincedate")) == 1


def test_an_order_in_picqer_before_the_fleet_started_is_adopted_not_made_again(
    start_process: ProcessFactory, slow: SlowPicqer, fake: FakePicqer
) -> None:
    draft = mapped_order("1001").draft
    assert draft is not None
    made = fake.client().create_order(draft.create_payload()).idorder  # another deployment's
    first, second = start_process(), start_process()

    outcomes = together(
        lambda: push_order(first, mapped_order("1000")),
        lambda: push_order(second, mapped_order("1001")),
    )

    assert outcomes[1].idorder == made
    assert len(fake.live_orders("#1001")) == 1
    assert [params.get("reference") for params in slow.listings("reference")] == ["#1001"]


def test_a_restored_mirror_is_refreshed_by_a_new_process_before_it_is_trusted(
    start_process: ProcessFactory, slow: SlowPicqer, fake: FakePicqer
) -> None:
    first = start_process()
    push_order(first, mapped_order("1000"))
    with session_scope(first.engine) as session:
        state = picqer_index.get_state(session)
        assert state is not None
        backup_refreshed_at = state.refreshed_at
    assert push_order(first, mapped_order("1001")).idorder is not None
    with session_scope(first.engine) as session:  # restored from a backup made before #1001
        session.execute(sa.delete(PicqerIndexEntry))
        picqer_index.save_state(session, refreshed_at=backup_refreshed_at)

    restarted = start_process()
    verdict = check_reference(restarted, "#1001", shop_created_at=datetime.now(UTC).replace(tzinfo=None))

    assert verdict is Verdict.KNOWN  # its refresh read the lost order back
    assert len(slow.listings("sinceid")) == 1


def test_a_lease_is_waited_for_then_given_up_on_and_never_released_for_another() -> None:
    store = MemoryStore()
    slept: list[float] = []

    def nap(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with hold_lease(store, "job", ttl=30):
        with pytest.raises(LeaseBusy), hold_lease(store, "job", wait=0.2, sleep=nap):
            pass  # pragma: no cover - never entered
        assert slept  # it waited (polling) before it gave up
        assert store.get("job") is not None  # the one that gave up did not release ours
    assert store.get("job") is None  # released by its holder
    with hold_lease(store, "job"):
        pass  # free again


def test_without_a_shared_store_the_tags_are_listed_once_per_process(fake: FakePicqer) -> None:
    cache = TagCache()
    client = fake.client()
    assert cache.resolve(client, ["bench"]) == cache.resolve(client, ["bench"])
    assert fake.count("GET", "tags") == 1
    assert fake.count("POST", "tags") == 1
