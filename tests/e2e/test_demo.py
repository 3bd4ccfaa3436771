"""``run_demo``: every expected outcome, read from its result (not from printed text)."""

from __future__ import annotations

from pathlib import Path

from worker.db.models import SyncState
from worker.demo import MIRROR_FILE, UNKNOWN_SKU, Expect, remove_mirror, run_demo


def test_the_demo_reaches_every_expected_outcome(tmp_path: Path) -> None:
    lines: list[str] = []

    result = run_demo(keep=tmp_path / "kept", progress=lines.append, timeout=20.0, fulfilment_delay_ms=100)

    assert result.error is None
    assert result.ok, [report.problem for report in result.orders]
    by_expectation = {expect: [r for r in result.orders if r.planned.expect is expect] for expect in Expect}
    shipped = by_expectation[Expect.SHIPPED]
    assert sorted(r.planned.platform for r in shipped) == ["magento", "shopify", "woocommerce"]
    for report in shipped:
        assert report.idorder is not None
        assert report.sync_state == SyncState.SYNCED
        assert report.picqer_status == "completed"
        assert report.trackingcode
        assert report.reported
    [failed] = by_expectation[Expect.FAILED]
    assert failed.sync_state == SyncState.FAILED
    assert failed.idorder is None
    assert failed.reason is not None
    assert UNKNOWN_SKU in failed.reason
    [skipped] = by_expectation[Expect.SKIPPED]
    assert skipped.sync_state == SyncState.SKIPPED
    assert skipped.reason is not None
    assert "unpaid" in skipped.reason
    assert (result.pushed, result.failed, result.skipped) == (3, 1, 1)
    assert result.picqer_requests > 0
    assert result.rate_limited == 0
    assert result.mirror is not None
    assert Path(result.mirror).is_file()
    assert lines  # progress was reported step by step


def test_a_kept_demo_mirror_is_removed_before_the_next_demo_reuses_its_directory(tmp_path: Path) -> None:
    # a new sandbox hands out the same shop and Picqer ids again: an old mirror would contradict it
    mirror = tmp_path / MIRROR_FILE
    for name in (MIRROR_FILE, f"{MIRROR_FILE}-wal", f"{MIRROR_FILE}-shm"):
        (tmp_path / name).write_text("old")
    (tmp_path / f"{MIRROR_FILE}.locks").mkdir()
    (tmp_path / "mine.txt").write_text("not the demo's")

    remove_mirror(mirror)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["mine.txt"]
