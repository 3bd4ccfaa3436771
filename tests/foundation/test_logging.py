"""Logs: JSON lines, and never a secret or a street address in them."""

from __future__ import annotations

import json

import pytest
import structlog

from worker.logging import REDACTED, configure_logging, get_logger


def test_json_lines_carry_the_event_and_redact_secrets_and_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(log_format="json", level="INFO")
    get_logger("test").info(
        "order_pushed",
        reference="#1001",
        api_key="k-123",
        webhook_secret="s-456",
        Authorization="Basic abc",
        deliveryaddress="Koppeling 15",
        emailaddress="bob@example.com",
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])

    assert line["event"] == "order_pushed"
    assert line["reference"] == "#1001"
    for key in ("api_key", "webhook_secret", "Authorization", "deliveryaddress", "emailaddress"):
        assert line[key] == REDACTED
    assert "k-123" not in json.dumps(line)


def test_the_level_filters_and_context_is_merged(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format="json", level="WARNING")
    structlog.contextvars.bind_contextvars(source="shop-nl")
    try:
        get_logger().info("quiet")
        get_logger().warning("loud")
    finally:
        structlog.contextvars.clear_contextvars()
    lines = [json.loads(raw) for raw in capsys.readouterr().err.strip().splitlines()]
    assert [line["event"] for line in lines] == ["loud"]
    assert lines[0]["source"] == "shop-nl"
