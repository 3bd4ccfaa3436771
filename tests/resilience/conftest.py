"""The fixtures of ``tests/sync`` (a migrated mirror on SQLite and PostgreSQL, the fake Picqer)."""

from __future__ import annotations

from tests.sync.conftest import fake, make_ctx, mirror_url

__all__ = ["fake", "make_ctx", "mirror_url"]
