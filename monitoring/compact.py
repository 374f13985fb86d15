"""Compact past days of the prediction log into one Parquet file per day and kind; retention; squash.

    python -m monitoring.compact                        # local folders only, sources deleted at once
    python -m monitoring.compact --hub                  # and the Hub: one commit, then sources deleted
    python -m monitoring.compact --hub --squash         # then squash the dataset's history

What the service's sync thread runs once a day (`monitoring.sync.maintenance`), by hand: folders,
Hub repo, token and `LOG_RETENTION_DAYS` come from the service settings unless given. Both modes
skip the shards a running process still appends to; `--hub` also takes the running replicas' lease
(it gives up while one pushes or maintains), so it may run beside a synced service. Without `--hub`
it is for a log that is not synced: it deletes sources the Hub may not have yet.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from monitoring.log.compaction import Compacted, compact_local


def _print(results: list[Compacted]) -> None:
    for c in results:
        ratio = f"{c.source_bytes / c.parquet_bytes:.1f}x" if c.source_bytes and c.parquet_bytes else "-"
        print(f"{c.rel}: {c.rows:,} rows, {c.source_bytes:,} B of JSON Lines -> {c.parquet_bytes:,} B ({ratio})")
    source = sum(c.source_bytes for c in results)
    parquet = sum(c.parquet_bytes for c in results if c.source_bytes)
    if parquet:
        print(f"{len(results)} day-file(s): {source:,} B -> {parquet:,} B ({source / parquet:.1f}x smaller)")
    else:
        print(f"{len(results)} day-file(s) changed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-dir", type=Path, default=None, help="default: PREDICTION_LOG_DIR")
    parser.add_argument("--history-dir", type=Path, default=None, help="default: HISTORY_DIR")
    parser.add_argument("--hub", action="store_true", help="commit to the Hub dataset (HF_DATASET_REPO, HF_TOKEN)")
    parser.add_argument("--retention-days", type=int, default=None, help="default: LOG_RETENTION_DAYS")
    parser.add_argument("--squash", action="store_true", help="with --hub: squash the dataset's history after")
    args = parser.parse_args(argv)
    from service.settings import Settings  # the one reader of the environment

    settings = Settings()
    live = args.log_dir or settings.prediction_log_dir
    history = args.history_dir or settings.history_dir
    retention = args.retention_days if args.retention_days is not None else settings.log_retention_days
    today = datetime.now(UTC).date()
    if not args.hub:
        _print(compact_local([live, history], out_root=live, before=today))
        return 0
    config = settings.hub_sync()
    if not config.enabled:
        print("--hub: HF_DATASET_REPO and HF_TOKEN are not set.")
        return 2
    from huggingface_hub import HfApi

    from monitoring.log.locks import HUB_LOCK, locked
    from monitoring.log.writer import PredictionLog
    from monitoring.sync.maintenance import run_maintenance

    assert config.repo_id is not None
    with locked(live / HUB_LOCK, wait=False) as lease:  # the service's replicas take the same lease
        if not lease:
            print("a running replica is pushing or maintaining this log right now: try again in a minute")
            return 1
        result = run_maintenance(
            HfApi(token=config.token),
            repo_id=config.repo_id,
            log=PredictionLog(live),
            history_dir=history,
            retention_days=retention,
            squash=args.squash or config.squash_history,
        )
    _print(result.compacted)
    if result.expired_days:
        days = result.expired_days
        print(f"expired on the Hub: {len(days)} day(s), {days[0]} .. {days[-1]}")
    print(f"commit {result.commit or 'none (nothing to do)'}; history squashed: {result.squashed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
