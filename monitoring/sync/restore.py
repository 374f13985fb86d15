"""History restore: the Hub's files of the monitoring window pulled into the read-only history folder.

A restart on a fresh disk pulls back only the last `restore_days` days (plus whatever older range
someone asks for with `restore_range` or `python -m monitoring.sync.restore`), in a background
thread started once the service is ready, so the first score never waits for a download.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from huggingface_hub import snapshot_download
from huggingface_hub.errors import RepositoryNotFoundError

from monitoring.log.locks import locked
from monitoring.log.records import DATA_GLOBS

logger = logging.getLogger(__name__)

REPO_TYPE = "dataset"


@dataclass(frozen=True, slots=True)
class RestoreResult:
    files: int
    error: str | None = None


def _event(level: int, event: str, *, token: str | None = None, **fields: Any) -> None:
    text = json.dumps({"event": event, **fields}, default=str)
    logger.log(level, text.replace(token, "***") if token else text)


def day_patterns(since: date, until: date) -> list[str]:
    """`allow_patterns` for every day folder from `since` to `until`, both included."""
    return [f"date={since + timedelta(days=i)}/*" for i in range((until - since).days + 1)]


def restore_history(
    *,
    repo_id: str,
    token: str,
    history_dir: str | Path,
    endpoint: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> RestoreResult:
    """Download the repo's data files of days `since`..`until` (all days when `since` is None).

    Never raises: a service that cannot reach the Hub still serves, with the history it already has.
    """
    history = Path(history_dir)
    until = until or datetime.now(UTC).date()
    patterns = day_patterns(since, until) if since else list(DATA_GLOBS)
    try:
        # Replicas sharing the history folder restore one after the other (the later finds it current).
        # The lock sits beside the folder: a folder that exists counts as a restored copy for the Hub client.
        with locked(history.parent / f".{history.name}.restore.lock"):
            return _download(repo_id, token=token, history=history, endpoint=endpoint, patterns=patterns, since=since)
    except OSError as exc:  # the lock file itself cannot be made: an unwritable history folder
        return RestoreResult(0, f"{type(exc).__name__}: {exc.strerror or exc}")


def _download(
    repo_id: str, *, token: str, history: Path, endpoint: str | None, patterns: list[str], since: date | None
) -> RestoreResult:
    try:
        snapshot_download(
            repo_id,
            repo_type=REPO_TYPE,
            token=token,
            endpoint=endpoint,
            local_dir=history,
            cache_dir=history / ".cache" / "hub",
            allow_patterns=patterns,
            max_workers=4,
        )
    except RepositoryNotFoundError:
        _event(logging.INFO, "hub_restore_empty", repo=repo_id)  # first start: nothing pushed yet
        return RestoreResult(0)
    except Exception as exc:
        _event(logging.ERROR, "hub_restore_failed", token=token, repo=repo_id, error=f"{type(exc).__name__}: {exc}")
        return RestoreResult(freeze(history), f"{type(exc).__name__}: {exc}".replace(token, "***"))
    files = freeze(history)
    _event(logging.INFO, "hub_restore_ok", repo=repo_id, files=files, since=since)
    return RestoreResult(files)


def freeze(history: Path) -> int:
    """History is the Hub's copy: make it read-only so nothing appends to it by mistake."""
    paths = [p for pattern in DATA_GLOBS for p in history.glob(pattern)] if history.is_dir() else []
    for path in paths:
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return len(paths)


@dataclass(frozen=True, slots=True)
class RestoreStatus:
    """What `/readyz` and the Monitoring tab say about the history: "off", "loading", "done", "failed"."""

    state: str = "off"
    since: str | None = None
    files: int = 0
    seconds: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BackgroundRestore:
    """Runs one restore in a daemon thread and keeps its status; `then` runs after it (the scheduler start)."""

    def __init__(self) -> None:
        self._status = RestoreStatus()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()  # set while no restore is pending: maintenance may run
        self.done.set()

    def status(self) -> RestoreStatus:
        return self._status

    def start(self, job: Any, *, since: date | None, then: Any = None) -> None:
        if self._thread is not None:
            return
        self._status = RestoreStatus("loading", since=since.isoformat() if since else None)
        self.done.clear()

        def run() -> None:
            started = time.perf_counter()
            try:
                result = job()
                state = "failed" if result.error else "done"
                self._status = RestoreStatus(state, self._status.since, result.files, _since(started), result.error)
            except Exception as exc:  # never kill the service over history
                self._status = RestoreStatus("failed", self._status.since, 0, _since(started), type(exc).__name__)
            finally:
                self.done.set()
                if then is not None:
                    then()

        self._thread = threading.Thread(target=run, name="history-restore", daemon=True)
        self._thread.start()


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def main(argv: list[str] | None = None) -> int:
    """Pull an older range of days into the history folder (the running service reads it at once)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--since", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--until", type=date.fromisoformat, default=None, help="last day (default: today)")
    args = parser.parse_args(argv)
    from service.settings import Settings  # the one reader of the environment

    settings = Settings()
    config = settings.hub_sync()
    if not config.enabled or config.history_dir is None:
        print("HF_DATASET_REPO and HF_TOKEN are not set: there is no Hub history to restore.")
        return 2
    assert config.repo_id is not None and config.token is not None
    result = restore_history(
        repo_id=config.repo_id, token=config.token, history_dir=config.history_dir, since=args.since, until=args.until
    )
    print(f"{result.files} file(s) in {config.history_dir}" + (f"; error: {result.error}" if result.error else ""))
    return 1 if result.error else 0


if __name__ == "__main__":
    sys.exit(main())
