"""The typed settings of the Hub sync, built by `service.settings.Settings.hub_sync()`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class HubSyncConfig:
    """Where and how often the log is pushed. The sync is enabled only with both a repo id and a token."""

    repo_id: str | None
    token: str | None
    every_min: float
    history_dir: Path | None = None
    retention_days: int | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.repo_id and self.token)
