"""Frames of applications as API payloads: one dict per row, the way a client would send it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd


def frame_to_payloads(frame: pd.DataFrame, *, drop: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One payload per row: missing cells (None, NaN, pd.NA) are left out, numpy scalars become
    Python numbers, and the columns named in `drop` (absent ones ignored) are not sent."""
    dropped = set(drop)
    columns = [name for name in frame.columns if name not in dropped]
    payloads = []
    for record in frame[columns].to_dict(orient="records"):
        payload = {}
        for key, value in record.items():
            if hasattr(value, "item"):
                value = value.item()
            if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                continue
            payload[key] = value
        payloads.append(payload)
    return payloads
