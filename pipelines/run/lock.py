"""One run at a time per warehouse: an exclusive lock on a file beside it, held for the whole run.

The lock is ``fcntl.flock`` on an open file descriptor, so the OS releases it when the process ends, however it
ends (kill -9, power cut): a stale lock never needs cleaning up by hand. The descriptor is not inherited by child
processes (Python opens files close-on-exec), so an orphaned child can never keep it.

The file also says who holds it (pid, host, run id, start time, command), for the message that refuses a second
run, and whether its last holder finished: a file still saying ``running`` when the lock is free means that run
died without finishing, and the next run reports it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

RUNNING, FINISHED = "running", "finished"


class RunLockedError(RuntimeError):
    """Another run holds the warehouse; the message names it."""


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the run holding (or that last held) the lock."""

    run_id: str
    pid: int
    host: str
    started_at: str  # ISO timestamp, UTC
    command: str
    as_of: str | None = None
    state: str = RUNNING
    finished_at: str | None = None

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, started {self.started_at}, command: {self.command})"


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


# Locks this process holds, by lock file: the command line takes the lock before it starts the job, and the job's
# resource then finds it held here for the same run instead of refusing itself.
_held: dict[Path, RunLock] = {}


class RunLock:
    """The held lock; ``previous`` is what the file said before (a run that died leaves ``state == running``)."""

    def __init__(self, path: Path, fd: int | None, holder: Holder, previous: Holder | None, nested: bool = False):
        self.path, self._fd, self.holder, self.previous, self.nested = path, fd, holder, previous, nested

    @property
    def previous_run_died(self) -> bool:
        return self.previous is not None and self.previous.state == RUNNING

    @classmethod
    def acquire(cls, warehouse: Path, run_id: str, command: str, as_of: str | None = None) -> RunLock:
        """Take the lock or raise RunLockedError naming the holder. Never waits."""
        path = lock_path(Path(warehouse).resolve())
        mine = _held.get(path)
        if mine is not None:
            if mine.holder.run_id == run_id:
                return cls(path, None, mine.holder, None, nested=True)
            raise RunLockedError(_refusal(Path(warehouse), path, mine.holder))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if not _try_lock(fd, fcntl.LOCK_EX):
            os.close(fd)
            raise RunLockedError(_refusal(Path(warehouse), path, read_holder(path)))
        previous = _parse(_read_fd(fd))
        holder = Holder(run_id, os.getpid(), socket.gethostname(), _now(), command, as_of)
        _write_fd(fd, holder)
        lock = cls(path, fd, holder, previous)
        _held[path] = lock
        return lock

    def release(self) -> None:
        """Record that the run finished, then let go of the lock (a nested handle leaves it to its owner)."""
        if self.nested or self._fd is None:
            return
        try:
            _write_fd(self._fd, dataclasses.replace(self.holder, state=FINISHED, finished_at=_now()))
        finally:
            _held.pop(self.path, None)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def current_holder(warehouse: Path) -> Holder | None:
    """The run holding the warehouse's lock right now, or None when it is free (probes without keeping it)."""
    path = lock_path(Path(warehouse).resolve())
    if path in _held:
        return _held[path].holder
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _try_lock(fd, fcntl.LOCK_SH, attempts=1):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return read_holder(path) or Holder("unknown", 0, "unknown", "unknown", "unknown")
    finally:
        os.close(fd)


def _try_lock(fd: int, kind: int, attempts: int = 5) -> bool:
    # A probe (current_holder) holds a shared lock for microseconds: a run starting at that instant tries again
    # rather than refusing itself.
    for attempt in range(attempts):
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt < attempts - 1:
                time.sleep(0.02)
    return False


def read_holder(path: Path) -> Holder | None:
    """What the lock file says; a holder may be writing it at this instant, so an unreadable file is re-read."""
    for _ in range(20):
        try:
            holder = _parse(path.read_bytes())
        except FileNotFoundError:
            return None
        if holder is not None:
            return holder
        time.sleep(0.025)
    return None


def _refusal(warehouse: Path, path: Path, holder: Holder | None) -> str:
    who = holder.describe() if holder else "another process (it has not written its details yet)"
    return (
        f"the warehouse {warehouse} is in use by {who}. One run at a time: wait for it to finish (or stop it), "
        f"then run again. Lock file: {path}"
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _read_fd(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0) if size else b""


def _write_fd(fd: int, holder: Holder) -> None:
    data = (json.dumps(dataclasses.asdict(holder), indent=1) + "\n").encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _parse(data: bytes) -> Holder | None:
    try:
        body = json.loads(data.decode())
        return Holder(**{f.name: body[f.name] for f in dataclasses.fields(Holder) if f.name in body})
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
