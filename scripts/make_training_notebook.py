"""Writes notebooks/01_training.ipynb (cells only); execute it with nbclient to fill the outputs.

python scripts/make_training_notebook.py && python -m scripts.run_notebook notebooks/01_training.ipynb
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

CELLS = [
    (
        "md",
        """# 01 — Data, training and the MLflow run

This notebook rebuilds the scoring model of Prêt à Dépenser's Crédit Express desk, step by step:

1. generate applications with the Home Credit `application_train` schema and compare them with the published
   statistics of the real table (the data are **synthetic**: no real applicant is in them);
2. train and evaluate the LightGBM model with `scoring.train` (cost-based threshold, MLflow tracking);
3. read the MLflow run back: metrics, plots and the registered `credit-scoring@champion` model.

`NOTEBOOK_ROWS` (environment) sets the number of rows; the executed copy in the repository used the value shown
below. Tests run it on a small sample.""",
    ),
    (
        "code",
        """import os, tempfile
from pathlib import Path

import pandas as pd

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
os.chdir(ROOT)
ROWS = int(os.environ.get("NOTEBOOK_ROWS", "60000"))
WORK = Path(tempfile.mkdtemp(prefix="nb01-"))
print(f"rows={ROWS:,}  work dir={WORK}")""",
    ),
    ("md", "## 1. The data against the real statistics"),
    (
        "code",
        """from scoring.synth.calibration import reference_profile
from scoring.synth.generate import generate_applications

frame = generate_applications(ROWS, seed=0)
profile = reference_profile()
print(frame.shape, "default rate", round(frame["TARGET"].mean(), 4))
frame.head(3)""",
    ),
    (
        "code",
        """real_missing = {c: v["missing_rate"] for part in ("numeric", "categorical") for c, v in profile[part].items()}
rows = []
for col in ["EXT_SOURCE_1", "EXT_SOURCE_3", "OCCUPATION_TYPE", "OWN_CAR_AGE", "APARTMENTS_AVG",
            "AMT_REQ_CREDIT_BUREAU_YEAR", "AMT_GOODS_PRICE"]:
    rows.append({"column": col, "missing (synthetic)": round(frame[col].isna().mean(), 4),
                 "missing (real)": real_missing.get(col)})
pd.DataFrame(rows)""",
    ),
    (
        "code",
        """numeric = ["AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE", "DAYS_BIRTH", "DAYS_ID_PUBLISH"]
pd.DataFrame({"median (synthetic)": frame[numeric].median(),
              "median (real)": [profile["numeric"][c]["quantiles"]["p50"] for c in numeric],
              "p25 (synthetic)": frame[numeric].quantile(0.25),
              "p25 (real)": [profile["numeric"][c]["quantiles"]["p25"] for c in numeric]})""",
    ),
    (
        "code",
        """age = (-frame["DAYS_BIRTH"] / 365.25)
bands = pd.cut(age, [20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70])
frame.groupby(bands, observed=True)["TARGET"].mean().round(3).to_frame("default rate by age band")""",
    ),
    (
        "md",
        """## 2. Training

`scoring.train` splits a stratified 20 % holdout (it becomes the monitoring reference), searches three LightGBM
configurations by stratified K-fold, picks the threshold minimising 10·FN + 1·FP on out-of-fold probabilities,
evaluates on the holdout, logs everything to MLflow (sqlite store) and exports the model folder.""",
    ),
    (
        "code",
        """from scoring.train import cli as train

uri = f"sqlite:///{WORK / 'mlflow.db'}"
metadata = train.main(["--rows", str(ROWS), "--folds", "2", "--model-dir", str(WORK / "model"),
                       "--tracking-uri", uri])
pd.Series(metadata["metrics"]["holdout"]).round(4).to_frame("holdout")""",
    ),
    ("code", """pd.DataFrame(metadata["fairness"]).round(4)"""),
    ("md", "## 3. Reading the MLflow run"),
    (
        "code",
        """import mlflow
from mlflow import MlflowClient

client = MlflowClient(tracking_uri=uri)
champion = client.get_model_version_by_alias("credit-scoring", "champion")
run = client.get_run(champion.run_id)
print("registered version", champion.version, "run", run.info.run_id)
pd.Series(run.data.metrics).sort_index().round(4).to_frame("metric")""",
    ),
    (
        "code",
        """from IPython.display import Image, display

local = client.download_artifacts(run.info.run_id, "plots", str(WORK))
for name in ("cost_vs_threshold.png", "roc.png"):
    display(Image(filename=str(Path(local) / name)))""",
    ),
    (
        "code",
        """import mlflow.pyfunc
from scoring.features import build_features, encode_frame, feature_frame

pyfunc = mlflow.pyfunc.load_model(f"models:/credit-scoring@champion")
sample = frame.sample(5, random_state=1)
pd.DataFrame({"TARGET": sample["TARGET"].to_numpy(),
              "probability": pyfunc.predict(feature_frame(build_features(encode_frame(sample)))).round(4)})""",
    ),
    (
        "md",
        """The model served by the application is the committed `model/` folder (trained on 307,511 rows with the same
command: `python -m scoring.train`); its card is `model/README.md`.""",
    ),
]


def main() -> None:
    notebook = nbf.v4.new_notebook()
    notebook.cells = [
        nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src) for kind, src in CELLS
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(__file__).resolve().parents[1] / "notebooks" / "01_training.ipynb"
    nbf.write(notebook, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
