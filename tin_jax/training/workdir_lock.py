"""One writer per workdir: two uncoordinated train.py runs (a job started twice, or
``srun`` launching N processes that did not join one jax.distributed job) would overwrite
each other's checkpoints and metrics.

Process 0 holds ``<workdir>/train.lock`` (host, pid, start time) for the whole run and
touches it every :data:`HEARTBEAT_S` seconds. Another run finding a live lock stops with one
line; a lock whose process is gone (same host) or whose heartbeat is older than
:data:`STALE_S` (a run killed on another node, e.g. a preempted job requeued elsewhere) is
taken over, saying so.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time

LOCK_NAME = "train.lock"
HEARTBEAT_S = 30.0
STALE_S = 180.0


class WorkdirBusyError(ValueError):
    """Another live run writes this workdir (one line)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _stale_reason(owner: dict, age_s: float) -> str | None:
    """Why the lock's owner is gone, or None when it may still be running."""
    if owner.get("host") == socket.gethostname() and not _alive(int(owner.get("pid", -1))):
        return f"its process {owner.get('pid')} on this host has ended"
    if age_s > STALE_S:
        return f"its heartbeat stopped {age_s:.0f} s ago"
    return None


class WorkdirLock:
    """Context manager around a training run (use on process 0 only)."""

    def __init__(self, workdir: str):
        self.path = os.path.join(workdir, LOCK_NAME)
        self._stop = threading.Event()
        self._thread = None

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(dict(host=socket.gethostname(), pid=os.getpid(), started=time.time()), f)
        return True

    def _read_owner(self) -> tuple[dict, float]:
        try:
            with open(self.path) as f:
                owner = json.load(f)
            return owner, time.time() - os.path.getmtime(self.path)
        except (OSError, ValueError):  # half-written or removed meanwhile: treat as stale
            return {}, float("inf")

    def __enter__(self) -> "WorkdirLock":
        if not self._create():
            owner, age = self._read_owner()
            reason = _stale_reason(owner, age)
            if reason is None:
                raise WorkdirBusyError(
                    f"{os.path.dirname(self.path)}: another train.py writes this workdir (pid {owner.get('pid')} "
                    f"on {owner.get('host')}); two uncoordinated runs would overwrite each other's checkpoints. "
                    f"Wait for it (several processes must join one run: --coordinator_address or a SLURM / "
                    f"MPI / TPU launch), or delete {self.path} if no run is active")
            logging.warning("%s: taking over the lock (%s)", self.path, reason)
            os.replace(self.path, self.path + ".stale")
            if not self._create():
                raise WorkdirBusyError(f"{self.path}: another run took the lock at the same moment")
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                return

    def __exit__(self, *exc) -> None:
        self._stop.set()
        try:
            os.remove(self.path)
        except OSError:
            pass
