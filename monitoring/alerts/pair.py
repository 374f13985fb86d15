"""The champion-vs-challenger alert: the two models agree on too few decisions (`PAIR_AGREEMENT_FLOOR`).

Judged on chunks with at least `MIN_CHUNK_ROWS` rows scored by both, in the drift result's chunks; a
warning, in the same dict shape and severity vocabulary as the drift and outcome alerts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

AGREEMENT_FLOOR = 0.90  # below this share of identical decisions, a promotion would change many answers
CHECK = (
    "before promoting, read the swap matrix (who would be approved or refused differently) and the score "
    "correlation; a new challenger version explains a step, an upstream change affecting one model more than "
    "the other explains a drift"
)


def agreement_alerts(by_chunk: pd.DataFrame, *, floor: float) -> list[dict[str, Any]]:
    """One warning when any chunk with enough rows scored by both agrees below `floor`, else nothing."""
    enough = by_chunk[by_chunk["enough"].astype(bool)]
    low = enough[enough["agreement"] < floor]
    if not len(low):
        return []
    worst = float(low["agreement"].min())
    return [
        {
            "kind": "pair_agreement",
            "feature": "challenger_decision",
            "method": "agreement",
            "threshold": floor,
            "chunks": low["key"].astype(str).tolist(),
            "severity": "warning",
            "message": (
                f"champion and challenger take the same decision on only {worst:.1%} of the rows both scored "
                f"(floor {floor:.0%}) in {len(low)}/{len(enough)} chunks with enough rows"
            ),
            "check": CHECK,
        }
    ]
