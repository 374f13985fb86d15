"""The figures of a training run (logged to MLflow under `plots/`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def training_plots(
    out: Path,
    *,
    y: np.ndarray,
    p: np.ndarray,
    curve: pd.DataFrame,
    threshold: float,
    gain: dict[str, float],
) -> list[Path]:
    """ROC and calibration on the holdout, cost against threshold (out-of-fold), feature gain: PNGs in `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_curve

    paths = []
    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label="holdout")
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (holdout)")
    paths.append(out / "roc.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve["threshold"], curve["cost_per_1000"])
    ax.axvline(threshold, color="red", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="threshold", ylabel="cost per 1,000 (10*FN + FP)", title="Business cost vs threshold (OOF)")
    ax.legend()
    paths.append(out / "cost_vs_threshold.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    top = sorted(gain.items(), key=lambda kv: -kv[1])[:25][::-1]
    fig, ax = plt.subplots(figsize=(6, 7))
    ax.barh([k for k, _ in top], [v for _, v in top])
    ax.set(title="Feature importance (gain)")
    paths.append(out / "feature_importance.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    frac, mean_p = calibration_curve(y, p, n_bins=15, strategy="quantile")
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(mean_p, frac, marker="o")
    ax.plot([0, mean_p.max()], [0, mean_p.max()], "--", color="grey")
    ax.set(xlabel="predicted probability", ylabel="observed default rate", title="Calibration (holdout)")
    paths.append(out / "calibration.png")
    fig.savefig(paths[-1], dpi=90, bbox_inches="tight")
    plt.close("all")
    return paths
