"""The typed settings of the Hub sync, built by `service.settings.Settings.hub_sync()`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class HubSyncConfig:
    """Where and how often the log is pushed. The sync is enabled only with both a repo id and a token.

    `max_commits_per_day` bounds the commits of one process per UTC day (pushes are spread so the
    bound holds whatever `every_min` says); `restore_days` is how much history a restart pulls back;
    `compact` turns the daily compaction on; `squash_history` squashes the dataset's git history after
    a commit that deleted rows (retention, erasure), so older revisions lose them too.
    """

    repo_id: str | None
    token: str | None
    every_min: float
    history_dir: Path | None = None
    retention_days: int | None = None
    max_commits_per_day: int = 96
    restore_days: int = 28
    compact: bool = True
    squash_history: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.repo_id and self.token)

    @property
    def push_every_min(self) -> float:
        """The push period actually used: `every_min`, stretched so a day never needs more commits
        than the bound (one commit in the budget is kept for the daily compaction and retention)."""
        return max(self.every_min, 1440 / max(1, self.max_commits_per_day - 1))
