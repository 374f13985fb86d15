"""Files of the Batch tab: only real uploads are read, and nothing stays on disk for long.

Gradio's own check that an input file was uploaded (`processing_utils._check_allowed`) returns early
unless `blocks.has_launched`, which `gr.mount_gradio_app` never sets: a `queue/join` call could name any
server path as a `FileData` and Gradio would copy it into its cache and hand it to the handler. The
upload route records every file it stores in `blocks.upload_file_set` (paths under the upload folder,
in a directory named by a secret-seeded hash, so one client cannot guess another's); `UploadedFile`
(`uploads_only`) refuses any other path *before* Gradio copies it, and the handler checks again.

Uploads and scored files live in Gradio's cache folder, so the Blocks' `delete_cache` sweep removes
them after a short TTL; `BatchFiles` also deletes a session's files when its browser tab closes.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.context import LocalContext
from gradio.utils import get_upload_folder

log = logging.getLogger(__name__)

NOT_UPLOADED = "This file was not uploaded to this service: upload the CSV or Parquet file with the file picker."
SCORED_FOLDER = "scored"
MAX_REMEMBERED_FILES = 512


def _uploads() -> set[str]:
    blocks = LocalContext.blocks.get(None)
    return getattr(blocks, "upload_file_set", None) or set()


def is_uploaded(path: str | Path) -> bool:
    """Whether `path` is a file the upload route stored for this app (never a path a client made up)."""
    resolved = Path(path).resolve()
    upload_root = Path(get_upload_folder()).resolve()
    if not resolved.is_relative_to(upload_root):
        return False
    known = _uploads()
    return str(path) in known or str(resolved) in known


def require_uploaded(path: str | Path) -> Path:
    """The path of an upload, or a Gradio error that says neither the path nor anything of the file."""
    if not is_uploaded(path):
        log.warning("batch input refused: not an upload of this service")
        raise gr.Error(NOT_UPLOADED, print_exception=False)
    return Path(path)


def uploads_only(component: gr.File) -> gr.File:
    """Make a `gr.File` input accept only files the upload route stored, whatever Gradio's launch state.

    Gradio hands every input file to the component's `*move_resource_to_block_cache` before the handler
    runs (copying a foreign path into its cache); the check goes first. The methods are wrapped on the
    instance, not in a subclass: Gradio writes a `.pyi` stub next to the module of any component class.
    """
    moving_async = component.async_move_resource_to_block_cache
    moving = component.move_resource_to_block_cache

    async def async_move(url_or_file_path: str | Path | None) -> str | None:
        if url_or_file_path is not None:
            require_uploaded(url_or_file_path)
        return await moving_async(url_or_file_path)

    def move(url_or_file_path: str | Path | None) -> str | None:
        if url_or_file_path is not None:
            require_uploaded(url_or_file_path)
        return moving(url_or_file_path)

    component.async_move_resource_to_block_cache = async_move  # type: ignore[method-assign]
    component.move_resource_to_block_cache = move  # type: ignore[method-assign]
    return component


class BatchFiles:
    """Where scored files are written, which session owns which files, and their deletion.

    Scored files go under Gradio's cache folder (so Gradio serves them without a second copy and its
    `delete_cache` sweep expires them); a session's upload and results are deleted when it ends, and any
    scored file older than `ttl_s` is deleted at the next run. Upload digests are remembered (bounded) so
    a re-upload of the same file can be flagged.
    """

    def __init__(self, *, ttl_s: float, root: Path | None = None):
        self.ttl_s = ttl_s
        self.root = root or Path(get_upload_folder()) / SCORED_FOLDER
        self._lock = threading.Lock()
        self._by_session: dict[str, set[Path]] = {}
        self._seen: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def scored_path(self, stem: str, *, session: str | None) -> Path:
        """A new, private path for a scored CSV, owned by `session`."""
        self.sweep()
        folder = self.root / uuid.uuid4().hex
        folder.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:60] or "upload"
        target = folder / f"scored-{safe}.csv"
        self.own(folder, session=session)
        return target

    def own(self, path: Path, *, session: str | None) -> None:
        if session:
            with self._lock:
                self._by_session.setdefault(session, set()).add(path)

    def end_session(self, session: str | None) -> int:
        """Delete every file of a session (its uploads and results); the number of paths removed."""
        with self._lock:
            paths = self._by_session.pop(session or "", set())
        for path in paths:
            _remove(path)
        return len(paths)

    def sweep(self) -> None:
        """Delete scored folders older than the TTL (a session that never closed its tab)."""
        if not self.root.is_dir():
            return
        cutoff = time.time() - self.ttl_s
        for folder in self.root.iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    _remove(folder)
            except FileNotFoundError:
                continue

    def seen_before(self, digest: str, *, batch_id: str, rows: int) -> dict[str, Any] | None:
        """The earlier run of a file with this digest (None the first time); remembers this run."""
        with self._lock:
            earlier = self._seen.pop(digest, None)
            self._seen[digest] = {"batch_id": batch_id, "rows": rows, "at": time.strftime("%H:%M:%S")}
            while len(self._seen) > MAX_REMEMBERED_FILES:
                self._seen.popitem(last=False)
        return earlier


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
