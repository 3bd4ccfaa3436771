"""The receiver is served with a 1 ms GIL switch interval (worker/infra/switching.py says why)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from worker.cli import run_cmd
from worker.infra.switching import SWITCH_INTERVAL_SECONDS


@pytest.fixture(autouse=True)
def _restore_switch_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # CPython's default, whatever an earlier test left
    yield
    sys.setswitchinterval(before)


class _App:
    def receiver(self) -> str:
        return "the receiver app"


def test_the_receiver_is_served_with_a_one_millisecond_switch_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        seen["app"] = app
        seen["interval"] = sys.getswitchinterval()

    monkeypatch.setattr(uvicorn, "run", fake_run)
    run_cmd._serve(_App(), "127.0.0.1", 0)  # type: ignore[arg-type]
    assert seen["app"] == "the receiver app"
    assert seen["interval"] == pytest.approx(SWITCH_INTERVAL_SECONDS)
    assert sys.getswitchinterval() != pytest.approx(0.005)
