"""The short reason a person reads for a failure: in the mirror, on the status page, in the logs."""

from __future__ import annotations

from worker.errors import SyncError

MAX_REASON_CHARS = 500


def failure_reason(error: BaseException) -> str:
    """A short reason a person understands, safe for logs and the status page.

    Our own errors carry a readable reason free of secrets. For anything else only the type is
    kept (and the first line for non-database errors): database errors echo SQL parameters,
    which may hold order data.
    """
    if isinstance(error, SyncError):
        text = error.reason
    elif type(error).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        text = f"database error ({type(error).__name__})"
    else:
        first_line = (str(error).strip().splitlines() or [""])[0]
        text = f"unexpected {type(error).__name__}" + (f": {first_line}" if first_line else "")
    return text[:MAX_REASON_CHARS]
