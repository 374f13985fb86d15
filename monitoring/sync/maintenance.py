"""The daily Hub maintenance: compaction of past days and retention, in one commit, then an optional squash.

Runs in the sync's own worker thread (right after a push, once per UTC day), never on the scoring
path, and is serialised with the pushes, so no push ever sees half of it. Also what
`python -m monitoring.compact --hub` runs.

The commit adds each day's Parquet file and deletes the shards it holds, and deletes the folders of
expired days, all in one `create_commit`: every revision of the dataset holds each row exactly once.
Local sources are deleted only after that commit succeeded. A failure leaves the compacted file and
its sources side by side on disk (readers skip the sources) and the next run retries.

One compacting process per log folder: replicas sharing a folder hold a lease for it (an flock on
`locks.HUB_LOCK`, taken by the caller, the same lock every push takes) and record the day in the
shared ledger, so one of them maintains each day and no push runs meanwhile. A shard still being
appended to is not compacted (`compaction.day_groups`). With one folder per replica on the same
dataset, a shard another replica pushed for a day, and that this process never pulled, stays on
the Hub as JSON Lines beside the Parquet: no row is lost or doubled, the day is just not fully
compacted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

from monitoring.log.compaction import Compacted, compact_group, day_groups, remove
from monitoring.log.writer import PredictionLog

logger = logging.getLogger(__name__)

REPO_TYPE = "dataset"


@dataclass(slots=True)
class MaintenanceResult:
    compacted: list[Compacted] = field(default_factory=list)
    expired_days: list[str] = field(default_factory=list)
    commit: str | None = None
    squashed: bool = False

    @property
    def source_bytes(self) -> int:
        return sum(c.source_bytes for c in self.compacted)

    @property
    def parquet_bytes(self) -> int:
        return sum(c.parquet_bytes for c in self.compacted if c.source_bytes)


def hub_days(files: Iterable[str]) -> set[str]:
    """The `date=YYYY-MM-DD` folders among a repo's file paths."""
    return {path.split("/", 1)[0] for path in files if path.startswith("date=") and "/" in path}


def expired(days: Iterable[str], *, retention_days: int | None, today: date) -> list[str]:
    """Day folders strictly older than the retention window (the same cutoff as local pruning)."""
    if not retention_days:
        return []
    cutoff = (datetime.combine(today, datetime.min.time(), UTC) - timedelta(days=retention_days)).date()
    out = []
    for folder in sorted(days):
        try:
            if date.fromisoformat(folder.removeprefix("date=")) < cutoff:
                out.append(folder)
        except ValueError:
            continue
    return out


def run_maintenance(
    api: HfApi,
    *,
    repo_id: str,
    log: PredictionLog,
    history_dir: Path | None,
    compact: bool = True,
    retention_days: int | None = None,
    squash: bool = False,
    now: datetime | None = None,
) -> MaintenanceResult:
    """Compact past days, expire old ones on the Hub, in one commit; then delete local sources; squash."""
    now = now or datetime.now(UTC)
    today = now.date()
    roots = [log.directory, *([history_dir] if history_dir else [])]
    result = MaintenanceResult()
    hub_files = set(api.list_repo_files(repo_id, repo_type=REPO_TYPE))
    result.expired_days = expired(hub_days(hub_files), retention_days=retention_days, today=today)
    gone_days = set(result.expired_days)
    pushed = log.ledger.state().pushed
    if compact:
        for group in day_groups(roots, before=today, skip=log.open_files()):
            if f"date={group.day.isoformat()}" in gone_days:
                continue  # expiring anyway: no point compacting it
            done = compact_group(group, out_root=log.directory)
            if done is not None and (done.changed or pushed.get(done.rel) != done.parquet_bytes):
                result.compacted.append(done)
    adds = [c for c in result.compacted if pushed.get(c.rel) != c.path.stat().st_size]
    deletes = sorted({s for c in result.compacted for s in c.sources if s in hub_files})
    operations: list[CommitOperationAdd | CommitOperationDelete] = [
        CommitOperationAdd(path_or_fileobj=str(c.path), path_in_repo=c.rel) for c in adds
    ]
    operations += [CommitOperationDelete(path_in_repo=s) for s in deletes]
    operations += [CommitOperationDelete(path_in_repo=f"{d}/", is_folder=True) for d in result.expired_days]
    if operations:
        info = api.create_commit(
            repo_id=repo_id,
            repo_type=REPO_TYPE,
            operations=operations,
            commit_message=_message(len(adds), len(deletes), result.expired_days),
        )
        result.commit = info.oid
        gone = {s for c in result.compacted for s in c.sources}
        gone |= {rel for rel in pushed if rel.split("/", 1)[0] in gone_days}
        log.ledger.record_commit(at=now, pushed={c.rel: c.path.stat().st_size for c in adds}, gone=gone)
    for done in result.compacted:  # the Hub holds the Parquet (or nothing changed): sources may go
        remove(done.obsolete)
    if retention_days:
        log.prune(retention_days=retention_days, history_dir=history_dir, now=now)
    if squash and (deletes or result.expired_days):
        api.super_squash_history(repo_id=repo_id, repo_type=REPO_TYPE)
        result.squashed = True
    return result


def _message(adds: int, deletes: int, days: Sequence[str]) -> str:
    parts = []
    if adds or deletes:
        parts.append(f"compact {adds} day-file(s) from {deletes} shard(s)")
    if days:
        parts.append(f"expire {len(days)} day(s) ({days[0]} .. {days[-1]})")
    return "Prediction log maintenance: " + "; ".join(parts or ["nothing"])
