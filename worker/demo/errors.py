"""The demo's one error: a step that did not reach its outcome."""

from __future__ import annotations


class DemoError(Exception):
    """A step did not reach its outcome in time (or at all); the message says which and why."""
