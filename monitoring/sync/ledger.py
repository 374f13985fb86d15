"""The push ledger: what reached the Hub, persisted next to the log so it survives a restart.

Retention deletes a local shard only when the ledger says the Hub holds all of its bytes. The ledger
belongs to the log folder, not to a process: every replica writing the folder updates it under an
flock (re-reading it first), so no replica's update overwrites another's, and the daily commit
bound and the maintenance day hold for the dataset as a whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from monitoring.log.locks import locked
from monitoring.log.records import format_ts

logger = logging.getLogger(__name__)

LEDGER_NAME = ".sync/ledger.json"  # under the log root: never pushed, never read as data


@dataclass(frozen=True, slots=True)
class PushState:
    """What the Hub sync last did, persisted next to the log so it survives a restart."""

    pushed: dict[str, int] = field(default_factory=dict)  # shard path relative to the root -> bytes pushed
    last_push_at: str | None = None
    last_attempt_at: str | None = None
    ok: bool | None = None
    last_error: str | None = None
    pushes: int = 0
    failures: int = 0
    card_pushed: bool = False
    commit_day: str | None = None  # UTC day of `commits_on_day`
    commits_on_day: int = 0  # every commit of this process that day: pushes, compaction, retention
    maintained_day: str | None = None  # UTC day the daily compaction/retention last completed


class PushLedger:
    """Persistent record of what reached the Hub: retention deletes only what is recorded here."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._state: PushState | None = None
        self._seen: object = None  # what the file looked like when `_state` was read

    def state(self) -> PushState:
        with self._lock:
            return self._load()

    @contextlib.contextmanager
    def _update(self) -> Iterator[PushState]:
        """The current state for a change that the block saves: this thread and every other process wait."""
        with self._lock, locked(self.path.with_name(self.path.name + ".lock")):
            self._seen = None  # another replica may have saved since: read the file again
            yield self._load()

    def record_push(self, sizes: Mapping[str, int], *, at: datetime, card: bool = False) -> None:
        with self._update() as old:
            stamp = format_ts(at)
            self._save(
                replace(
                    _counted(old, at),
                    pushed={**old.pushed, **sizes},
                    last_push_at=stamp,
                    last_attempt_at=stamp,
                    ok=True,
                    last_error=None,
                    pushes=old.pushes + 1,
                    card_pushed=old.card_pushed or card,
                )
            )

    def record_commit(self, *, at: datetime, pushed: Mapping[str, int] | None = None, gone: Iterable[str] = ()) -> None:
        """A commit other than a push (compaction, retention, erasure): files added and removed."""
        removed = set(gone)
        with self._update() as old:
            files = {k: v for k, v in old.pushed.items() if k not in removed} | dict(pushed or {})
            self._save(replace(_counted(old, at), pushed=files))

    def record_maintained(self, day: str) -> None:
        with self._update() as old:
            self._save(replace(old, maintained_day=day))

    def record_failure(self, error: str, *, at: datetime) -> None:
        with self._update() as old:
            self._save(
                replace(old, last_attempt_at=format_ts(at), ok=False, last_error=error, failures=old.failures + 1)
            )

    def forget(self, relpaths: Iterable[str]) -> None:
        gone = set(relpaths)
        with self._update() as old:
            self._save(replace(old, pushed={k: v for k, v in old.pushed.items() if k not in gone}))

    def commits_today(self, *, at: datetime) -> int:
        state = self.state()
        return state.commits_on_day if state.commit_day == at.date().isoformat() else 0

    def _load(self) -> PushState:
        """The saved state, read again only when the file changed (another replica saved it)."""
        seen = _signature(self.path)
        if self._state is not None and seen == self._seen:
            return self._state
        self._seen = seen
        try:
            self._state = PushState(**orjson.loads(self.path.read_bytes()))
        except FileNotFoundError:
            self._state = PushState()
        except (ValueError, TypeError, OSError) as exc:
            # A damaged or unreachable ledger (ENOTDIR, EACCES, EIO) must not stop the service;
            # forgetting it only makes retention keep more.
            logger.warning("prediction log: unreadable push ledger %s (%s), starting a new one", self.path, exc)
            self._state = PushState()
        return self._state

    def _save(self, state: PushState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(_state_dict(state)))
        os.replace(tmp, self.path)  # a crash leaves the old ledger or the new one, never half of one
        self._state, self._seen = state, _signature(self.path)


def _signature(path: Path) -> object:
    """Inode, mtime and size: a save (a rename onto the path) changes the inode at least."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return exc.errno
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _counted(state: PushState, at: datetime) -> PushState:
    """The state with one more commit on `at`'s UTC day."""
    day = at.date().isoformat()
    count = state.commits_on_day + 1 if state.commit_day == day else 1
    return replace(state, commit_day=day, commits_on_day=count)


def _state_dict(state: PushState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in PushState.__slots__}
