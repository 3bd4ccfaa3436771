"""Every simulator that sends webhooks takes its delivery faults on the same control path."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sandbox.app import create_sandbox_app


@pytest.mark.parametrize("name", ["picqer", "shopify", "woocommerce"])
def test_webhook_faults_have_one_path_and_stay_with_their_simulator(name: str) -> None:
    app = create_sandbox_app(rate_limit=None, seed=False)
    client = TestClient(app)

    answer = client.post(f"/_sandbox/{name}/webhooks/faults", json={"duplicate_rate": 1.0, "reorder": True})

    assert answer.status_code == 200
    simulators = app.state.simulators
    assert simulators[name].dispatcher.faults.duplicate_rate == 1.0
    assert simulators[name].dispatcher.faults.reorder is True
    others = [other for other in ("picqer", "shopify", "woocommerce") if other != name]
    assert all(simulators[other].dispatcher.faults.duplicate_rate == 0.0 for other in others)
    assert client.post(f"/_sandbox/{name}/webhooks/flush").status_code == 200
