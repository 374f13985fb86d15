"""Scheduled pushes of the prediction log to a Hugging Face Dataset, and history restore at startup.

The live log folder is pushed to a private dataset repo by `huggingface_hub.CommitScheduler` every
`HF_PUSH_EVERY_MIN` minutes, under the same relative paths (`date=YYYY-MM-DD/<kind>-...jsonl`).
Shard names are unique per process, so a push never overwrites another replica's or an earlier
process' file. At startup `restore_history` pulls the repo's shards into a separate, read-only
history folder; `read_log([live, history])` then covers the data from before the restart.

Only active when both a repo id and a token are configured. Settings come in as parameters; this
module never reads the environment (huggingface_hub itself still honours HF_ENDPOINT & co).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from huggingface_hub import CommitOperationAdd, CommitScheduler, HfApi, snapshot_download
from huggingface_hub._commit_scheduler import PartialFileIO
from huggingface_hub.errors import RepositoryNotFoundError

from monitoring.log.records import SHARD_GLOB
from monitoring.log.writer import PredictionLog
from monitoring.sync.card import CARD_PATH, dataset_card
from monitoring.sync.config import HubSyncConfig

logger = logging.getLogger(__name__)

REPO_TYPE = "dataset"


def _event(level: int, event: str, *, token: str | None = None, **fields: Any) -> None:
    """One structured JSON log line; the token is scrubbed from every value, whatever raised."""
    text = json.dumps({"event": event, **fields}, default=str)
    if token:
        text = text.replace(token, "***")
    logger.log(level, text)


class _LogScheduler(CommitScheduler):
    """A CommitScheduler that pushes whole lines only and records every attempt in the log's ledger.

    Overrides `push_to_hub`, the extension point the scheduler documents: the shard sizes are taken
    under the log's write lock, so each pushed prefix ends on a newline, and what was pushed is
    persisted (retention deletes only that).
    """

    def __init__(self, *, log: PredictionLog, card: str, after_push: Callable[[], None], **kwargs: Any) -> None:
        # Set first: the base class starts its first push from inside its __init__.
        self.log, self.card, self.after_push = log, card, after_push
        super().__init__(**kwargs)

    def push_to_hub(self) -> Any:
        try:
            return self._push()
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            if self.token:
                message = message.replace(self.token, "***")
            self.log.ledger.record_failure(message[:500], at=datetime.now(UTC))
            _event(
                logging.ERROR, "hub_push_failed", token=self.token, repo=self.repo_id, error=message, retry="next tick"
            )
            raise

    def _push(self) -> Any:
        with self.log.lock:  # no append is half-written while we measure
            sizes = {
                p.relative_to(self.folder_path).as_posix(): p.stat().st_size for p in self.folder_path.glob(SHARD_GLOB)
            }
        state = self.log.ledger.state()
        changed = {rel: size for rel, size in sorted(sizes.items()) if size and state.pushed.get(rel) != size}
        operations = [
            CommitOperationAdd(path_or_fileobj=PartialFileIO(self.folder_path / rel, size_limit=size), path_in_repo=rel)
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
            commit_message=f"Prediction log: {len(changed)} shard(s) updated",
        )
        self.log.ledger.record_push(changed, at=datetime.now(UTC), card=True)
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
    ) -> None:
        self.log = log
        self.repo_id = repo_id
        self.enabled = bool(repo_id and token)
        self.every_min = every_min
        self.history_dir = Path(history_dir) if history_dir else None
        self.retention_days = retention_days
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
            every_min=config.every_min,
            endpoint=endpoint,
            history_dir=config.history_dir,
            retention_days=config.retention_days,
        )

    def restore_history(self) -> RestoreResult:
        """Pull the shards of the retention window into `history_dir` (call once, before serving)."""
        if not self.enabled or self.history_dir is None:
            return RestoreResult(0)
        days = self.retention_days
        since = (datetime.now(UTC) - timedelta(days=days)).date() if days else None
        assert self.repo_id is not None
        return restore_history(
            repo_id=self.repo_id, token=self._token, history_dir=self.history_dir, endpoint=self._endpoint, since=since
        )

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

    def push_now(self, *, timeout: float = 20.0) -> bool:
        """Push what is not pushed yet, waiting at most `timeout` s (on SIGTERM, before exit)."""
        if not self.enabled or (self._scheduler is None and not self.start()):
            return False
        assert self._scheduler is not None
        try:
            self._scheduler.trigger().result(timeout=timeout)
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
        }

    def stop(self, *, push: bool = True, timeout: float = 20.0) -> bool:
        """Final push (bounded by `timeout`), then stop the scheduler. Returns whether it pushed."""
        pushed = self.push_now(timeout=timeout) if push else False
        self._stopped = True
        if self._retry is not None:
            self._retry.cancel()
        if self._scheduler is not None:
            self._scheduler.stop()
        return pushed

    def _after_push(self) -> None:
        # Retention runs where it is safe: right after the ledger learned what the Hub has.
        deleted = self.log.prune(retention_days=self.retention_days, history_dir=self.history_dir)
        if deleted:
            _event(logging.INFO, "log_pruned", shards=len(deleted))


# ------------------------------------------------------------------------------------------ restore


@dataclass(frozen=True, slots=True)
class RestoreResult:
    files: int
    error: str | None = None


def restore_history(
    *,
    repo_id: str,
    token: str,
    history_dir: str | Path,
    endpoint: str | None = None,
    since: date | None = None,
) -> RestoreResult:
    """Download the repo's shards (from `since` on, if given) into the read-only history folder.

    Never raises: a service that cannot reach the Hub still starts, with the history it already has.
    """
    history = Path(history_dir)
    patterns = _day_patterns(since) if since else [SHARD_GLOB]
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
        return RestoreResult(_freeze(history), f"{type(exc).__name__}: {exc}".replace(token, "***"))
    files = _freeze(history)
    _event(logging.INFO, "hub_restore_ok", repo=repo_id, files=files)
    return RestoreResult(files)


def _day_patterns(since: date) -> list[str]:
    today = datetime.now(UTC).date()
    return [f"date={since + timedelta(days=i)}/*.jsonl" for i in range((today - since).days + 1)]


def _freeze(history: Path) -> int:
    """History is the Hub's copy: make it read-only so nothing appends to it by mistake."""
    paths = list(history.glob(SHARD_GLOB)) if history.is_dir() else []
    for path in paths:
        os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return len(paths)
