"""The webhook receiver and status endpoints (FastAPI), thin routes over plain functions."""

from __future__ import annotations

from worker.receiver.app import create_receiver_app

__all__ = ["create_receiver_app"]
