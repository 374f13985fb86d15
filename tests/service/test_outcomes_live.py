"""Outcomes end to end on a running server: simulate 3,000 applications, replay the approved ones' outcomes,
then the report's realized ROC AUC against sklearn on the same joined rows, the realized-cost alert for a
degrading scenario and not for the undrifted stream, and the Monitoring tab in Debian's chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.factories import ROOT
from tests.server import start_test_server

pytestmark = [pytest.mark.server, pytest.mark.slow]
N = 3_000


def run_cli(*args: str, timeout: float = 900) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLIs
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def joined_rows(log_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Score and outcome of every prediction with a recorded outcome, read straight from the JSON lines."""
    scores, outcomes = {}, {}
    for path in sorted(log_dir.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row["kind"] == "prediction":
                scores[row["request_id"]] = row["probability"]
            elif row["kind"] == "outcome" and row["status"] == "recorded":
                outcomes.setdefault(row["request_id"], row["defaulted"])
    ids = sorted(outcomes)
    return np.array([scores[i] for i in ids]), np.array([int(outcomes[i]) for i in ids])


def simulate_and_report(tmp: Path, scenario: str) -> tuple[object, dict, str]:
    server = start_test_server(tmp / "server")
    try:
        out = run_cli(
            "monitoring.simulate",
            "--url",
            server.url,
            "--n",
            str(N),
            "--scenario",
            scenario,
            "--concurrency",
            "8",
            "--seed",
            "3",
            "--outcomes-after",
            "0",
            "--quiet",
        )
        run_cli(
            "monitoring.report",
            "--log-dir",
            str(server.log_dir),
            "--model-dir",
            str(ROOT / "model"),
            "--out",
            str(tmp / "report.html"),
            "--json",
            str(tmp / "summary.json"),
        )
    except BaseException:
        server.stop()
        raise
    return server, json.loads((tmp / "summary.json").read_text()), out


@pytest.fixture(scope="module")
def degrading(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("degrading")
    server, summary, out = simulate_and_report(tmp, "bureau_inflation")
    yield server, summary, out, tmp
    server.stop()


def test_realized_auc_is_sklearns_and_the_cost_alert_fires(degrading) -> None:
    server, summary, out, tmp = degrading
    assert f"sent {N}: ok {N}" in out and "outcomes: recorded" in out
    outcomes = summary["outcomes"]
    score, defaulted = joined_rows(server.log_dir)
    overall = outcomes["overall"]
    assert overall["labelled"] == len(score) > 0.5 * N  # every approved applicant got its outcome
    assert overall["roc_auc"] == pytest.approx(roc_auc_score(defaulted, score), abs=1e-6)
    assert overall["coverage"] == pytest.approx(len(score) / N, abs=1e-6)
    (chunk,) = outcomes["realized"]  # all 3,000 in one day: one chunk
    assert chunk["roc_auc"] == pytest.approx(roc_auc_score(defaulted, score), abs=1e-6)
    kinds = {a["kind"] for a in outcomes["alerts"]}
    assert "realized_cost" in kinds
    assert any("realized_cost" in a["key"] for a in summary["alerts"])  # in the merged list too
    html = (tmp / "report.html").read_text()
    assert "Realized vs estimated performance" in html and "approved loans only" in html


def test_undrifted_stream_keeps_the_cost_alert_quiet(tmp_path) -> None:
    (
        server,
        summary,
        _,
    ) = simulate_and_report(tmp_path, "none")[:3]
    server.stop()
    outcomes = summary["outcomes"]
    assert outcomes["overall"]["enough_labels"] is True
    kinds = {a["kind"] for a in outcomes["alerts"]}
    assert not kinds & {"realized_cost", "realized_auc"}, outcomes["alerts"]
    score, defaulted = joined_rows(server.log_dir)
    assert outcomes["overall"]["roc_auc"] == pytest.approx(roc_auc_score(defaulted, score), abs=1e-6)


def test_tab_shows_realized_vs_estimated_and_coverage(degrading) -> None:
    server, _, _, _ = degrading
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(240_000)
        page.goto(server.url + "/")
        page.get_by_role("tab", name="Monitoring").click()
        page.get_by_role("button", name="Refresh analysis").click()
        page.wait_for_function("document.querySelector('#mon-outcomes-status')?.innerText.includes('Label coverage')")
        status = page.locator("#mon-outcomes-status").inner_text()
        assert "approved" in status and "Not enough labels" not in status
        cards = page.locator("#mon-outcomes-kpis").inner_text()
        assert "realized ROC AUC" in cards and "CBPE ROC AUC" in cards
        chart = page.locator("#mon-realized_performance")
        page.wait_for_function(
            "document.querySelector('#mon-realized_performance')?.innerText.includes('CBPE estimate')"
        )
        assert chart.locator(".js-plotly-plot").count() == 1
        assert "label coverage" in chart.inner_text() and "Accepts-only" in chart.inner_text()
        assert "Traceback" not in page.content()
        browser.close()


def test_outcomes_tab_csv_upload_answers_per_row_with_a_download(degrading, tmp_path) -> None:
    server, _, _, _ = degrading
    from playwright.sync_api import sync_playwright

    known = next(
        json.loads(line)
        for path in sorted(server.log_dir.rglob("outcomes-*.jsonl"))
        for line in path.read_text().splitlines()
    )
    source = tmp_path / "outcomes.csv"
    flipped = "false" if known["defaulted"] else "true"
    source.write_text(
        "request_id,defaulted,observed_at\n"
        f"{known['request_id']},{str(known['defaulted']).lower()},2027-03-01\n"
        f"{known['request_id']},{flipped},2027-03-02\n"
        "no-such-request,1,\n"
        f"{known['request_id']},maybe,\n"
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + "/")
        page.get_by_role("tab", name="Outcomes").click()
        page.locator("#outcomes-upload input[type=file]").set_input_files(str(source))
        page.get_by_role("button", name="Record the outcomes").click()
        page.wait_for_function("document.querySelector('#outcomes-summary')?.innerText.includes('duplicate')")
        summary = page.locator("#outcomes-summary").inner_text()
        assert "0 recorded, 1 duplicate, 1 conflict, 1 unknown request, 1 invalid" in summary
        with page.expect_download() as download:
            page.locator("#outcomes-answers a").first.click()
        target = tmp_path / "answers.csv"
        download.value.save_as(target)
        context.close()
        browser.close()
    lines = target.read_text().splitlines()
    assert lines[0] == "row,status,request_id,field,reason"
    assert [line.split(",")[1] for line in lines[1:]] == ["duplicate", "conflict", "unknown_request", "invalid"]


def test_gradio_api_record_outcomes_gives_the_same_answers(degrading) -> None:
    server, _, _, _ = degrading
    from gradio_client import Client

    known = next(
        json.loads(line)
        for path in sorted(server.log_dir.rglob("outcomes-*.jsonl"))
        for line in path.read_text().splitlines()
    )
    client = Client(server.url, verbose=False)
    answer = client.predict(
        [{"request_id": known["request_id"], "defaulted": known["defaulted"]}, {"request_id": "nope", "defaulted": 1}],
        api_name="/record_outcomes",
    )
    assert [r["status"] for r in answer["results"]] == ["duplicate", "unknown_request"]
