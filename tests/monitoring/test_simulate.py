"""The simulator against the real server: N requests in, N prediction rows read back from the log."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitoring import simulate
from monitoring.log.reader import read_log
from tests.factories import ROOT
from tests.server import start_test_server


def test_unknown_scenario_is_a_clear_error(capsys):
    assert simulate.main(["--url", "http://127.0.0.1:9", "--scenario", "meteor_strike"]) == 2
    err = capsys.readouterr().err
    assert "meteor_strike" in err and "income_inflation" in err and "new_category" in err
    with pytest.raises(ValueError, match="valid scenarios"):
        simulate.payloads(3, seed=0, scenario="meteor_strike")


def test_payloads_leave_missing_fields_out():
    items = simulate.payloads(50, seed=1, scenario="bureau_outage")
    assert len(items) == 50 and all("TARGET" not in p and "SK_ID_CURR" not in p for p in items)
    assert sum("EXT_SOURCE_3" not in p for p in items) > 20


@pytest.mark.server
@pytest.mark.slow
def test_simulator_rows_reach_the_log(tmp_path):
    server = start_test_server(tmp_path, env={"API_TOKEN": "sim-token"})
    try:
        done = subprocess.run(  # the CLI itself, as a user runs it
            [
                sys.executable,
                "-m",
                "monitoring.simulate",
                "--url",
                server.url,
                "--n",
                "40",
                "--scenario",
                "new_category",
                "--token",
                "sim-token",
                "--concurrency",
                "4",
                "--seed",
                "3",
                "--quiet",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ok 40, rejected 0, errors 0" in done.stdout and "p99" in done.stdout
        via_gradio = simulate.simulate(
            server.url, n=5, scenario="none", via="gradio", token="sim-token", seed=4, progress=False
        )
        assert (via_gradio.ok, via_gradio.errors) == (5, 0)
    finally:
        server.stop()
    data = read_log([server.log_dir])
    assert len(data.predictions) == 45
    assert set(data.predictions["channel"].astype(str)) == {"rest", "gradio_api"}
    assert (data.predictions["NAME_INCOME_TYPE"].astype(str) == "Businessman").any()


@pytest.mark.slow
@pytest.mark.server
def test_notebook_runs_with_a_small_n(tmp_path, monkeypatch):
    """notebooks/02_monitoring.ipynb end to end (its own server, 400 applications) through nbclient."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MONITORING_NB_N", "400")
    monkeypatch.delenv("MONITORING_NB_URL", raising=False)
    notebook = nbformat.read(ROOT / "notebooks" / "02_monitoring.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = " ".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "N=400" in text and "400 predictions" in text and "AMT_INCOME_TOTAL" in text
