"""Compaction: the shards of past days merged into one Parquet file per day and kind.

Every push seals the shards it uploads (see `monitoring.sync.scheduler`), and every big scored table
is a Parquet file of its own (`monitoring.log.table_shard`), so a busy day leaves hundreds of files.
Once the day is over they are merged, per kind (`records.KINDS`: a new kind is compacted by adding it
there), into `date=D/<prefix>-D.parquet` (zstd):

1. parse every clean source (an existing compacted file of that day included), concatenate;
2. write the Parquet under a temporary name, read it back, check the row count and every value
   against the sources, fsync, then rename it into place (atomic);
3. only then may the sources be deleted (`remove`), after the Hub has the file when a sync runs.

A crash anywhere loses nothing and never doubles a row: before the rename the sources are intact
and the temporary file is ignored (and removed by the next run); after it, the Parquet names its
sources, so readers skip any that are still on disk and the next run only deletes them. A damaged
source (torn or unparsable lines) is left as it is, uncompacted, so no line is dropped silently.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa

from monitoring.log.locks import is_live
from monitoring.log.parquet import compacted_name, covered_sources, read_compacted, row_count, write_compacted
from monitoring.log.reader import parse_file
from monitoring.log.records import DATA_GLOBS, file_schema, partition_day, relpath, shard_kind

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DayGroup:
    """The data files of one day and kind, in every folder given (live, history)."""

    day: date
    kind: str
    copies: dict[str, list[Path]]  # relative path -> every copy of it

    @property
    def target(self) -> str:
        return compacted_name(self.kind, self.day)

    def covered(self) -> frozenset[str]:
        # a superseded copy (history, before the run that replaced it finished) names a subset
        return frozenset().union(*(covered_sources(p) for p in self.copies.get(self.target, [])))

    def pending_sources(self) -> list[str]:
        """Shards (JSON Lines and table shards) that no compacted file holds yet, in name order."""
        covered = self.covered()
        return sorted(r for r in self.copies if r != self.target and r not in covered)


@dataclass(slots=True)
class Compacted:
    """What one day and kind became: the Parquet file, the rows and bytes on each side, what is obsolete."""

    day: date
    kind: str
    rel: str
    path: Path
    rows: int
    source_bytes: int
    parquet_bytes: int
    sources: list[str]  # every shard the file holds (what the Hub commit deletes)
    obsolete: list[Path] = field(default_factory=list)  # local copies to delete once it is safe
    skipped: list[str] = field(default_factory=list)  # damaged shards left uncompacted

    @property
    def changed(self) -> bool:
        """Whether this run wrote the file or has leftovers to delete (else the day was already done)."""
        return bool(self.source_bytes or self.obsolete)


def day_groups(roots: Sequence[Path], *, before: date, skip: Iterable[Path] = ()) -> list[DayGroup]:
    """Every (day, kind) strictly before `before` that has data files; `skip` and live shards left out.

    A late row of a past day (a batch across midnight) opens a new shard of that day; while its
    writer holds it, it stays JSON Lines beside the Parquet (readers read both) for the next run.
    """
    skipped = {Path(p) for p in skip}
    groups: dict[tuple[date, str], dict[str, list[Path]]] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for pattern in DATA_GLOBS:
            for path in root.glob(pattern):
                day, kind = partition_day(path), shard_kind(path)
                if day is None or kind is None or day >= before or path in skipped or is_live(path):
                    continue  # a shard another process still appends to waits for the next run
                groups.setdefault((day, kind), {}).setdefault(relpath(path, root), []).append(path)
        _remove_stale_temporaries(root)
    return [DayGroup(day, kind, copies) for (day, kind), copies in sorted(groups.items())]


def compact_group(group: DayGroup, *, out_root: Path) -> Compacted | None:
    """Merge the group's pending shards into its Parquet under `out_root`; None when nothing is pending.

    Never deletes anything: `Compacted.obsolete` lists what `remove` may delete once the caller says
    it is safe (no sync, or the Hub commit went through). A group whose shards are already all
    covered (a crash after a rename) returns the existing file with only the leftovers as obsolete.
    """
    existing = group.copies.get(group.target, [])
    pending = group.pending_sources()
    tables, sources, skipped, source_bytes = [], set(group.covered()), [], 0
    clean = []
    for rel in pending:
        path = _largest(group.copies[rel])
        parsed = parse_file(path, group.kind)
        if parsed.bad or parsed.torn:
            logger.warning("compaction: %s has damaged lines, left uncompacted", path)
            skipped.append(rel)
            continue
        clean.append(rel)
        tables.append(parsed.table)
        source_bytes += path.stat().st_size
    target = out_root / group.target
    if clean:
        if existing:
            tables.insert(0, parse_file(_largest(existing), group.kind).table)
        sources.update(clean)
        merged = pa.concat_tables(tables)
        _write_verified(target, merged, kind=group.kind, sources=sources)
    elif not existing:
        return None
    else:
        target = _largest(existing)
    obsolete = [p for rel in sorted(sources) for p in group.copies.get(rel, [])]
    obsolete += [p for p in existing if p != target]  # an older compacted copy (history) superseded
    return Compacted(
        day=group.day,
        kind=group.kind,
        rel=group.target,
        path=target,
        rows=row_count(target),
        source_bytes=source_bytes,
        parquet_bytes=target.stat().st_size,
        sources=sorted(sources),
        obsolete=obsolete,
        skipped=skipped,
    )


def _write_verified(target: Path, table: pa.Table, *, kind: str, sources: Iterable[str]) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    write_compacted(tmp, table, kind=kind, sources=sources)
    back = read_compacted(tmp, file_schema(kind, tolerant=True))
    if back.num_rows != table.num_rows or not back.equals(table.cast(back.schema)):
        tmp.unlink(missing_ok=True)
        raise ValueError(f"compaction of {target.name}: the Parquet does not read back as its sources")
    if target.exists() and not os.access(target, os.W_OK):
        os.chmod(target, 0o644)  # a history copy is read-only; replacing it is this job's purpose
    os.replace(tmp, target)


def remove(paths: Iterable[Path]) -> int:
    """Delete obsolete sources (history copies are read-only files in writable folders); return how many."""
    removed = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
        with contextlib.suppress(OSError):
            path.parent.rmdir()
    return removed


def compact_local(roots: Sequence[Path], *, out_root: Path, before: date, skip: Iterable[Path] = ()) -> list[Compacted]:
    """Compact and delete the sources right away: for a log that is not synced to the Hub."""
    done = []
    for group in day_groups(roots, before=before, skip=skip):
        result = compact_group(group, out_root=out_root)
        if result is not None and result.changed:
            remove(result.obsolete)
            done.append(result)
    return done


def _largest(paths: Sequence[Path]) -> Path:
    return max(paths, key=lambda p: p.stat().st_size)


def _remove_stale_temporaries(root: Path) -> None:
    for tmp in root.glob("date=*/.*.parquet.tmp"):  # a crash before the rename: the sources are intact
        tmp.unlink(missing_ok=True)
