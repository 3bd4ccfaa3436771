"""The layering contracts in pyproject.toml hold on the real tree, and break when a rule is broken.

The second half proves the linter would notice: it runs the very same contracts against a small
tree of stand-in packages named ``worker``, ``adapters`` and ``sandbox`` (found first on the path),
once clean and once per rule with one offending import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CLEAN_TREE = {
    "adapters/__init__.py": "",
    "adapters/errors.py": "class SyncError(Exception): ...\n",
    "worker/__init__.py": "",
    "worker/sync/__init__.py": "from adapters.errors import SyncError\n",
    "worker/db/__init__.py": "import sqlalchemy\n",
    "worker/queue/__init__.py": "import dramatiq\nimport worker.sync\n",
    "sandbox/__init__.py": "",
    "sandbox/shop/__init__.py": "",
    "sandbox/shop/state.py": "",
    "sandbox/shop/api.py": "from sandbox.shop import state\n",
    "sandbox/shop/simulator.py": "from sandbox.shop import api, state\n",
}

# one broken rule each: the file that breaks it, and the contract name that must be reported
VIOLATIONS = {
    "adapters import worker": (
        {"adapters/errors.py": "import worker.sync\n"},
        "adapters never import worker",
    ),
    "use case imports dramatiq": (
        {"worker/sync/__init__.py": "import dramatiq\n"},
        "use cases and the mirror never import the queue or the web framework",
    ),
    "mirror imports fastapi": (
        {"worker/db/__init__.py": "from fastapi import FastAPI\n"},
        "use cases and the mirror never import the queue or the web framework",
    ),
    "sandbox imports adapters": (
        {"sandbox/shop/state.py": "import adapters.errors\n"},
        "the sandbox imports neither worker nor adapters",
    ),
    "router reaches its simulator": (
        {"sandbox/shop/api.py": "from sandbox.shop import simulator, state\n"},
        "a simulator's routers take a narrow port, never the simulator itself",
    ),
    "sandbox import circle": (
        {"sandbox/shop/state.py": "from sandbox.shop import simulator\n"},
        "no import circles among the sandbox's modules",
    ),
}


def _lint(cwd: Path, *, python_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],  # reads the contracts from ./pyproject.toml
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _write_tree(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())  # the same contracts
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _stub_external_packages(root: Path) -> None:
    # the stand-in tree imports these; they only need to be findable, not real
    for name in ("dramatiq", "fastapi", "starlette", "sqlalchemy"):
        _write_tree(root, {f"{name}/__init__.py": ""})


def test_the_real_tree_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_a_clean_stand_in_tree_keeps_every_contract(tmp_path: Path) -> None:
    _write_tree(tmp_path, CLEAN_TREE)
    _stub_external_packages(tmp_path)
    result = _lint(tmp_path, python_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("violation", sorted(VIOLATIONS))
def test_each_broken_rule_fails_the_linter(tmp_path: Path, violation: str) -> None:
    files, contract = VIOLATIONS[violation]
    _write_tree(tmp_path, {**CLEAN_TREE, **files})
    _stub_external_packages(tmp_path)
    result = _lint(tmp_path, python_path=tmp_path)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken.split()), result.stdout
