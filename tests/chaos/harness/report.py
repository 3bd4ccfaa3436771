"""The run's verdict: ``.bench/chaos.json`` and a short table on stdout."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.chaos.harness.counting import MAX_RECOVERY_SECONDS, Counts

REPORT_FILE = Path(".bench") / "chaos.json"


@dataclass(frozen=True)
class Verdict:
    counts: Counts
    recovery_seconds: float | None

    @property
    def failed_checks(self) -> list[str]:
        failed = [f"{name} = {value}" for name, value in sorted(self.counts.values.items()) if value]
        if self.recovery_seconds is None:
            failed.append("recovery: some paid order never reached Picqer")
        elif self.recovery_seconds > MAX_RECOVERY_SECONDS:
            failed.append(f"recovery {self.recovery_seconds:g} s > {MAX_RECOVERY_SECONDS:g} s")
        return failed

    @property
    def passed(self) -> bool:
        return not self.failed_checks


def iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def write_report(path: Path, verdict: Verdict, details: dict[str, Any]) -> dict[str, Any]:
    report = {
        "passed": verdict.passed,
        "failed_checks": verdict.failed_checks,
        "counts": dict(sorted(verdict.counts.values.items())),
        "recovery_seconds": verdict.recovery_seconds,
        "max_recovery_seconds": MAX_RECOVERY_SECONDS,
        **details,
        "examples": verdict.counts.examples,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def table(verdict: Verdict, details: dict[str, Any]) -> str:
    rows = [
        (name, str(value), "ok" if value == 0 else "FAIL")
        for name, value in sorted(verdict.counts.values.items())
    ]
    recovery = verdict.recovery_seconds
    rows.append(
        (
            "recovery_seconds",
            "never" if recovery is None else f"{recovery:g}",
            "ok" if recovery is not None and recovery <= MAX_RECOVERY_SECONDS else "FAIL",
        )
    )
    width = max(len(name) for name, _, _ in rows)
    orders = details["orders"]
    faults = details["faults"]
    lines = [
        "",
        f"chaos: {orders['paid']} paid orders ({orders['by_source']}), {orders['unpaid']} unpaid; "
        f"{faults['worker_kills']} worker kills, {faults['scheduler_kills']} scheduler kill, "
        f"Redis away {faults['redis_outage_seconds']} s, "
        f"PostgreSQL away {faults['postgres_outage_seconds']} s; "
        f"run {details['run_seconds']} s",
        *(f"  {name:<{width}}  {value:>7}  {status}" for name, value, status in rows),
        f"  -> {'PASSED' if verdict.passed else 'FAILED: ' + '; '.join(verdict.failed_checks)}",
    ]
    for name, examples in verdict.counts.examples.items():
        lines += [f"  {name}, e.g.:"] + [f"    {example}" for example in examples]
    return "\n".join(lines)
