"""The gate with registry URIs: a registered challenger is promoted into model/ and the `champion` alias
moves to it; the rollback puts back both the exact model/ bytes and the alias."""

from __future__ import annotations

import json
import shutil

import pytest

from scoring.promote.cli import main
from scoring.promote.sides import folder_hashes
from scoring.registry import resolve_model, version_for_alias

pytestmark = pytest.mark.slow  # uses the session's registry of two tiny trained models

# The judgement itself is tested in test_promote.py; here any candidate may pass.
LENIENT = ["--auc-tolerance", "1", "--cost-tolerance", "1000", "--gap-tolerance", "1", "--brier-tolerance", "1"]


def test_registry_candidate_moves_the_alias_and_rollback_moves_it_back(registry, tmp_path, capsys):
    store = registry.copy(tmp_path / "store")
    champion = resolve_model("models:/credit-scoring@champion", tracking_uri=store.tracking_uri, cache_dir=tmp_path)
    challenger = resolve_model("models:/credit-scoring@challenger", tracking_uri=store.tracking_uri, cache_dir=tmp_path)
    shutil.copytree(champion.path, tmp_path / "model")
    before = folder_hashes(tmp_path / "model")
    common = ["--model-dir", str(tmp_path / "model"), "--records", str(tmp_path / "records")]
    common += ["--tracking-uri", store.tracking_uri, "--holdout-rows", "3000"]

    import mlflow

    uris = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    assert main([*common, "--candidate", "models:/credit-scoring@challenger", *LENIENT]) == 0
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == uris  # the process' MLflow left as it was
    assert version_for_alias("credit-scoring", "champion", tracking_uri=store.tracking_uri) == int(challenger.version)
    assert folder_hashes(tmp_path / "model") == folder_hashes(challenger.path)
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "records").glob("*.json")]
    assert record["candidate"]["registry"] == {
        "name": "credit-scoring",
        "version": int(challenger.version),
        "alias": "challenger",
    }
    assert record["parity"]["pyfunc_uri"] == f"models:/credit-scoring/{challenger.version}"
    assert record["parity"]["max_abs_difference"] <= 1e-9
    assert record["changes"]["champion_alias"] == f"credit-scoring@champion -> version {challenger.version}"

    assert main([*common, "--rollback"]) == 0
    assert folder_hashes(tmp_path / "model") == before
    assert version_for_alias("credit-scoring", "champion", tracking_uri=store.tracking_uri) == int(champion.version)
    capsys.readouterr()
    assert main([*common, "--rollback"]) == 2
    assert "nothing to roll back" in capsys.readouterr().err
