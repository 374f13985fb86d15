"""Find, and on request erase, one client's rows in the prediction log (GDPR right to erasure).

    python -m monitoring.erase --client-id 100002 --log-dir data/predictions --log-dir data/history
    python -m monitoring.erase --client-id 100002 --log-dir data/predictions --log-dir data/history --hub
    python -m monitoring.erase --client-id 100002 ... --delete --hub

Without `--delete` it is a dry run: it lists every file holding the client's rows (locally and,
with `--hub`, in the Hub dataset) and how many. `--delete` rewrites each affected file without those
rows, JSON Lines shards and compacted Parquet files alike, in every kind that carries the keyed hash
(predictions, outcomes) and the rows of kinds tied to the
client's requests (see `monitoring.log.erasure`). With `--hub` it also rewrites every affected file
of the dataset in one commit and then squashes the dataset's history, so no older revision keeps the
rows (`--keep-history` skips the squash). Rows carry only a keyed hash of SK_ID_CURR, so the same salt
(`LOG_ID_SALT`) is needed to find them. A shard a running service still appends to is not rewritten
(nothing is erased and the command says which file): retry after the next Hub push seals it, or
stop the service.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitoring.log.erasure import Match, erase, find_rows, rows_by_file
from monitoring.log.records import hash_client_id, relpath
from monitoring.sync.ledger import LEDGER_NAME, PushLedger
from scoring.errors import LogWriteError

__all__ = ["Match", "erase", "find_client_rows", "main"]


def find_client_rows(dirs: list[Path], client_id: str, *, salt: str) -> list[Match]:
    """The client's rows in every data file under `dirs` (what a dry run lists)."""
    ref = hash_client_id(client_id, salt=salt)
    return find_rows(dirs, ref) if ref else []


def _settings() -> Any:
    """The service settings (salt, Hub repo and token): read the same way the service reads them."""
    from service.settings import Settings

    return Settings()


def _record_rewritten(dirs: list[Path], matches: list[Match]) -> None:
    """The Hub now holds the rewritten live files: tell their ledger, so the next push skips them."""
    for root in dirs:
        ledger_path = root / LEDGER_NAME
        if not ledger_path.exists():
            continue
        ledger = PushLedger(ledger_path)
        pushed = ledger.state().pushed
        sizes = {relpath(m.path, root): m.path.stat().st_size for m in matches if m.path.is_relative_to(root)}
        sizes = {rel: size for rel, size in sizes.items() if rel in pushed}
        if sizes:
            ledger.record_commit(at=datetime.now(UTC), pushed=sizes)


def _hub(args: argparse.Namespace, settings: Any, ref: str) -> int:
    from monitoring.sync.hub_erase import erase_on_hub

    config = settings.hub_sync()
    if not config.enabled:
        print("--hub: HF_DATASET_REPO and HF_TOKEN are not set, so there is no Hub dataset to rewrite.")
        return 2
    report = erase_on_hub(
        repo_id=config.repo_id, token=config.token, ref=ref, delete=args.delete, squash=not args.keep_history
    )
    for rel, count in report.rows_by_file.items():
        print(f"hub:{rel}: {count} row(s)" + (" (file deleted: no row left)" if rel in report.deleted_files else ""))
    print(f"{report.rows} row(s) for this client in {len(report.rows_by_file)} Hub file(s)")
    if report.commit:
        squashed = "history squashed to one commit" if report.squashed else "older revisions still hold the rows"
        print(f"erased on the Hub in commit {report.commit[:12]}: {report.rows} row(s); {squashed}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--log-dir", action="append", type=Path, required=True)
    parser.add_argument("--salt", default=None, help="default: LOG_ID_SALT from the service settings")
    parser.add_argument("--delete", action="store_true", help="rewrite the files without the client's rows")
    parser.add_argument("--hub", action="store_true", help="the Hub dataset too (HF_DATASET_REPO, HF_TOKEN)")
    parser.add_argument("--keep-history", action="store_true", help="with --hub: do not squash the history")
    args = parser.parse_args(argv)
    settings = _settings() if args.salt is None or args.hub else None
    if args.salt is None:
        args.salt = settings.log_id_salt.get_secret_value() if settings.log_id_salt else None
    if not args.salt:
        print("LOG_ID_SALT is not set: without it no client reference was stored, so there is nothing to find.")
        return 2
    matches = find_client_rows(args.log_dir, args.client_id, salt=args.salt)
    for name, count in rows_by_file(matches).items():
        print(f"{name}: {count} row(s)")
    print(f"{len(matches)} row(s) for this client in {len(rows_by_file(matches))} local file(s)")
    if args.delete and matches:
        try:
            print(f"erased {erase(matches)} row(s) locally")
        except LogWriteError as exc:
            print(f"nothing erased: {exc}")
            return 1
    code = _hub(args, settings, hash_client_id(args.client_id, salt=args.salt) or "") if args.hub else 0
    if args.delete and args.hub and code == 0:
        _record_rewritten(args.log_dir, matches)
    elif args.delete and matches:
        print("the Hub copy is not changed without --hub (pushed history keeps the rows until then)")
    return code


if __name__ == "__main__":
    sys.exit(main())
