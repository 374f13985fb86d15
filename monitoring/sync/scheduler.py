"""Scheduled pushes of the prediction log to a Hugging Face Dataset, daily maintenance, history restore.

The live log folder is pushed to a private dataset repo by `huggingface_hub.CommitScheduler` every
`HF_PUSH_EVERY_MIN` minutes (stretched to respect `HF_MAX_COMMITS_PER_DAY`), under the same relative
paths (`date=YYYY-MM-DD/<kind>-...jsonl`). Each push first seals the open shards, so a pushed shard
is never appended to again and every push uploads only rows that were never uploaded: bytes sent
per day = bytes logged per day plus the commit overhead. Shard names are unique per process, so a
push never overwrites another replica's or an earlier process' file. Replicas sharing the folder
share its ledger and take turns (an flock): each pushes every sealed shard, a live one is left to
its writer (`monitoring.log.locks`), and one of them does the maintenance. Once a day, after a push, the
same worker thread compacts the past days and applies retention on the Hub
(`monitoring.sync.maintenance`). After startup, `start_background` restores the monitoring window
into a separate, read-only history folder (`monitoring.sync.restore`), then starts the scheduler.

Only active when both a repo id and a token are configured. Settings come in as parameters; this
module never reads the environment (huggingface_hub itself still honours HF_ENDPOINT & co).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from huggingface_hub import CommitOperationAdd, CommitScheduler, HfApi

from monitoring.log.locks import HUB_LOCK, locked, sealed_size
from monitoring.log.records import PUSH_GLOBS
from monitoring.log.writer import PredictionLog
from monitoring.sync.card import CARD_PATH, dataset_card
from monitoring.sync.config import HubSyncConfig
from monitoring.sync.maintenance import run_maintenance
from monitoring.sync.restore import BackgroundRestore, RestoreResult, RestoreStatus, restore_history

logger = logging.getLogger(__name__)

REPO_TYPE = "dataset"


def _event(level: int, event: str, *, token: str | None = None, **fields: Any) -> None:
    """One structured JSON log line; the token is scrubbed from every value, whatever raised."""
    text = json.dumps({"event": event, **fields}, default=str)
    if token:
        text = text.replace(token, "***")
    logger.log(level, text)


class _LogScheduler(CommitScheduler):
    """A CommitScheduler that pushes sealed shards only, once, and records every attempt in the ledger.

    Overrides `push_to_hub`, the extension point the scheduler documents: the open shards are
    sealed under the log's write lock, so every file pushed is complete and never grows again;
    what was pushed is persisted (retention deletes only that). `max_commits` bounds the commits
    per UTC day; a forced push (shutdown) goes through regardless.
    """

    def __init__(
        self,
        *,
        log: PredictionLog,
        card: str,
        after_push: Callable[[], None],
        max_commits: int,
        maintain: Callable[[HfApi], None],
        **kwargs: Any,
    ) -> None:
        # Set first: the base class starts its first push from inside its __init__.
        self.log, self.card, self.after_push = log, card, after_push
        self.max_commits, self.maintain = max_commits, maintain
        super().__init__(**kwargs)

    def push_to_hub(self, force: bool = False) -> Any:
        try:
            info = self._push(force=force)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            if self.token:
                message = message.replace(self.token, "***")
            self.log.ledger.record_failure(message[:500], at=datetime.now(UTC))
            _event(
                logging.ERROR, "hub_push_failed", token=self.token, repo=self.repo_id, error=message, retry="next tick"
            )
            raise
        try:
            self.maintain(self.api)
        except Exception as exc:  # the push itself succeeded; maintenance retries at the next tick
            _event(logging.WARNING, "hub_maintenance_failed", token=self.token, error=f"{type(exc).__name__}: {exc}")
        return info

    def push_forced(self) -> Future:
        return self.api.run_as_future(self.push_to_hub, True)

    def _push(self, *, force: bool) -> Any:
        # Replicas of one folder push one at a time, and never while one maintains the dataset: each
        # starts from the ledger the previous one left and never uploads a source compaction deletes.
        with locked(self.folder_path / HUB_LOCK):
            return self._push_locked(force=force)

    def _push_locked(self, *, force: bool) -> Any:
        now = datetime.now(UTC)
        if not force and self.log.ledger.commits_today(at=now) >= self.max_commits:
            _event(logging.WARNING, "hub_push_deferred", repo=self.repo_id, max_commits_per_day=self.max_commits)
            return None
        state = self.log.ledger.state()
        with self.log.lock:  # no append is half-written while we seal and measure
            self.log.seal()
            changed = _unpushed(self.folder_path, state.pushed)
        operations = [
            CommitOperationAdd(path_or_fileobj=_prefix(self.folder_path / rel, size), path_in_repo=rel)
            for rel, size in changed.items()
        ]
        card = not state.card_pushed and not self._card_on_hub()
        if card:
            operations.append(CommitOperationAdd(path_or_fileobj=self.card.encode(), path_in_repo=CARD_PATH))
        if not operations:
            return None
        info = self.api.create_commit(
            repo_id=self.repo_id,
            repo_type=self.repo_type,
            revision=self.revision,
            operations=operations,
            commit_message=f"Prediction log: {len(changed)} new shard(s)",
        )
        self.log.ledger.record_push(changed, at=now, card=True)
        _event(
            logging.INFO, "hub_push_ok", repo=self.repo_id, shards=len(changed), bytes=sum(changed.values()), card=card
        )
        try:
            self.after_push()
        except Exception as exc:  # the push itself succeeded; retention will try again next time
            _event(logging.WARNING, "log_prune_failed", error=f"{type(exc).__name__}: {exc}")
        return info

    def _card_on_hub(self) -> bool:
        """Never overwrite a card someone wrote on the Hub; a failed check just means "push ours"."""
        try:
            return self.api.file_exists(self.repo_id, CARD_PATH, repo_type=self.repo_type)
        except Exception:
            return False


def _unpushed(folder: Path, pushed: dict[str, int]) -> dict[str, int]:
    """Sealed shards (and table shards, born sealed) the Hub lacks, by relative path, with their final size.

    Any replica pushes every sealed shard (its own, another's, a killed process' leftovers); a live
    one is left to its writer. Sealed files never change, so a shard goes up once; one whose size
    differs from what was pushed was rewritten (erasure) and goes up again.
    """
    changed = {}
    for path in sorted(p for pattern in PUSH_GLOBS for p in folder.glob(pattern)):
        rel = path.relative_to(folder).as_posix()
        with contextlib.suppress(FileNotFoundError):  # a source another process just compacted
            if rel in pushed and path.stat().st_size == pushed[rel]:
                continue  # the common case, decided without opening the file
        size = sealed_size(path)
        if size and pushed.get(rel) != size:
            changed[rel] = size
    return changed


def _prefix(path: Path, size: int) -> bytes:
    """The first `size` bytes: a whole-lines prefix even of a file another process still appends to."""
    with path.open("rb") as handle:
        return handle.read(size)


class HubSync:
    """Scheduled, failure-tolerant push of a `PredictionLog` folder to a private Hub dataset.

    Disabled (every method a cheap no-op, `status()["enabled"]` False) unless both a repo id and a
    token are given, so the composition root can always build one.
    """

    def __init__(
        self,
        log: PredictionLog,
        *,
        repo_id: str | None,
        token: str | None,
        every_min: float = 5.0,
        endpoint: str | None = None,
        history_dir: str | Path | None = None,
        retention_days: int | None = None,
        max_commits_per_day: int = 96,
        restore_days: int = 28,
        compact: bool = True,
        squash_history: bool = False,
    ) -> None:
        self.log = log
        self.repo_id = repo_id
        self.enabled = bool(repo_id and token)
        self.every_min = every_min
        self.history_dir = Path(history_dir) if history_dir else None
        self.retention_days = retention_days
        self.max_commits_per_day = max_commits_per_day
        self.restore_days = restore_days
        self.compact, self.squash_history = compact, squash_history
        self.restore = BackgroundRestore()
        self._token = token or ""
        self._endpoint = endpoint
        self._scheduler: _LogScheduler | None = None
        self._start_lock = threading.Lock()
        self._retry: threading.Timer | None = None
        self._stopped = False

    @classmethod
    def from_config(cls, config: HubSyncConfig, log: PredictionLog, *, endpoint: str | None = None) -> HubSync:
        """The sync the typed settings describe (`Settings.hub_sync()`)."""
        return cls(
            log,
            repo_id=config.repo_id,
            token=config.token,
            every_min=config.push_every_min,
            endpoint=endpoint,
            history_dir=config.history_dir,
            retention_days=config.retention_days,
            max_commits_per_day=config.max_commits_per_day,
            restore_days=config.restore_days,
            compact=config.compact,
            squash_history=config.squash_history,
        )

    # -- history ---------------------------------------------------------------------------------

    def restore_since(self) -> date:
        """First day the restore pulls: the monitoring window, never more than retention keeps."""
        days = min(self.restore_days, self.retention_days or self.restore_days)
        return (datetime.now(UTC) - timedelta(days=days)).date()

    def restore_history(self) -> RestoreResult:
        """Pull the monitoring window into `history_dir` now (blocking); `start_background` is the service's way."""
        return self.restore_range(since=self.restore_since())

    def restore_range(self, *, since: date, until: date | None = None) -> RestoreResult:
        """Pull the days `since`..`until` into `history_dir` (older history someone asked for)."""
        if not self.enabled or self.history_dir is None:
            return RestoreResult(0)
        assert self.repo_id is not None
        return restore_history(
            repo_id=self.repo_id,
            token=self._token,
            history_dir=self.history_dir,
            endpoint=self._endpoint,
            since=since,
            until=until,
        )

    def start_background(self) -> None:
        """After the service is ready: restore the window in a thread, then start the scheduler."""
        if not self.enabled:
            return
        if self.history_dir is None:
            threading.Thread(target=self.start, name="hub-start", daemon=True).start()
            return
        self.restore.start(self.restore_history, since=self.restore_since(), then=self.start)

    def restore_status(self) -> RestoreStatus:
        return self.restore.status()

    # -- pushes ----------------------------------------------------------------------------------

    def start(self) -> bool:
        """Create the repo (private) if missing and start the scheduler. If the Hub is unreachable,
        log it and try again one period later instead of failing the service's startup."""
        if not self.enabled:
            return False
        with self._start_lock:
            if self._scheduler is not None or self._stopped:
                return self._scheduler is not None
            try:
                self._scheduler = _LogScheduler(
                    log=self.log,
                    card=dataset_card(str(self.repo_id)),
                    after_push=self._after_push,
                    max_commits=self.max_commits_per_day,
                    maintain=self._maintain,
                    repo_id=self.repo_id,
                    folder_path=self.log.directory,
                    every=self.every_min,
                    repo_type=REPO_TYPE,
                    private=True,
                    token=self._token,
                    hf_api=HfApi(endpoint=self._endpoint, token=self._token),
                )
            except Exception as exc:
                error = f"start: {type(exc).__name__}: {exc}".replace(self._token, "***")
                self.log.ledger.record_failure(error[:500], at=datetime.now(UTC))
                _event(
                    logging.ERROR,
                    "hub_start_failed",
                    token=self._token,
                    repo=self.repo_id,
                    error=error,
                    retry_in_min=self.every_min,
                )
                self._retry = threading.Timer(self.every_min * 60, self.start)
                self._retry.daemon = True
                self._retry.start()
                return False
            _event(logging.INFO, "hub_sync_started", repo=self.repo_id, every_min=self.every_min)
            return True

    def push_now(self, *, timeout: float = 20.0, force: bool = False) -> bool:
        """Push what is not pushed yet, waiting at most `timeout` s; `force` ignores the daily bound."""
        if not self.enabled or (self._scheduler is None and not self.start()):
            return False
        assert self._scheduler is not None
        future = self._scheduler.push_forced() if force else self._scheduler.trigger()
        try:
            future.result(timeout=timeout)
        except FutureTimeout:
            _event(logging.WARNING, "hub_push_timeout", repo=self.repo_id, timeout_s=timeout)
            return False
        except Exception:
            return False  # already recorded and logged by the scheduler
        return True

    def status(self) -> dict[str, Any]:
        """JSON-ready state for `/readyz` and the "Production data" tab."""
        state = self.log.ledger.state()
        return {
            "enabled": self.enabled,
            "repo_id": self.repo_id,
            "every_min": self.every_min,
            "running": self._scheduler is not None and not self._stopped,
            "last_push_at": state.last_push_at,
            "last_attempt_at": state.last_attempt_at,
            "last_push_ok": state.ok,
            "last_error": state.last_error,
            "pushes": state.pushes,
            "failures": state.failures,
            "commits_today": self.log.ledger.commits_today(at=datetime.now(UTC)),
            "max_commits_per_day": self.max_commits_per_day,
            "history": self.restore_status().as_dict(),
        }

    def stop(self, *, push: bool = True, timeout: float = 20.0) -> bool:
        """Final push (bounded by `timeout`, past the daily bound), then stop. Returns whether it pushed."""
        pushed = self.push_now(timeout=timeout, force=True) if push else False
        self._stopped = True
        if self._retry is not None:
            self._retry.cancel()
        if self._scheduler is not None:
            self._scheduler.stop()
        return pushed

    def maintain_now(self, *, timeout: float = 120.0) -> Any:
        """Run the daily maintenance now in the sync's thread (tests, the compaction CLI)."""
        if not self.enabled or (self._scheduler is None and not self.start()):
            return None
        assert self._scheduler is not None
        return self._scheduler.api.run_as_future(self._maintain, self._scheduler.api, True).result(timeout=timeout)

    def _after_push(self) -> None:
        # Retention runs where it is safe: right after the ledger learned what the Hub has.
        deleted = self.log.prune(retention_days=self.retention_days, history_dir=self.history_dir)
        if deleted:
            _event(logging.INFO, "log_pruned", shards=len(deleted))

    def _maintain(self, api: HfApi, force: bool = False) -> Any:
        """Once per UTC day (and only once the history is restored): compaction and Hub retention."""
        today = datetime.now(UTC).date().isoformat()
        if not force and (self.log.ledger.state().maintained_day == today or not self.restore.done.is_set()):
            return None
        if not (self.compact or self.retention_days):
            return None
        assert self.repo_id is not None
        # A lease: one replica of the folder maintains it; the others find the day done (shared ledger).
        with locked(self.log.directory / HUB_LOCK, wait=False) as lease:
            if not lease or (not force and self.log.ledger.state().maintained_day == today):
                return None
            result = run_maintenance(
                api,
                repo_id=self.repo_id,
                log=self.log,
                history_dir=self.history_dir,
                compact=self.compact,
                retention_days=self.retention_days,
                squash=self.squash_history,
            )
            self.log.ledger.record_maintained(today)
        _event(
            logging.INFO,
            "hub_maintenance_ok",
            repo=self.repo_id,
            compacted=len(result.compacted),
            source_bytes=result.source_bytes,
            parquet_bytes=result.parquet_bytes,
            expired_days=len(result.expired_days),
            squashed=result.squashed,
        )
        return result
