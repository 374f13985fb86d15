"""Advisory POSIX locks (`flock`) for the processes that share one log folder (replicas, CLIs).

Two mechanisms, both released by the kernel when a process dies, so a crash never leaves a stale lock:

- a writer holds an exclusive lock on every shard it has open (`hold`); a shard nobody holds is
  sealed for good (shards are never reopened), so `sealed_size` tells another process whether it
  may push, compact or rewrite a file and what its final size is;
- `locked` serialises a short read-modify-write of a shared file (the push ledger, the outcome
  check) or grants a lease (the daily maintenance, a history restore) across processes.

`flock` is per host: replicas on several hosts need a volume whose locks span hosts, or one log
folder per replica with the Hub dataset as the shared store (docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

# under the log root (never read as data, never pushed): `.sync/` is the ledger's folder too
OUTCOMES_LOCK = ".sync/outcomes.lock"
HUB_LOCK = ".sync/hub.lock"  # one commit to the dataset at a time: a push or the maintenance


def _acquire(fd: int, *, wait: bool, timeout: float | None) -> bool:
    if not wait:
        timeout = 0.0
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = True, timeout: float | None = None) -> Iterator[bool]:
    """Hold an exclusive lock on `path` (created if missing) for the block; yields whether it was got.

    With `wait=False` a lock another process holds yields False at once (a lease someone else has);
    with `timeout`, False once it has been held by another for that many seconds (a stopped process
    must not hang its callers for ever).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        yield _acquire(fd, wait=wait, timeout=timeout)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def hold(fd: int) -> None:
    """Mark a shard just opened for appending as live for as long as `fd` stays open."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a `sealed_size` probe measures it
    except OSError as exc:  # a file system without flock: writing matters more than the mark
        logger.warning("prediction log: cannot lock a shard (%s); other processes cannot see it is live", exc)


def sealed_size(path: Path) -> int | None:
    """The final size of a shard no process appends to; None while a writer holds it (or it is gone).

    Measured under a shared lock: a writer that has just created the file waits for the probe before
    its first write, so a size read here is never half a line.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        except OSError:
            pass  # no flock here: every shard counts as sealed, as it did before locks existed
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def is_live(path: Path) -> bool:
    """Whether some process still appends to the shard."""
    return path.exists() and sealed_size(path) is None
