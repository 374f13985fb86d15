"""Erasure on the Hub: every data file holding a client's rows rewritten in one commit, then history squashed.

The dataset's current files are downloaded to a scratch folder, searched and rewritten with the same
code as the local folders (`monitoring.log.erasure`), and committed back at once: rewritten files
added, files left with no row deleted. Without the squash, older revisions would still hold the
rows; `super_squash_history` leaves one commit, so they are gone from every revision.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, snapshot_download

from monitoring.log.erasure import erase, find_rows, rows_by_file
from monitoring.log.records import DATA_GLOBS, is_parquet

REPO_TYPE = "dataset"


@dataclass(slots=True)
class HubErasure:
    """What the Hub held of the client (a dry run stops there) and what the commit changed."""

    rows_by_file: dict[str, int] = field(default_factory=dict)  # path in the repo -> rows of the client
    deleted_files: list[str] = field(default_factory=list)  # files left with no row at all
    commit: str | None = None
    squashed: bool = False

    @property
    def rows(self) -> int:
        return sum(self.rows_by_file.values())


def erase_on_hub(
    *,
    repo_id: str,
    token: str | None,
    ref: str,
    delete: bool,
    squash: bool = True,
    endpoint: str | None = None,
) -> HubErasure:
    """Find the client's rows (keyed hash `ref`) in the dataset; with `delete`, remove them in one commit."""
    api = HfApi(endpoint=endpoint, token=token)
    with tempfile.TemporaryDirectory(prefix="erase-") as scratch:
        root = Path(scratch)
        snapshot_download(
            repo_id,
            repo_type=REPO_TYPE,
            token=token,
            endpoint=endpoint,
            local_dir=root,
            cache_dir=root / ".cache",
            allow_patterns=list(DATA_GLOBS),
        )
        matches = find_rows([root], ref)
        report = HubErasure(rows_by_file=rows_by_file(matches, root))
        if not delete or not matches:
            return report
        erase(matches)
        operations: list[CommitOperationAdd | CommitOperationDelete] = []
        for rel in report.rows_by_file:
            path = root / rel
            if not is_parquet(path) and not path.read_bytes().strip():
                operations.append(CommitOperationDelete(path_in_repo=rel))
                report.deleted_files.append(rel)
            else:  # a compacted file stays, even empty: it still names the shards it replaced
                operations.append(CommitOperationAdd(path_or_fileobj=path.read_bytes(), path_in_repo=rel))
        info = api.create_commit(
            repo_id=repo_id,
            repo_type=REPO_TYPE,
            operations=operations,
            commit_message=f"Erasure request: {report.rows} row(s) removed from {len(report.rows_by_file)} file(s)",
        )
        report.commit = info.oid
    if squash:
        api.super_squash_history(repo_id=repo_id, repo_type=REPO_TYPE)
        report.squashed = True
    return report
