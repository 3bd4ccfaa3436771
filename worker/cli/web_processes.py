"""``web`` as several receiver processes on one listening socket (``--processes``, ``receiver_processes``).

One process answers webhooks on one core: its event loop checks signatures and parses bodies, its
inbox writer commits and enqueues, and both share one GIL. Several processes share the port (the
parent binds it, uvicorn's supervisor starts the children and restarts one that dies), so a
burst of webhooks uses every core. Each child is a whole receiver: its own inbox writer, database
pool, Redis client and spool drainer; a webhook is stored by whichever child took the connection.

The children are started fresh (spawn, not fork: no thread or connection of the parent is
copied) and build their objects from the same configuration: the parent hands its config file
on in ``PICQER_SYNC_CONFIG`` (the environment, ``env:`` references included, is inherited).
Prometheus counters are summed across the children through files in a directory of the parent's
(``PROMETHEUS_MULTIPROC_DIR``), so ``/metrics`` on any child shows the whole receiver.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from worker.config import CONFIG_ENV_VAR, load_settings
from worker.infra.switching import shorten_thread_switching
from worker.logging import configure_logging

# by default a receiver process per two cores, up to this many: the other half is left to the
# database, Redis and the workers, which usually share the machine (measured on 2 cores with all of
# them beside the receiver: one process took 1,400 webhooks/s, two only 1,300, make bench); beyond
# four, the database's commits, not the cores, bound a burst, and each process holds its own pool
CORES_PER_PROCESS = 2
MAX_AUTO_PROCESSES = 4
MULTIPROCESS_ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"
APP_FACTORY = "worker.cli.web_processes:receiver_app"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_ENV_VAR = "PICQER_SYNC_WEB_PARENT"


def receiver_process_count(configured: int) -> int:
    """``configured`` processes, or one per two CPUs (at least 1, at most ``MAX_AUTO_PROCESSES``)
    when it is 0."""
    if configured > 0:
        return configured
    return max(1, min((os.cpu_count() or 1) // CORES_PER_PROCESS, MAX_AUTO_PROCESSES))


def receiver_app() -> Any:
    """A child's receiver app (uvicorn's factory): the settings from ``PICQER_SYNC_CONFIG`` and
    the environment, objects built by the one wiring module, as in a single ``web`` process."""
    from worker.app import build_app

    _end_with_parent()
    shorten_thread_switching()  # the loop and the inbox writer's thread share the GIL
    settings = load_settings(os.environ.get(CONFIG_ENV_VAR) or None)
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    # the App lives as long as the child: its engine and Redis client close with the process
    return build_app(settings).receiver()


def _end_with_parent() -> None:
    """Have the kernel send this child SIGTERM when the parent dies, even by SIGKILL (Linux): a
    receiver left behind would keep answering on the port of a ``web`` that is gone."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # the parent died before the request took effect (compared with its pid, not with 1: in a
    # container ``web`` itself may be pid 1)
    if os.getppid() != int(os.environ.get(PARENT_ENV_VAR, os.getppid())):
        os.kill(os.getpid(), signal.SIGTERM)


def serve_processes(
    config_file: Path | None, *, host: str, port: int, processes: int, options: dict[str, Any]
) -> None:
    """Serve the receiver on ``host:port`` from ``processes`` child processes until SIGTERM/SIGINT."""
    import uvicorn

    metrics_dir = tempfile.mkdtemp(prefix="picqer-sync-metrics-")
    previous = {name: os.environ.get(name) for name in (CONFIG_ENV_VAR, MULTIPROCESS_ENV_VAR, PARENT_ENV_VAR)}
    os.environ[PARENT_ENV_VAR] = str(os.getpid())
    if config_file is not None:
        os.environ[CONFIG_ENV_VAR] = str(config_file.resolve())
    os.environ[MULTIPROCESS_ENV_VAR] = metrics_dir
    try:
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=processes, **options)
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(metrics_dir, ignore_errors=True)


__all__ = ["receiver_app", "receiver_process_count", "serve_processes"]
