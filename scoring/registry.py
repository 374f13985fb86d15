"""Where a model comes from: a folder, or a version of the MLflow model registry.

    model                                   a folder in the `model/` format (as committed)
    models:/credit-scoring@champion         the version an alias points at
    models:/credit-scoring/7                a version by number

A registered version carries the whole service folder (`model.lgb`, `metadata.json`,
`reference.parquet`, the card) as the run artifact `service_model/` beside the MLflow model, logged by
`python -m scoring.train`. Resolving a registry URI downloads that folder once into a cache and
returns its path; `scoring.model.load_model` then loads it like any folder. MLflow is imported only
when a registry URI is resolved: a folder costs nothing.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scoring.errors import ModelLoadError
from scoring.model import METADATA_FILE

SERVICE_ARTIFACT = "service_model"  # the run artifact holding a version's service folder
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w\-]+)|/(?P<version>\d+))$")


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model URI made concrete: the folder to load, and which registered version it is (None for a folder)."""

    path: Path
    uri: str
    name: str | None = None
    version: str | None = None
    alias: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For /readyz and /api/v1/model: no local path (they are shown to callers), a folder by its name."""
        out = asdict(self)
        out.pop("path")
        if not is_registry_uri(self.uri):
            out["uri"] = Path(self.uri).name or self.uri
        return out


def is_registry_uri(uri: str) -> bool:
    return str(uri).startswith("models:/")


def parse_uri(uri: str) -> tuple[str, str | None, str | None]:
    """(name, alias, version) of `models:/name@alias` or `models:/name/N`; ModelLoadError otherwise."""
    match = _URI.match(uri.strip())
    # the name becomes a folder of the download cache (cache_dir/NAME/VERSION): "." or ".." would leave it
    if match is None or match["name"] in (".", "..") or "\\" in match["name"] or "\0" in match["name"]:
        raise ModelLoadError(f"{uri!r} is not a registry URI (models:/NAME@ALIAS or models:/NAME/VERSION)")
    return match["name"], match["alias"], match["version"]


def _client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _version(tracking_uri: str, *, name: str, alias: str | None, version: str | None) -> Any:
    """The registry's ModelVersion; ModelLoadError naming what is missing or why the store failed."""
    from mlflow.exceptions import MlflowException

    try:
        client = _client(tracking_uri)
        if alias is not None:
            return client.get_model_version_by_alias(name, alias)
        return client.get_model_version(name, version)
    except MlflowException as exc:
        what = f"alias {alias!r}" if alias is not None else f"version {version}"
        code = getattr(exc, "error_code", "")
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise ModelLoadError(f"the registry has no {what} of model {name!r}") from exc
        raise ModelLoadError(f"the model registry could not be read ({what} of {name!r}): {exc}") from exc
    except Exception as exc:  # an unreachable or corrupt store raises whatever its driver raises
        raise ModelLoadError(f"the model registry could not be reached: {type(exc).__name__}: {exc}") from exc


def resolve_model(uri: str | Path, *, tracking_uri: str, cache_dir: str | Path) -> ResolvedModel:
    """The folder `uri` names: itself for a folder; for a registry URI, the version's service folder,
    downloaded once into `cache_dir/<name>/<version>` (a version's artifacts never change)."""
    uri = str(uri)
    if not is_registry_uri(uri):
        return ResolvedModel(path=Path(uri), uri=uri)
    name, alias, number = parse_uri(uri)
    found = _version(tracking_uri, name=name, alias=alias, version=number)
    folder = Path(cache_dir) / name / str(found.version)
    if not (folder / METADATA_FILE).is_file():
        _download(found, folder, tracking_uri=tracking_uri)
    return ResolvedModel(path=folder, uri=uri, name=name, version=str(found.version), alias=alias)


def _download(found: Any, folder: Path, *, tracking_uri: str) -> None:
    """The version's `service_model/` artifact into `folder`, whole or not at all."""
    import mlflow.artifacts

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=folder.parent))
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=found.run_id, artifact_path=SERVICE_ARTIFACT, dst_path=str(staging), tracking_uri=tracking_uri
        )
        if not (Path(local) / METADATA_FILE).is_file():
            raise ModelLoadError(f"version {found.version} has no {SERVICE_ARTIFACT}/{METADATA_FILE}")
        shutil.rmtree(folder, ignore_errors=True)
        Path(local).rename(folder)
    except ModelLoadError:
        raise
    except Exception as exc:  # MLflow raises its own and OS errors for a missing or unreadable artifact
        raise ModelLoadError(
            f"version {found.version} of {found.name!r} has no service folder ({SERVICE_ARTIFACT}/): {exc}"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def version_for_alias(name: str, alias: str, *, tracking_uri: str) -> int | None:
    """The version number `alias` points at, or None when the alias is not set."""
    from mlflow.exceptions import MlflowException

    try:
        return int(_client(tracking_uri).get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def set_alias(name: str, alias: str, version: int | str, *, tracking_uri: str) -> None:
    """Point `alias` of model `name` at `version` (moving it if it pointed elsewhere)."""
    _client(tracking_uri).set_registered_model_alias(name, alias, str(version))


def delete_alias(name: str, alias: str, *, tracking_uri: str) -> None:
    """Remove `alias` (no error when it was not set)."""
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException):
        _client(tracking_uri).delete_registered_model_alias(name, alias)


def export_version(uri: str, dest: str | Path, *, tracking_uri: str, cache_dir: str | Path) -> ResolvedModel:
    """Copy the service folder `uri` names into `dest` (the `model/` format), swapped in whole.

    Returns the resolved source; `dest` is replaced only once the copy is complete.
    """
    resolved = resolve_model(uri, tracking_uri=tracking_uri, cache_dir=cache_dir)
    replace_folder(resolved.path, Path(dest))
    return resolved


def replace_folder(source: Path, dest: Path) -> None:
    """Copy `source` beside `dest`, then rename it into place: `dest` is never half written."""
    dest = dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        copied = staging / "new"
        shutil.copytree(source, copied)
        if dest.exists():
            dest.rename(staging / "old")
        copied.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
