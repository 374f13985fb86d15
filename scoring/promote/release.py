"""Putting a model into `model/` and taking it back out: the swap, and the history that makes rollback exact.

`model/` is replaced whole. The candidate is copied beside it first (a hidden folder in the same parent,
so the final step is a rename on one file system), its bytes checked against the candidate's, then the
current `model/` is renamed into the history and the copy renamed into `model/`. The history
(`models_history/` beside `model/` by default) is a stack: one entry per promotion, each the replaced
`model/` exactly as it was plus `entry.json` (its version, registry version, file hashes). A rollback
pops the newest entry back into `model/`; the model it replaces goes to `models_history/rolled-back/`,
so no model is ever deleted. The history stays out of git (.gitignore) and of the image (.dockerignore,
and scripts/deploy_space.py ships only `model/`): what is released is what `model/` holds.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scoring.promote.sides import folder_hashes

ENTRY_FILE = "entry.json"
ROLLED_BACK = "rolled-back"


class NothingToRollBack(Exception):
    """The history holds no previous champion."""


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def entries(history: Path) -> list[Path]:
    """History entries, oldest first (their names start with a sortable sequence number)."""
    if not history.is_dir():
        return []
    return sorted(p for p in history.iterdir() if p.is_dir() and (p / ENTRY_FILE).is_file())


def latest_entry(history: Path) -> dict[str, Any] | None:
    found = entries(history)
    return json.loads((found[-1] / ENTRY_FILE).read_text(encoding="utf-8")) if found else None


def _copy_beside(source: Path, model_dir: Path) -> Path:
    """`source` copied into a fresh hidden folder next to `model_dir`; the copy's path."""
    staging = Path(tempfile.mkdtemp(prefix=".model-", dir=model_dir.resolve().parent))
    copy = staging / "model"
    shutil.copytree(source, copy)
    if folder_hashes(copy) != folder_hashes(source):
        shutil.rmtree(staging, ignore_errors=True)
        raise OSError(f"the copy of {source} differs from it")
    return copy


def install(candidate: Path, model_dir: Path, *, history: Path, replaced: dict[str, Any]) -> dict[str, Any]:
    """Make `candidate` the content of `model_dir`, keeping the current one as the newest history entry.

    `replaced` describes the current model (version, registry); it is stored with it for the rollback.
    Returns the history entry written.
    """
    if not model_dir.is_dir():
        raise FileNotFoundError(f"no {model_dir} to replace: export the first model with python -m scoring.train")
    copy = _copy_beside(candidate, model_dir)
    history.mkdir(parents=True, exist_ok=True)
    number = len(entries(history)) + 1
    slot = history / f"{number:04d}-{replaced['model_version']}"
    slot.mkdir()
    entry = {**replaced, "files": folder_hashes(model_dir), "replaced_at": _stamp(), "slot": slot.name}
    model_dir.rename(slot / "model")
    (slot / ENTRY_FILE).write_text(json.dumps(entry, indent=2), encoding="utf-8")  # marks the slot complete
    copy.rename(model_dir)
    shutil.rmtree(copy.parent, ignore_errors=True)
    return entry


def restore(model_dir: Path, *, history: Path) -> dict[str, Any]:
    """Put the newest history entry back into `model_dir`; the current model goes to rolled-back/.

    Raises NothingToRollBack when the history is empty, OSError when the entry's bytes do not match
    the hashes recorded when it was stored (nothing is changed then).
    """
    found = entries(history)
    if not found:
        raise NothingToRollBack(f"nothing to roll back: {history} holds no previous champion")
    slot = found[-1]
    entry = json.loads((slot / ENTRY_FILE).read_text(encoding="utf-8"))
    if folder_hashes(slot / "model") != entry["files"]:
        raise OSError(f"{slot / 'model'} no longer has the bytes recorded when it was stored")
    parked = history / ROLLED_BACK / f"{_stamp()}"
    parked.mkdir(parents=True)
    if model_dir.exists():
        model_dir.rename(parked / "model")
    (slot / "model").rename(model_dir)
    (slot / ENTRY_FILE).rename(parked / f"restored-{ENTRY_FILE}")
    slot.rmdir()
    return entry
