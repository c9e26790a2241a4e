"""A background process owned through a pid file: start detached, probe, stop with its group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from services.common.errors import StackError

# Popen objects of the children this process started: kept so they are reaped (no zombies)
# and so that garbage collection does not warn about a child that is meant to outlive it.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _reap() -> None:
    """Collect children that died on their own (kill -9 from outside): no zombies, no warnings."""
    for pid, child in list(_CHILDREN.items()):
        if child.poll() is not None:
            del _CHILDREN[pid]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _started_since_boot(proc: psutil.Process) -> float:
    """Seconds from boot to the process's start: unlike its wall-clock start, an NTP step or a
    VM clock correction cannot move it (a fresh CI machine's clock was stepped mid-run)."""
    return proc.create_time() - psutil.boot_time()


@dataclass(frozen=True)
class ManagedProcess:
    """One detached process whose identity lives in ``pid_file`` as "pid start-since-boot"."""

    name: str
    pid_file: Path
    log_file: Path

    def pid(self) -> int | None:
        """The live pid of this process, or None; a reused pid is not mistaken for ours."""
        _reap()
        try:
            pid_text, created_text = self.pid_file.read_text().split()
            pid, created = int(pid_text), float(created_text)
            proc = psutil.Process(pid)
            reused = abs(_started_since_boot(proc) - created) > 1.0
            if reused or proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except (OSError, ValueError, psutil.Error):
            return None
        return pid

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        user: str | None = None,
    ) -> int:
        """Start detached in a new session, output appended to ``log_file``; returns the pid."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            try:
                proc = subprocess.Popen(
                    list(argv),
                    cwd=cwd,
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stop() reaches children too
                    user=user,
                )
            except OSError as exc:
                raise StackError(self.name, f"could not start {argv[0]}: {exc}") from exc
        _CHILDREN[proc.pid] = proc
        created = _started_since_boot(psutil.Process(proc.pid))
        self.pid_file.write_text(f"{proc.pid} {created}\n")
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL what outlives ``timeout``; True if it was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        members = _group_members(pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(members, timeout=timeout)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait(timeout=5)
        self.pid_file.unlink(missing_ok=True)
        return True

    def wait_exit(self, pid: int, timeout: float) -> None:
        """Block until ``pid`` is gone or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and psutil.pid_exists(pid):
            time.sleep(0.1)


def _group_members(pid: int) -> list[psutil.Process]:
    """The leader and every descendant: a JVM launcher may fork the real server."""
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return []


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or an empty string when there is none."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
