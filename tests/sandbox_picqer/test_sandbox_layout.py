"""The sandbox's shape: every simulator on one template (``state``, ``ports``, ``api``, ``control``,
``simulator``).

Which way the imports between them go (routers never reach their simulator, no cycles, nothing of
``worker`` or ``adapters``) is checked by the import-linter contracts in pyproject.toml, run by
``make lint`` and by ``tests/foundation/test_layering.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"
SIMULATORS = ("picqer", "shopify", "woocommerce", "magento")
TEMPLATE = ("state.py", "ports.py", "api.py", "control.py", "simulator.py")


@pytest.mark.parametrize("name", SIMULATORS)
def test_every_simulator_has_the_template_modules(name: str) -> None:
    missing = [module for module in TEMPLATE if not (SANDBOX / name / module).is_file()]
    assert missing == []
