"""How bad a drift alert is: is it more than chance, does it persist, does the feature matter?

A stable feature still crosses its NannyML threshold now and then, and ~20 features are tested per
chunk: with 47 chunks, a few isolated hits somewhere are expected. So, per family of tests (the drift
of every monitored feature, or the missing rate of every feature):

1. *More than chance?* The number of chunks in alert is compared with what a stable feature gives
   (each chunk alerting with probability `CHUNK_FALSE_ALARM`): a binomial p-value per feature, then
   Benjamini–Hochberg across the family at `FALSE_DISCOVERY_RATE`. A hit far above its threshold
   (`STRONG_RATIO` times) counts as real even alone.
2. *Severity*, in the one vocabulary of `monitoring.alerts.model`:
   - `info`: not more than chance (isolated hits); shown, never notified, not counted as active;
   - `warning`: real, but brief or on a minor feature;
   - `critical`: real and persistent (at least `PERSISTENT_CHUNKS` chunks and `PERSISTENT_SHARE` of
     them) on an important input (the score or one of the model's five most important features), or
     real in at least half of the chunks whatever the feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scipy.stats import binom

from monitoring.alerts.model import Severity

CHUNK_FALSE_ALARM = 0.05  # chance a stable feature alerts in one chunk (any of its methods): conservative
FALSE_DISCOVERY_RATE = 0.05
STRONG_RATIO = 2.0
PERSISTENT_CHUNKS = 2
PERSISTENT_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Evidence:
    """One feature's record in a family of tests: chunks in alert among valid chunks, worst value / limit."""

    hits: int
    chunks: int
    worst_ratio: float = 0.0

    @property
    def share(self) -> float:
        return self.hits / self.chunks if self.chunks else 0.0

    @property
    def persistent(self) -> bool:
        return self.hits >= PERSISTENT_CHUNKS and self.share >= PERSISTENT_SHARE


def chance_p_value(evidence: Evidence, *, rate: float = CHUNK_FALSE_ALARM) -> float:
    """Probability that a stable feature alerts in at least `hits` of `chunks` chunks."""
    if evidence.hits <= 0:
        return 1.0
    return float(binom.sf(evidence.hits - 1, evidence.chunks, rate))


def benjamini_hochberg(p_values: Mapping[str, float], *, q: float = FALSE_DISCOVERY_RATE) -> set[str]:
    """The names whose p-value survives Benjamini–Hochberg at false discovery rate `q` across the family."""
    ranked = sorted(p_values.items(), key=lambda item: item[1])
    m, cut = len(ranked), 0
    for rank, (_, p) in enumerate(ranked, start=1):
        if p <= q * rank / m:
            cut = rank
    return {name for name, _ in ranked[:cut]}


def discoveries(family: Mapping[str, Evidence]) -> set[str]:
    """The members of a family whose alerts are more than chance (BH on their p-values, or one strong hit)."""
    found = benjamini_hochberg({name: chance_p_value(e) for name, e in family.items()})
    return found | {name for name, e in family.items() if e.hits and e.worst_ratio >= STRONG_RATIO}


def grade(evidence: Evidence, *, important: bool, real: bool) -> Severity:
    """The severity of one alert: see the module docstring."""
    if not real or not evidence.hits:
        return "info"
    if (evidence.persistent and important) or (evidence.hits >= PERSISTENT_CHUNKS and evidence.share >= 0.5):
        return "critical"
    return "warning"
