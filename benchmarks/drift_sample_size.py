"""Why the drift statistics run on a bounded sample per chunk: p-values against distances as n grows.

    python -m benchmarks.drift_sample_size

Production rows of the training population with a shift too small to matter (EXT_SOURCE_2 + 0.01,
about 0.05 standard deviation; the score barely moves) are compared with the model's reference
(`model/reference.parquet`) at growing chunk sizes n. For each n: the two-sample Kolmogorov-Smirnov
p-value (what a p-value test alerts on), the KS statistic D (what this project's monitor alerts on),
and the noise of D between reference chunks of 800 rows and the whole reference (mean + 3 sd: how
NannyML derives the alert threshold of D at the calibration size the monitor uses), plus the same
for an undrifted chunk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from scoring.synth.generate import production_stream

FEATURE, SHIFT, CALIBRATION = "EXT_SOURCE_2", 0.01, 800
SIZES = (800, 2_000, 5_000, 10_000, 50_000, 140_000)


def threshold(reference: np.ndarray, rng: np.random.Generator, *, size: int, draws: int = 200) -> float:
    """Mean + 3 sd of D between `size`-row reference chunks and the whole reference."""
    values = [ks_2samp(rng.choice(reference, size, replace=False), reference).statistic for _ in range(draws)]
    return float(np.mean(values) + 3 * np.std(values))


def main() -> int:
    reference = pd.read_parquet("model/reference.parquet")[FEATURE].dropna().to_numpy(float)
    stream = production_stream(max(SIZES), seed=11)[FEATURE].dropna().to_numpy(float)
    rng = np.random.default_rng(0)
    limit = threshold(reference, rng, size=CALIBRATION)
    print(f"{FEATURE}: sd {reference.std():.3f}, shift +{SHIFT}; D threshold at {CALIBRATION} rows {limit:.4f}")
    print(f"| {'n':>7} | {'KS p, shifted':>13} | {'D, shifted':>10} | {'KS p, undrifted':>15} | {'D, undrifted':>12} |")
    for n in SIZES:
        chunk = stream[:n]
        shifted, same = ks_2samp(chunk + SHIFT, reference), ks_2samp(chunk, reference)
        print(
            f"| {n:>7,} | {shifted.pvalue:>13.2e} | {shifted.statistic:>10.4f} | {same.pvalue:>15.2e} | "
            f"{same.statistic:>12.4f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
