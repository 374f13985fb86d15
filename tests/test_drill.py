"""The model-lifecycle drill, end to end (issue 17): drifted traffic with outcomes -> the realized-cost
alert -> a retrain from the log -> the gate -> promotion -> the service restarted on the new model.

Everything is the real thing: the training CLI (in process, tiny settings), the service as a child
process on a free port, `monitoring.simulate` over REST, the monitoring report's analysis, the
promotion gate's CLI, a sqlite MLflow store in the test's folder. docs/model-lifecycle.md walks
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
# The gate's margins for the drill, stated in its decision record. A retrain that learnt the inflated
# bureau scale is much better on the drifted traffic but a little worse on the pre-drift population the
# holdout is drawn from (about -0.008 AUC, +3 cost per 1,000, +0.01 gender gap in a trial run), and the
# champion, which approves nearly everyone once the scores are inflated, has a narrow approval gap on
# production by accident. At the default margins the gate refuses it; docs/model-lifecycle.md says why
# the drill promotes anyway, and that a real promotion in that situation is a person's decision.
DRILL_MARGINS = ["--auc-tolerance", "0.02", "--cost-tolerance", "10", "--gap-tolerance", "0.15"]
DRILL_MARGINS += ["--brier-tolerance", "0.002"]


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

    # 4. more drifted traffic, and its outcomes: labelled rows the challenger never learnt from
    server = start_test_server(run, env={"MODEL_DIR": str(tmp_path / "model")})
    try:
        later = simulate(
            server.url, n=LATER, scenario="bureau_inflation", seed=SEED + 1, progress=False, outcomes_after=0
        )
    finally:
        server.stop()
    assert later.ok == LATER and later.outcomes["recorded"] > 500, later.lines()

    # 5. the gate judges the challenger against the champion on the holdout and on the unseen rows
    code, record = gate(tmp_path, candidate=str(tmp_path / "challenger"), log_dir=log_dir, uri=uri)
    checks = {c["name"]: c for c in record["checks"]}
    assert code == 0 and record["decision"] == "pass", [(n, c["champion"], c["candidate"]) for n, c in checks.items()]
    production = next(d for d in record["data"] if d["name"] == "production")
    assert production["labelled"] == later.outcomes["recorded"]  # the retrain's own rows are not judged on
    cost = checks["production:business_cost_per_1000"]
    assert cost["status"] == "pass" and cost["candidate"] < cost["champion"]  # why it is worth promoting
    promoted = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert promoted["model_version"] == challenger["model_version"] != champion["model_version"]

    # 6. the service restarted on model/ serves the new version, and the log shows the change
    server = start_test_server(run, env={"MODEL_DIR": str(tmp_path / "model")})
    try:
        assert served_version(server) == (challenger["model_version"],) * 2
        after = simulate(server.url, n=50, scenario="bureau_inflation", seed=SEED + 2, progress=False)
    finally:
        server.stop()
    assert after.ok == 50
    logged = read_log([log_dir]).predictions
    versions = logged["model_version"].value_counts().to_dict()
    assert versions == {champion["model_version"]: TRAFFIC + LATER, challenger["model_version"]: 50}
    # the Monitoring tab's headline cards list the versions of the window
    assert kpis(logged)["model_versions"] == sorted([champion["model_version"], challenger["model_version"]])
