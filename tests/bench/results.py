"""``.bench/results.json``: every figure of ``make bench``, beside its baseline or bound from the same run.

A bench measures a figure ``REPETITIONS`` times and records it with :func:`record_figure`: the
median, min and max of the samples, the unit, whether more is better, and the baseline (measured in
the same run, such as the bare-HMAC app for ingest) or the bound (computed, such as the rate limit
for push) it is judged against, with the ratio of the median to it. The file also holds the machine
(CPU count, load average) each figure was measured on. ``make bench`` prints the table at the end
(``tests/bench/conftest.py``).
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPETITIONS = 3
RESULTS_PATH = Path(__file__).resolve().parents[2] / ".bench" / "results.json"


@dataclass(frozen=True)
class Figure:
    """One measured figure: its samples and what it is judged against."""

    name: str  # "ingest (run, SQLite): accepted webhooks/s"
    unit: str  # "webhooks/s", "ms", "MiB"
    samples: Sequence[float]
    higher_is_better: bool = True
    baseline: float | None = None  # measured in the same run (median), e.g. the bare-HMAC app
    baseline_name: str | None = None
    bound: float | None = None  # the goal or limit it is judged against, e.g. 2,000/s or 0.97 x limit
    bound_name: str | None = None

    @property
    def median(self) -> float:
        return float(statistics.median(self.samples))

    def meets_bound(self) -> bool | None:
        if self.bound is None:
            return None
        return self.median >= self.bound if self.higher_is_better else self.median <= self.bound

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["samples"] = [round(value, 3) for value in self.samples]
        data.update(
            median=round(self.median, 3),
            min=round(min(self.samples), 3),
            max=round(max(self.samples), 3),
            ratio_to_baseline=None if not self.baseline else round(self.median / self.baseline, 3),
            ratio_to_bound=None if not self.bound else round(self.median / self.bound, 3),
            meets_bound=self.meets_bound(),
        )
        return data


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"cpu_count": os.cpu_count(), "load_average": [round(value, 2) for value in os.getloadavg()]}


def repeat(measure: Callable[[], float], times: int = REPETITIONS) -> list[float]:
    """``measure()`` ``times`` times, the samples in order."""
    return [measure() for _ in range(times)]


def record_figure(figure: Figure, *, details: dict[str, Any] | None = None) -> None:
    """Keep ``figure`` (the latest run of it) in ``.bench/results.json``, with the machine's state now."""
    results = _load()
    figures = results.setdefault("figures", {})
    figures[figure.name] = {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **figure.as_json(),
        **({"details": details} if details else {}),
    }
    results["machine"] = machine()
    _save(results)


def record_results(name: str, figures: dict[str, Any]) -> None:
    """Keep free-form figures of a bench under ``benches`` (request counts and the like)."""
    results = _load()
    results.setdefault("benches", {})[name] = {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **figures,
    }
    _save(results)


def table() -> list[str]:
    """The figures as lines of a short table: median (min-max) unit, against baseline or bound."""
    figures = _load().get("figures", {})
    lines = []
    for name, figure in sorted(figures.items()):
        against = ""
        if figure.get("baseline") is not None:
            against = (
                f"  baseline {figure['baseline']:g} ({figure['baseline_name']}),"
                f" ratio {figure['ratio_to_baseline']}"
            )
        if figure.get("bound") is not None:
            verdict = "met" if figure["meets_bound"] else "NOT met"
            against += f"  bound {figure['bound']:g} ({figure['bound_name']}): {verdict}"
        lines.append(
            f"{name}: {figure['median']:g} {figure['unit']} ({figure['min']:g}-{figure['max']:g}){against}"
        )
    return lines


def _load() -> dict[str, Any]:
    if not RESULTS_PATH.exists():
        return {}
    loaded = json.loads(RESULTS_PATH.read_text())
    return loaded if isinstance(loaded, dict) else {}


def _save(results: dict[str, Any]) -> None:
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
