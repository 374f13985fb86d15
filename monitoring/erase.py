"""Find, and on request erase, one client's rows in the prediction log (GDPR right to erasure).

Predictions and the outcomes recorded for them both carry the client's keyed hash, so both go.

    python -m monitoring.erase --client-id 100002 --log-dir data/predictions [--log-dir data/history] [--delete]

Rows carry only a keyed hash of SK_ID_CURR (`LOG_ID_SALT`), so the same salt is needed to find
them. `--delete` rewrites each affected shard without those rows (write-then-rename, so a reader
never sees half a file); a rewritten shard differs in size from what was pushed, so the Hub sync
uploads the cleaned file at its next tick. Run it while the service is stopped, or on shards of
past days: the live shard of a running process is still open for appending.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson

from monitoring.log.records import KINDS, hash_client_id


@dataclass(frozen=True, slots=True)
class Match:
    path: Path
    line: int  # 1-based
    request_id: str


# The kinds whose rows carry `client_ref`: predictions and the outcomes recorded for them.
ERASABLE_PREFIXES = tuple(KINDS[kind] for kind in ("prediction", "outcome"))


def _shards(dirs: list[Path]) -> list[Path]:
    return sorted(p for d in dirs for prefix in ERASABLE_PREFIXES for p in d.rglob(f"{prefix}*.jsonl"))


def find_client_rows(dirs: list[Path], client_id: str, *, salt: str) -> list[Match]:
    ref = hash_client_id(client_id, salt=salt)
    needle = f'"client_ref":"{ref}"'.encode()
    matches = []
    for path in _shards(dirs):
        for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
            if needle in line.replace(b" ", b""):
                row = orjson.loads(line)
                if row.get("client_ref") == ref:
                    matches.append(Match(path, number, str(row.get("request_id"))))
    return matches


def erase(matches: list[Match]) -> int:
    """Rewrite every affected shard without the matched lines; return the number of rows removed."""
    removed = 0
    for path in sorted({m.path for m in matches}):
        drop = {m.line for m in matches if m.path == path}
        lines = path.read_bytes().split(b"\n")
        kept = [line for number, line in enumerate(lines, start=1) if number not in drop]
        mode = path.stat().st_mode
        tmp = path.with_name(path.name + ".erasing")
        tmp.write_bytes(b"\n".join(kept))
        os.chmod(tmp, stat.S_IMODE(mode))  # history copies stay read-only
        os.replace(tmp, path)
        removed += len(drop)
    return removed


def _settings_salt() -> str | None:
    """The salt the service hashes with: read through the one settings object, like the service does."""
    from service.settings import Settings

    salt = Settings().log_id_salt
    return salt.get_secret_value() if salt else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--log-dir", action="append", type=Path, required=True)
    parser.add_argument("--salt", default=None, help="default: LOG_ID_SALT from the service settings")
    parser.add_argument("--delete", action="store_true", help="rewrite the shards without the client's rows")
    args = parser.parse_args(argv)
    if args.salt is None:
        args.salt = _settings_salt()
    if not args.salt:
        print("LOG_ID_SALT is not set: without it no client reference was stored, so there is nothing to find.")
        return 2
    matches = find_client_rows(args.log_dir, args.client_id, salt=args.salt)
    for match in matches:
        print(f"{match.path}:{match.line} request_id={match.request_id}")
    print(f"{len(matches)} row(s) for this client")
    if args.delete and matches:
        print(f"erased {erase(matches)} row(s); the Hub copy is replaced at the next push")
    return 0


if __name__ == "__main__":
    sys.exit(main())
