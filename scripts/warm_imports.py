"""List the library modules the serving process imports, for the image to byte-compile only those.

    python scripts/warm_imports.py OUT.txt      # run from the app folder, in the image's venv

Builds the app in-process as app.main does (no server, no Hub, logs in a temp folder), answers the
REST, UI, docs and metrics routes, scores example.json a few hundred times, runs the drift analysis on
that log and draws its charts. Written to OUT.txt, one path a line, for `python -m compileall -i`:
every library module (a `.py` under site-packages) imported by the serving steps and by the charts,
which the service process draws. Left out: what only the analysis itself imports (NannyML,
statsmodels, scikit-learn, matplotlib ...), which runs in its own worker process.

Why: the service user cannot write `__pycache__` inside the venv, so a module without a `.pyc` is
compiled again on every start. Compiling all ~24,000 library modules adds ~200 MB of image for modules
never loaded; the serving set keeps the cold start. The analysis worker compiles its libraries in
memory once per container (about 4 s more for its first analysis, in a niced background process that
the alert loop starts soon after startup). A module missed here still works: compiled when imported.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

APP_ROOT = Path.cwd()
ROUTES = ("/", "/config", "/gradio_api/info", "/docs", "/openapi.json", "/metrics", "/readyz", "/healthz")
ROUNDS = 300  # enough rows for the analysis to fill a chunk and compute every statistic


def serve(example: dict) -> None:
    """What the service process does: app.main's imports, the app, its routes, scores."""
    sys.path.insert(0, str(APP_ROOT))
    from service.lean_imports import prepare_serving_process

    prepare_serving_process()  # as `python app.py` does: no scikit-learn in the serving process
    from fastapi.testclient import TestClient

    import app
    from service.settings import Settings

    with TestClient(app.build_app(Settings())) as client:
        for route in ROUTES:
            client.get(route)
        client.get("/api/v1/model")
        for i in range(ROUNDS):
            varied = {**example, "AMT_CREDIT": example.get("AMT_CREDIT", 500_000) * (0.5 + i / ROUNDS)}
            client.post("/api/v1/score", json=varied)
        client.post("/api/v1/score/batch", json={"applications": [example] * 3})


def analyse() -> Any:
    """What the analysis worker does, on the log `serve` wrote."""
    from monitoring.runner import AnalysisJob, run_job
    from service.settings import Settings

    settings = Settings()
    return run_job(
        AnalysisJob(log_dirs=(str(settings.prediction_log_dir), str(settings.history_dir)), model_dir="model")
    )


def draw(result: Any) -> None:
    """The Monitoring tab's charts, which the service process draws from the worker's result."""
    from monitoring import plots

    for name in dir(plots):
        chart = getattr(plots, name)
        if callable(chart) and getattr(chart, "__module__", None) == plots.__name__ and not name.startswith("_"):
            try:
                chart(result)
            except (TypeError, ValueError):  # helpers that take other arguments: their imports are done
                continue


def imported_sources(site_packages: Path) -> set[str]:
    sources = set()
    for module in list(sys.modules.values()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None)
        if origin and origin.endswith(".py") and Path(origin).resolve().is_relative_to(site_packages):
            sources.add(origin)
    return sources


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    scratch = tempfile.mkdtemp(prefix="warm-imports-")
    os.environ.update(
        PREDICTION_LOG_DIR=f"{scratch}/predictions",
        HISTORY_DIR=f"{scratch}/history",
        ALERT_EVERY_S="3600",
        NML_DISABLE_USAGE_LOGGING="1",
        GRADIO_ANALYTICS_ENABLED="False",
    )
    os.environ.pop("HF_DATASET_REPO", None)
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    serve(json.loads((APP_ROOT / "example.json").read_text(encoding="utf-8")))
    serving = imported_sources(site_packages)
    result = analyse()
    analysis = imported_sources(site_packages)
    draw(result)
    sources = sorted(serving | (imported_sources(site_packages) - analysis))
    Path(argv[0]).write_text("\n".join(sources) + "\n", encoding="utf-8")
    print(
        f"warm_imports: {len(sources)} library modules to compile "
        f"({len(analysis - serving)} left to the analysis worker)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
