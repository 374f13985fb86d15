"""Models from the MLflow registry: URIs resolved to the service folder a training run logged.

Against the session's sqlite store (tests/conftest.py `registry`: v1 @champion, v2 @challenger).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.errors import ModelLoadError
from scoring.model import load_model
from scoring.registry import (
    ResolvedModel,
    export_version,
    parse_uri,
    resolve_model,
    set_alias,
    version_for_alias,
)
from tests.factories import MODEL_DIR, ROOT, RegistryStore


def _resolve(store: RegistryStore, uri: str) -> ResolvedModel:
    return resolve_model(uri, tracking_uri=store.tracking_uri, cache_dir=store.cache_dir)


def test_a_folder_resolves_to_itself_without_mlflow() -> None:
    resolved = resolve_model(MODEL_DIR, tracking_uri="sqlite:////nonexistent/never-opened.db", cache_dir="unused")
    assert resolved.path == MODEL_DIR and resolved.version is None and resolved.alias is None
    assert resolved.as_dict() == {"uri": "model", "name": None, "version": None, "alias": None}


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/credit-scoring@champion", ("credit-scoring", "champion", None)),
        ("models:/credit-scoring/12", ("credit-scoring", None, "12")),
    ],
)
def test_registry_uris_parse(uri: str, expected: tuple[str, str | None, str | None]) -> None:
    assert parse_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    ["models:/credit-scoring", "models:/credit-scoring/latest", "models:/@x", "models:/..@champion", "models:/./3"],
)
def test_a_malformed_uri_is_a_load_error(uri: str) -> None:
    with pytest.raises(ModelLoadError, match="not a registry URI"):
        parse_uri(uri)


def test_an_alias_resolves_to_its_versions_service_folder(registry: RegistryStore) -> None:
    resolved = _resolve(registry, "models:/credit-scoring@champion")
    assert (resolved.name, resolved.version, resolved.alias) == ("credit-scoring", "1", "champion")
    exported = registry.root / "model-champion-5"
    for name in ("model.lgb", "metadata.json", "reference.parquet", "MLmodel", "README.md"):
        assert (resolved.path / name).read_bytes() == (exported / name).read_bytes(), name
    model = load_model(resolved.path)
    assert model.metadata["mlflow"]["registered_version"] == 1
    assert model.metadata["mlflow"]["alias"] == "champion"


def test_versions_by_number_and_by_alias_agree(registry: RegistryStore) -> None:
    by_alias = load_model(_resolve(registry, "models:/credit-scoring@challenger").path)
    by_number = load_model(_resolve(registry, "models:/credit-scoring/2").path)
    champion = load_model(_resolve(registry, "models:/credit-scoring/1").path)
    assert by_alias.version == by_number.version != champion.version
    assert by_number.metadata["mlflow"]["alias"] == "challenger"


def test_a_resolved_version_is_downloaded_once(registry: RegistryStore) -> None:
    first = _resolve(registry, "models:/credit-scoring/1")
    stamp = (first.path / "model.lgb").stat().st_mtime_ns
    again = _resolve(registry, "models:/credit-scoring@champion")
    assert again.path == first.path and (again.path / "model.lgb").stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("models:/credit-scoring@nope", "no alias 'nope'"),
        ("models:/credit-scoring/99", "no version 99"),
        ("models:/other-model@champion", "no alias 'champion' of model 'other-model'"),
    ],
)
def test_a_missing_alias_or_version_is_a_load_error(registry: RegistryStore, uri: str, reason: str) -> None:
    with pytest.raises(ModelLoadError, match=reason):
        _resolve(registry, uri)


def test_an_unreachable_store_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")  # so the database can be neither opened nor created
    with pytest.raises(ModelLoadError, match="registry could not be"):
        resolve_model(
            "models:/credit-scoring@champion",
            tracking_uri=f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}",
            cache_dir=tmp_path / "cache",
        )


def test_aliases_move_and_a_version_exports_to_a_model_folder(registry: RegistryStore, tmp_path: Path) -> None:
    store = registry.copy(tmp_path / "store")
    assert version_for_alias("credit-scoring", "champion", tracking_uri=store.tracking_uri) == 1
    assert version_for_alias("credit-scoring", "previous", tracking_uri=store.tracking_uri) is None
    set_alias("credit-scoring", "champion", 2, tracking_uri=store.tracking_uri)
    assert version_for_alias("credit-scoring", "champion", tracking_uri=store.tracking_uri) == 2
    assert version_for_alias("credit-scoring", "champion", tracking_uri=registry.tracking_uri) == 1  # untouched

    dest = tmp_path / "model"
    dest.mkdir()
    (dest / "stale.txt").write_text("from the previous model")
    source = export_version(
        "models:/credit-scoring@champion", dest, tracking_uri=store.tracking_uri, cache_dir=store.cache_dir
    )
    assert source.version == "2" and not (dest / "stale.txt").exists()
    assert (dest / "model.lgb").read_bytes() == (registry.root / "model-challenger-6" / "model.lgb").read_bytes()
    assert load_model(dest).version == load_model(registry.root / "model-challenger-6").version
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "store"]  # no staging folder left behind


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    full = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PORT": "1",
        "PREDICTION_LOG_DIR": str(tmp_path / "log"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "OPEN_DEMO": "1",
        **env,
    }
    return subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_service_refuses_to_start_on_a_missing_alias(registry: RegistryStore, tmp_path: Path) -> None:
    """Exit 2 and one log line naming the alias: no traceback, nothing served."""
    env = {"MLFLOW_TRACKING_URI": registry.tracking_uri, "MODEL_CACHE_DIR": str(tmp_path / "cache")}
    completed = _start(env | {"MODEL_URI": "models:/credit-scoring@retired"}, tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output[-2000:]
    refusals = [line for line in output.splitlines() if "cannot start" in line]
    assert len(refusals) == 1 and "no alias 'retired'" in refusals[0], output[-2000:]
    assert "Traceback" not in output


@pytest.mark.parametrize("case", ["missing alias", "corrupt folder"])
def test_a_challenger_that_does_not_load_stops_the_start(registry: RegistryStore, tmp_path: Path, case: str) -> None:
    """The champion's refusal for CHALLENGER_URI too (main() turns this ModelLoadError into exit 2), before
    any log is opened: a broken challenger is found at deploy time, never by the requests."""
    from app import build_app
    from service.settings import Settings

    if case == "corrupt folder":
        uri = str(shutil.copytree(MODEL_DIR, tmp_path / "corrupt"))
        (tmp_path / "corrupt" / "model.lgb").write_bytes(b"tree\nversion=v4\nnot a booster\n")
        reason = "challenger .*corrupt: MLflow could not load"
    else:
        uri, reason = (
            "models:/credit-scoring@retired",
            "challenger models:/credit-scoring@retired: the registry has no alias",
        )
    settings = Settings(
        model_uri=str(MODEL_DIR),
        challenger_uri=uri,
        mlflow_tracking_uri=registry.tracking_uri,
        model_cache_dir=tmp_path / "cache",
        prediction_log_dir=tmp_path / "log",
    )
    with pytest.raises(ModelLoadError, match=reason):
        build_app(settings)
    assert not (tmp_path / "log").exists()
