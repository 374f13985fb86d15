"""One client's rows found and removed in data files of either format (GDPR right to erasure).

Rows carry only a keyed hash of the client id (`client_ref`). A kind whose rows have no
`client_ref` but a `request_id` (an outcome recorded against a prediction) is matched through the
request ids of that client's predictions, so adding a kind to `records.KINDS` brings its rows along.
A file is rewritten under a temporary name and renamed over the original (a reader never sees half
a file); a compacted file keeps the list of shards it covers, so no erased shard comes back to life.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from monitoring.log.locks import is_live
from monitoring.log.records import DATA_GLOBS, file_schema, is_parquet, shard_kind
from scoring.errors import LogWriteError


@dataclass(frozen=True, slots=True)
class Match:
    path: Path
    line: int  # 1-based line of a JSON Lines shard, or 0-based row of a compacted file
    request_id: str


def data_files(dirs: Sequence[Path]) -> list[Path]:
    """Every data file under the folders, kinds that carry `client_ref` first (they give the request ids)."""
    found = sorted({p for d in dirs if Path(d).is_dir() for g in DATA_GLOBS for p in Path(d).glob(g)})
    return sorted(
        (p for p in found if shard_kind(p) is not None),
        key=lambda p: (not _has_client_ref(shard_kind(p) or ""), str(p)),
    )


def _has_client_ref(kind: str) -> bool:
    return "client_ref" in file_schema(kind).names


def find_rows(dirs: Sequence[Path], ref: str) -> list[Match]:
    """Rows of the client with keyed hash `ref`, in every data file under `dirs`."""
    matches: list[Match] = []
    ids: set[str] = set()
    for path in data_files([Path(d) for d in dirs]):
        by_ref = _has_client_ref(shard_kind(path) or "")
        if not by_ref and not ids:
            continue
        found = _parquet_matches(path, ref, by_ref, ids) if is_parquet(path) else _jsonl_matches(path, ref, by_ref, ids)
        if by_ref:
            ids.update(m.request_id for m in found)
        matches += found
    return matches


def _jsonl_matches(path: Path, ref: str, by_ref: bool, ids: set[str]) -> list[Match]:
    needle = f'"client_ref":"{ref}"'.encode()
    out = []
    for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not line.strip() or (by_ref and needle not in line.replace(b" ", b"")):
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        request_id = str(row.get("request_id"))
        if (by_ref and row.get("client_ref") == ref) or (not by_ref and request_id in ids):
            out.append(Match(path, number, request_id))
    return out


def _parquet_matches(path: Path, ref: str, by_ref: bool, ids: set[str]) -> list[Match]:
    table = pq.read_table(path, columns=["client_ref", "request_id"] if by_ref else ["request_id"])
    if by_ref:
        mask = pc.fill_null(pc.equal(table["client_ref"], ref), False)
    else:
        mask = pc.is_in(table["request_id"], value_set=pa.array(sorted(ids), pa.string()))
    rows = pc.indices_nonzero(mask).to_pylist()
    request_ids = table["request_id"].to_pylist()
    return [Match(path, int(i), str(request_ids[i])) for i in rows]


def erase(matches: Iterable[Match]) -> int:
    """Rewrite every affected file without the matched rows; return the number of rows removed.

    Refuses, before touching any file, when a shard is still open for appending in a running
    process: renaming over it would send that writer's next rows to a deleted file.
    """
    by_path: dict[Path, set[int]] = {}
    for match in matches:
        by_path.setdefault(match.path, set()).add(match.line)
    live = [str(path) for path in sorted(by_path) if is_live(path)]
    if live:
        raise LogWriteError(
            f"{', '.join(live)} still open for appending in a running service: retry after its next Hub "
            "push seals it (or after a restart, or on a day that is over)"
        )
    removed = 0
    for path, drop in sorted(by_path.items()):
        tmp = path.with_name(f".{path.name}.erasing")
        if is_parquet(path):
            table = pq.read_table(path)
            keep = pa.array([i not in drop for i in range(table.num_rows)])
            pq.write_table(table.filter(keep), tmp, compression="zstd", compression_level=9)  # metadata kept
        else:
            lines = path.read_bytes().split(b"\n")
            tmp.write_bytes(b"\n".join(line for number, line in enumerate(lines, start=1) if number not in drop))
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))  # history copies stay read-only
        os.replace(tmp, path)
        removed += len(drop)
    return removed


def rows_by_file(matches: Iterable[Match], root: Path | None = None) -> dict[str, int]:
    """How many matched rows each file holds, by path (relative to `root` when given)."""
    counts: dict[str, int] = {}
    for match in matches:
        name = match.path.relative_to(root).as_posix() if root else str(match.path)
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))
