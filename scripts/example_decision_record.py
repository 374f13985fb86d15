"""Write docs/examples/decision-record.md (and .json) by running the promotion gate: never by hand.

    python scripts/example_decision_record.py [--rows 60000] [--seed 1]      (make decision-record)

The committed `model/` is the champion. The candidate is trained here by `python -m scoring.train` on
fewer rows into a temporary MLflow store, registered as `credit-scoring@challenger`, the way a team would
try a cheaper model; the gate takes it by that registry URI. A production
log of 4,000 applications scored by the champion, with the outcomes of the approved ones, is written
beside it by the service's own log and outcome writers. The gate then runs with --check-only, and the
record it wrote is copied into docs/examples/ (nothing else is changed: `model/` stays as committed).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
PRODUCTION_ROWS = 4_000


def write_production_log(folder: Path, model_dir: Path, *, rows: int, seed: int) -> None:
    """`rows` fresh applicants scored by the model in `model_dir`, logged; outcomes of the approved ones."""
    import numpy as np

    from monitoring.log.records import build_prediction_row
    from monitoring.log.writer import PredictionLog
    from monitoring.outcomes.store import OutcomeStore
    from scoring.features import build_features, encode_frame
    from scoring.model import load_model
    from scoring.schema import RAW_COLUMNS
    from scoring.synth.generate import production_stream

    model = load_model(model_dir)
    frame = production_stream(rows, seed=seed)
    probability = model.predict(build_features(encode_frame(frame)))
    inputs = frame[list(RAW_COLUMNS)].astype(object).where(frame[list(RAW_COLUMNS)].notna(), None)
    log = PredictionLog(folder, replica_id="example")
    outcomes = []
    for i, (features, p) in enumerate(zip(inputs.to_dict("records"), probability, strict=True)):
        decision = "refuse" if p >= model.threshold else "approve"
        log.append(
            build_prediction_row(
                features,
                request_id=f"example-{i}",
                channel="rest",
                model_version=model.version,
                probability=float(p),
                decision=decision,
                threshold=model.threshold,
                inference_ms=0.1,
                started=time.perf_counter(),
            )
        )
        if decision == "approve":  # only approved loans ever get an outcome
            outcomes.append({"request_id": f"example-{i}", "defaulted": bool(frame["TARGET"].iloc[i])})
    log.close()
    recorder = PredictionLog(folder, replica_id="example-outcomes")
    OutcomeStore(recorder, dirs=[folder], salt=None).record(outcomes, channel="rest")
    recorder.close()
    approved = float(np.mean(probability < model.threshold))
    print(f"production log: {rows} predictions, {len(outcomes)} outcomes ({approved:.1%} approved)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60_000, help="training rows of the candidate")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:  # run as a file (python scripts/...): the project's packages
        sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="decision-record-") as tmp:
        work = Path(tmp)
        train = [sys.executable, "-m", "scoring.train", "--rows", str(args.rows), "--folds", "2", "--threads", "1"]
        store = f"sqlite:///{work / 'mlflow.db'}"
        train += ["--seed", str(args.seed), "--alias", "challenger", "--no-export", "--tracking-uri", store]
        subprocess.run(train, cwd=ROOT, check=True)  # noqa: S603
        write_production_log(work / "log", ROOT / "model", rows=PRODUCTION_ROWS, seed=args.seed + 100)
        gate = [sys.executable, "-m", "scoring.promote", "--champion", str(ROOT / "model")]
        gate += ["--candidate", "models:/credit-scoring@challenger", "--tracking-uri", store]
        gate += ["--log", str(work / "log")]
        gate += ["--records", str(work / "records"), "--check-only"]
        code = subprocess.run(gate, cwd=ROOT, check=False).returncode  # noqa: S603
        if code not in (0, 1):
            return code
        EXAMPLES.mkdir(parents=True, exist_ok=True)
        for suffix in (".md", ".json"):
            (written,) = (work / "records").glob(f"*{suffix}")
            text = written.read_text(encoding="utf-8").replace(str(work), "<tmp>").replace(str(ROOT), ".")
            text = re.sub(r"/[\w/.-]*/promote-[\w]+", "<gate cache>", text)  # where the gate downloaded the version
            (EXAMPLES / f"decision-record{suffix}").write_text(text, encoding="utf-8")
    print(f"wrote {EXAMPLES.relative_to(ROOT)}/decision-record.md and .json (gate exit code {code})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
