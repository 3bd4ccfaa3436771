"""How often Python hands the GIL between threads, for the long-running roles.

A receiver process runs its event loop and the inbox writer's thread (``run`` adds worker threads):
when the writer's database call returns, its thread waits for the GIL until the loop thread gives
it up, which CPython forces only every ``sys.getswitchinterval()`` (5 ms by default). A group
commit needs the GIL a dozen times (psycopg between its C calls, the Redis pipeline, the answers),
so under load a group that PostgreSQL committed in 7 ms sometimes took 100 ms or more to come back,
and every webhook of that group waited with it: ``make bench``'s ingest p99 in ``web`` went from
30 to 120 ms between runs of the same build. At 1 ms the same runs stayed at 28-36 ms with the same
throughput (measured on the 2-core bench machine, 4 runs each, alternating). The cost is a forced
hand-off check every millisecond, which is noise next to a webhook's few hundred microseconds.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL_SECONDS = 0.001


def shorten_thread_switching() -> None:
    """Hand the GIL between threads every millisecond in this process (idempotent)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
