"""``make bench``: the table of every figure recorded this run, printed at the end."""

from __future__ import annotations

from typing import Any

from tests.bench.results import RESULTS_PATH, table

_ran: list[str] = []  # the bench tests that ran: none in ``make test``, which deselects them


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" and "tests/bench/" in report.nodeid:
        _ran.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = table()
    if not _ran or not lines:
        return
    terminalreporter.section("bench figures (median, min-max, against baseline or bound)")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(all figures and details: {RESULTS_PATH})")
