"""The model-lifecycle drill, end to end (issue 17): drifted traffic with outcomes -> the realized-cost
alert -> a retrain from the log -> the gate -> promotion -> the service restarted on the new model.

Everything is the real thing: the training CLI (in process, tiny settings), the service as a child
process on a free port, `monitoring.simulate` over REST, the monitoring report's analysis, the
promotion gate's CLI, a sqlite MLflow store in the test's folder whose registry the gate and the last
restart (`MODEL_URI=models:/credit-scoring@champion`) go through. docs/model-lifecycle.md walks
through the same steps by hand.

Sizes: the champion learns from 20,000 synthetic rows (on fewer, two trainings differ by more than
the gate's production tolerances from noise alone); 2,000 applications of `bureau_inflation` give
the realized-cost alert enough approved loans to be beyond chance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server import Server, start_test_server

pytestmark = [pytest.mark.slow, pytest.mark.server]

ROWS, SEED, TRAFFIC, LATER = 20_000, 1, 2_000, 1_000
TINY = ["--rows", str(ROWS), "--seed", str(SEED), "--folds", "2", "--threads", "1"]
# The one margin the drill widens, stated in the decision record with the others. The champion approves
# nearly everyone once the bureau scores are inflated, so its approval gap between age bands on production
# is narrow by accident (0.09); the retrain refuses the risky again and widens it to 0.19 (0.37 -> 0.40 on
# the holdout). At the default 0.01 the gate refuses it for that; docs/model-lifecycle.md says why the
# drill promotes anyway, and that a real promotion in that situation is a person's decision.
DRILL_MARGINS = ["--gap-tolerance", "0.15"]


def train(*flags: str) -> dict[str, Any]:
    from scoring.train import cli

    return cli.main([*TINY, *flags])


def served_version(server: Server) -> tuple[str, str]:
    ready = httpx.get(server.url + "/readyz", timeout=10).json()
    card = httpx.get(server.url + "/api/v1/model", timeout=10).json()
    return ready["model_version"], card["model_version"]


def analysis(log_dir: Path, model_dir: Path) -> Any:
    """What the Monitoring tab and `python -m monitoring.report` compute on the log."""
    from monitoring.alerts.outcomes import OutcomeRules
    from monitoring.drift.chunking import Chunking
    from monitoring.report import analyse

    return analyse([log_dir], model_dir, Chunking(), rules=OutcomeRules())


def gate(tmp: Path, *, candidate: str, log_dir: Path, uri: str) -> tuple[int, dict[str, Any]]:
    from scoring.promote.cli import main as promote

    records = tmp / "records"
    flags = f"--candidate {candidate} --model-dir {tmp / 'model'} --log {log_dir} --records {records}"
    code = promote([*flags.split(), "--tracking-uri", uri, *DRILL_MARGINS])
    (record,) = sorted(records.glob("*.json"))
    return code, json.loads(record.read_text(encoding="utf-8"))


def assert_shadowed(log_dir: Path, challenger_dir: Path, *, version: str) -> None:
    """The shadow rows carry the challenger's own probabilities (offline re-score, 1e-9) and version,
    for (nearly) every request served while it was configured, and for none before."""
    import numpy as np

    from monitoring.log.reader import read_log
    from scoring.features import build_features, encode_frame
    from scoring.model import load_model

    logged = read_log([log_dir]).predictions
    first, later = logged.iloc[:TRAFFIC], logged.iloc[TRAFFIC:]
    assert first["challenger_version"].isna().all()
    scored = later[later["challenger_version"].notna()]
    assert len(scored) >= 0.9 * LATER and set(scored["challenger_version"]) == {version}  # drops are allowed, counted
    offline = load_model(challenger_dir).predict(build_features(encode_frame(scored)))
    np.testing.assert_allclose(scored["challenger_probability"].to_numpy(float), offline, rtol=0, atol=1e-9)


def test_drift_alert_retrain_gate_promote_restart(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from monitoring.drift.kpis import kpis
    from monitoring.log.reader import read_log
    from monitoring.simulate import simulate

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run = tmp_path / "service"  # one service folder: every restart writes to the same log
    log_dir = run / "predictions"
    champion = train("--model-dir", str(tmp_path / "model"), "--tracking-uri", uri)

    # 1. drifted traffic through the real service, then the outcome of every approved loan
    server = start_test_server(run, env={"MODEL_DIR": str(tmp_path / "model")})
    try:
        assert served_version(server) == (champion["model_version"],) * 2
        traffic = simulate(
            server.url, n=TRAFFIC, scenario="bureau_inflation", seed=SEED, progress=False, outcomes_after=0
        )
    finally:
        server.stop()
    assert traffic.ok == TRAFFIC and traffic.outcomes["recorded"] > 1_000, traffic.lines()

    # 2. the monitoring says the realized cost is up: retrain
    alerts = {a["kind"]: a for a in analysis(log_dir, tmp_path / "model").alerts}
    assert alerts["realized_cost"]["severity"] == "critical" and "retrain" in alerts["realized_cost"]["check"]

    # 3. retrain on the original data plus the labelled log rows: a challenger, the champion untouched
    challenger = train("--from-log", str(log_dir), "--model-dir", str(tmp_path / "challenger"), "--tracking-uri", uri)
    client = MlflowClient(tracking_uri=uri)
    assert int(client.get_model_version_by_alias("credit-scoring", "challenger").version) == 2
    assert int(client.get_model_version_by_alias("credit-scoring", "champion").version) == 1
    assert challenger["data"]["production"]["production_rows"] == traffic.outcomes["recorded"]
    assert json.loads((tmp_path / "model" / "metadata.json").read_text())["model_version"] == champion["model_version"]

    # 4. the challenger in shadow on more drifted traffic, then its outcomes: rows it never learnt from
    shadow = {"CHALLENGER_URI": "models:/credit-scoring@challenger", "MLFLOW_TRACKING_URI": uri}
    server = start_test_server(
        run, env={"MODEL_DIR": str(tmp_path / "model"), "MODEL_CACHE_DIR": str(tmp_path / "cache"), **shadow}
    )
    try:
        later = simulate(
            server.url, n=LATER, scenario="bureau_inflation", seed=SEED + 1, progress=False, outcomes_after=0
        )
    finally:
        server.stop()  # the shadow queue drains before the process ends
    assert later.ok == LATER and later.outcomes["recorded"] > 500, later.lines()
    assert_shadowed(log_dir, tmp_path / "challenger", version=challenger["model_version"])

    # 5. the gate judges the challenger against the champion on the holdout and on the unseen rows
    code, record = gate(tmp_path, candidate="models:/credit-scoring@challenger", log_dir=log_dir, uri=uri)
    checks = {c["name"]: c for c in record["checks"]}
    assert code == 0 and record["decision"] == "pass", [(n, c["champion"], c["candidate"]) for n, c in checks.items()]
    production = next(d for d in record["data"] if d["name"] == "production")
    assert production["labelled"] == later.outcomes["recorded"]  # the retrain's own rows are not judged on
    cost = checks["production:business_cost_per_1000"]
    assert cost["status"] == "pass" and cost["candidate"] < cost["champion"]  # why it is worth promoting
    promoted = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert promoted["model_version"] == challenger["model_version"] != champion["model_version"]
    assert int(client.get_model_version_by_alias("credit-scoring", "champion").version) == 2

    # 6. the service restarted on the champion alias serves the new version, and the log shows the change
    registry = {"MODEL_URI": "models:/credit-scoring@champion", "MLFLOW_TRACKING_URI": uri}
    server = start_test_server(run, env={**registry, "MODEL_CACHE_DIR": str(tmp_path / "cache")})
    try:
        assert served_version(server) == (challenger["model_version"],) * 2
        source = httpx.get(server.url + "/api/v1/model", timeout=10).json()["source"]
        assert (source["alias"], str(source["version"])) == ("champion", "2")
        after = simulate(server.url, n=50, scenario="bureau_inflation", seed=SEED + 2, progress=False)
    finally:
        server.stop()
    assert after.ok == 50
    logged = read_log([log_dir]).predictions
    versions = logged["model_version"].value_counts().to_dict()
    assert versions == {champion["model_version"]: TRAFFIC + LATER, challenger["model_version"]: 50}
    # the Monitoring tab's headline cards list the versions of the window
    assert kpis(logged)["model_versions"] == sorted([champion["model_version"], challenger["model_version"]])
