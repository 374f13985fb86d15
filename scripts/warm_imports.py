"""List the library modules the service really imports, for the image to byte-compile only those.

    python scripts/warm_imports.py OUT.txt      # run from the app folder, in the image's venv

Builds the app in-process (no server, no Hub, logs in a temp folder), answers the REST, UI, docs and
metrics routes, scores example.json a few hundred times, then runs the drift analysis and its charts
on that log, as the analysis worker does. Every imported module whose source is a `.py` file under
site-packages is written to OUT.txt, one path a line, for `python -m compileall -i OUT.txt`.

Why: the service user cannot write `__pycache__` inside the venv, so a module without a `.pyc` is
recompiled on every start. Compiling all 24,000 modules costs about 200 MB of image for files the
service never loads; compiling the ones it loads keeps the cold start and drops the rest. A module
missed here still works; it is compiled in memory when first imported.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import tempfile
from pathlib import Path

APP_ROOT = Path.cwd()
ROUTES = ("/", "/config", "/gradio_api/info", "/docs", "/openapi.json", "/metrics", "/readyz", "/healthz")
ROUNDS = 300  # enough rows for the analysis to fill a chunk and compute every statistic


def exercise(example: dict) -> None:
    """Import and run every path the service process and its analysis worker go through."""
    sys.path.insert(0, str(APP_ROOT))
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

    from monitoring import charts
    from monitoring.analysis import AnalysisJob, run_job

    settings = Settings()
    job = AnalysisJob(log_dirs=(str(settings.prediction_log_dir), str(settings.history_dir)), model_dir="model")
    result = run_job(job)
    for name in dir(charts):
        chart = getattr(charts, name)
        if callable(chart) and getattr(chart, "__module__", None) == charts.__name__ and not name.startswith("_"):
            try:
                chart(result)
            except (TypeError, ValueError):  # helpers that take other arguments: their imports are done
                continue


def imported_sources(site_packages: Path) -> list[str]:
    sources = set()
    for module in list(sys.modules.values()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None)
        if origin and origin.endswith(".py") and Path(origin).resolve().is_relative_to(site_packages):
            sources.add(origin)
    return sorted(sources)


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
    exercise(json.loads((APP_ROOT / "example.json").read_text(encoding="utf-8")))
    sources = imported_sources(Path(sysconfig.get_paths()["purelib"]).resolve())
    Path(argv[0]).write_text("\n".join(sources) + "\n", encoding="utf-8")
    print(f"warm_imports: {len(sources)} library modules imported", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
