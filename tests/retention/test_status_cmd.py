"""``status`` shows the oldest kept inbox row (its age) and the retention, in text and JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from worker.cli.main import app
from worker.db import inbox
from worker.db.migrate import upgrade_database
from worker.db.models import utcnow
from worker.db.session import make_engine, session_scope


def test_status_shows_the_oldest_kept_webhook_and_the_retention(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    config = tmp_path / "picqer-sync.toml"
    config.write_text(f'database_url = "{url}"\ninbox_retention_days = 30\n')
    upgrade_database(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            inbox.store_inbox_event(
                session,
                source="shop",
                event_key="k1",
                topic="orders/paid",
                payload="{}",
                received_at=utcnow() - timedelta(days=2, hours=5),
            )
    finally:
        engine.dispose()

    text = CliRunner().invoke(app, ["--config", str(config), "status"], env={"COLUMNS": "200"})
    shown = CliRunner().invoke(app, ["--config", str(config), "status", "--json"])

    assert text.exit_code == 0, text.output
    assert "1 webhook(s) kept" in text.output
    assert "(2d 05h ago, still waiting)" in text.output
    assert "deleted 30 days after processing" in text.output
    assert shown.exit_code == 0, shown.output
    retention = json.loads(shown.stdout)["retention"]
    assert (retention["retention_days"], retention["kept"], retention["oldest_waiting"]) == (30, 1, True)
    assert (
        timedelta(days=2, hours=5).total_seconds() <= retention["oldest_age_seconds"] < 2 * 86400 + 6 * 3600
    )
