"""The two models a gate compares: where each came from, its bytes, and the loaded model.

A side is a model/-format folder (the committed `model/`, an exported challenger) or a registry URI
(`models:/credit-scoring@challenger`, `models:/credit-scoring/3`) that `scoring.registry` resolves to
such a folder. Its identity is what a decision record names: the URI as given, the version in its
metadata, the registry version when there is one, and the sha256 of every file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.errors import ModelLoadError
from scoring.model import METADATA_FILE, REFERENCE_FILE, ScoringModel, load_model

REGISTRY_PREFIX = "models:/"
BOOSTER_FILE = "model.lgb"
# What a folder must hold to become `model/`: the service loads the first three, and the monitoring's
# drift analysis reads its reference rows from the fourth (a model/ without it loads, but every analysis fails).
RELEASE_FILES = ("MLmodel", METADATA_FILE, BOOSTER_FILE, REFERENCE_FILE)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path: what 'the exact same bytes' means here."""
    return {str(p.relative_to(folder)): file_sha256(p) for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@dataclass(frozen=True, slots=True)
class Side:
    """One model of the comparison, loaded once."""

    role: str  # "champion" or "candidate"
    uri: str
    path: Path
    model: ScoringModel
    registry: dict[str, Any] | None = None  # name, version, alias of a registered model

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def pyfunc_uri(self) -> str:
        """What `mlflow.pyfunc` loads to cross-check the served predictions: the registered model
        version itself when the side came from the registry, else the folder (an MLflow model too)."""
        if self.registry is not None:
            return f"{REGISTRY_PREFIX}{self.registry['name']}/{self.registry['version']}"
        return str(self.path)

    def identity(self) -> dict[str, Any]:
        files = folder_hashes(self.path)
        return {
            "uri": self.uri,
            "path": str(self.path),
            "model_version": self.version,
            "registry": self.registry,
            "sha256_model_lgb": files.get(BOOSTER_FILE),
            "threshold": self.model.threshold,
            "trained_on": self.model.metadata.get("data", {}),
            "files": files,
        }


def resolve(uri: str, *, tracking_uri: str | None, cache_dir: Path) -> tuple[Path, dict[str, Any] | None]:
    """A folder as it is, or a registry URI downloaded to a model/-format folder under `cache_dir`."""
    if not uri.startswith(REGISTRY_PREFIX):
        return Path(uri), None
    from scoring.registry import resolve_model

    resolved = resolve_model(uri, tracking_uri=tracking_uri, cache_dir=cache_dir)
    registry = {"name": resolved.name, "version": int(resolved.version), "alias": resolved.alias}
    return Path(resolved.path), registry


def open_side(role: str, uri: str, *, tracking_uri: str | None, cache_dir: Path, needs: tuple[str, ...] = ()) -> Side:
    """Resolve and load one side; ModelLoadError names the side and the reason (`needs`: files it must hold)."""
    try:
        path, registry = resolve(uri, tracking_uri=tracking_uri, cache_dir=cache_dir)
        missing = [name for name in needs if not (path / name).is_file()]
        if missing:
            raise ModelLoadError(f"{path} lacks {', '.join(missing)}: it cannot become model/")
        model = load_model(path)  # the runtime the service uses
    except ModelLoadError as exc:
        raise ModelLoadError(f"{role} {uri}: {exc}") from exc
    return Side(role=role, uri=uri, path=path, model=model, registry=registry)
