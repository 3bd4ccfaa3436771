"""The processes of the Procfile (and the sandbox), as subprocesses under a small supervisor.

Each role (``web``, ``worker-1``, ``worker-2``, ``scheduler``, ``sandbox``) runs ``picqer-sync
<command>`` with the run's config file; every incarnation writes stdout and stderr to a log file
of its own, so the log check reads each line exactly as an operator's log shipper would. The
supervisor restarts a role that exited (SIGKILLed by the fault plan, or crashed), as systemd's
``Restart=always`` or a Procfile runner does, and counts the exits it did not cause.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

RESTART_DELAY_SECONDS = 1.0  # a supervisor's pause before it starts a dead process again
STOP_SECONDS = 10.0  # SIGTERM, then this long, then SIGKILL
WATCH_SECONDS = 0.2


def picqer_sync() -> str:
    """The console script of this virtualenv (what the Procfile runs)."""
    return str(Path(sys.executable).with_name("picqer-sync"))


@dataclass
class Role:
    name: str  # "worker-1"
    argv: list[str]  # after ``picqer-sync --config FILE``
    is_product: bool = True  # its log lines are checked (the sandbox is a test double: not)
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)  # one per incarnation
    starts: int = 0
    kills: int = 0  # by the fault plan
    unexpected_exits: list[int] = field(default_factory=list)  # exit codes of exits we did not cause
    _killed: bool = False


class Supervisor:
    """Starts roles, keeps them running, kills one on request, stops them all at the end."""

    def __init__(self, *, config_file: Path, log_dir: Path, env: dict[str, str]) -> None:
        self.config_file = config_file
        self.log_dir = log_dir
        self.env = env
        self.roles: dict[str, Role] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="chaos-supervisor", daemon=True)

    # -- one-off commands ------------------------------------------------------------------------

    def run_command(self, *argv: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """``picqer-sync --config FILE <argv>`` to completion (``db upgrade``, ``hooks sync``, ...)."""
        return subprocess.run(
            [picqer_sync(), "--config", str(self.config_file), *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # -- long-running roles ----------------------------------------------------------------------

    def start(self, name: str, *argv: str, is_product: bool = True) -> Role:
        role = Role(name=name, argv=list(argv), is_product=is_product)
        with self._lock:
            self.roles[name] = role
            self._spawn(role)
        if not self._watcher.is_alive() and not self._stop.is_set():
            self._watcher.start()
        return role

    def kill(self, name: str) -> None:
        """SIGKILL the role's process; the supervisor starts it again shortly."""
        with self._lock:
            role = self.roles[name]
            if role.process is None or role.process.poll() is not None:
                return
            role._killed = True
            role.kills += 1
            role.process.send_signal(signal.SIGKILL)

    def stop_all(self) -> None:
        self._stop.set()
        if self._watcher.is_alive():
            self._watcher.join(STOP_SECONDS)
        with self._lock:
            running = [role.process for role in self.roles.values() if role.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_SECONDS)

    def product_logs(self) -> list[Path]:
        return [log for role in self.roles.values() if role.is_product for log in role.logs]

    def _spawn(self, role: Role) -> None:
        role.starts += 1
        log = self.log_dir / f"{role.name}.{role.starts}.log"
        role.logs.append(log)
        with log.open("wb") as sink:
            # a session of its own: a signal for the harness (Ctrl-C) does not reach it unasked
            role.process = subprocess.Popen(
                [picqer_sync(), "--config", str(self.config_file), *role.argv],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
        role._killed = False

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            with self._lock:
                dead = [
                    r for r in self.roles.values() if r.process is not None and r.process.poll() is not None
                ]
                for role in dead:
                    assert role.process is not None
                    if not role._killed:
                        role.unexpected_exits.append(int(role.process.returncode))
                    role.process = None
            if dead:
                time.sleep(RESTART_DELAY_SECONDS)
                with self._lock:
                    for role in dead:
                        if not self._stop.is_set():
                            self._spawn(role)


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any variable the settings would read, plus ``extra``.

    The test session sets ``REDIS_NAMESPACE`` (and a person's shell may set ``DATABASE_URL``): the
    environment overrides the config file, so they would point the stack elsewhere.
    """
    from worker.config import PicqerSettings, Settings

    names = {name.upper() for name in Settings.model_fields} | {"PICQER_SYNC_CONFIG"}
    names |= {f"PICQER_{name.upper()}" for name in PicqerSettings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env.update(extra)
    return env
