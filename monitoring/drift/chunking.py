"""How logged rows are cut into chunks (by time or by count), and the analysis time windows.

A chunk of fewer than `MIN_CHUNK_ROWS` rows gets no statistic and no verdict: it is reported as
"not enough data". Everything that talks about "enough rows" (charts, the UI) uses this constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

MIN_CHUNK_ROWS = 200
NOT_ENOUGH_DATA = "not enough data"
WINDOWS: dict[str, timedelta | None] = {
    "last hour": timedelta(hours=1),
    "last 24 h": timedelta(hours=24),
    "last 7 days": timedelta(days=7),
    "all": None,
}


@dataclass(frozen=True, slots=True)
class Chunking:
    """How rows are cut into chunks: by time period (pandas alias "h", "D", "W") or by row count."""

    period: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if self.period is None and self.size is None:
            object.__setattr__(self, "period", "D")  # frozen dataclass: the default chunk is a day
        if self.period is not None and self.size is not None:
            raise ValueError("give either a period or a size, not both")
        if self.size is not None and self.size < MIN_CHUNK_ROWS:
            raise ValueError(f"chunk size must be at least {MIN_CHUNK_ROWS} rows")

    @classmethod
    def parse(cls, text: str) -> Chunking:
        """ "h", "D", "W" -> by period; "size:500" or "500" -> by count."""
        text = text.strip()
        number = text.removeprefix("size:")
        return cls(period=None, size=int(number)) if number.isdigit() else cls(period=text)

    def label(self) -> str:
        return (
            f"{self.size} rows"
            if self.size
            else {"h": "hour", "D": "day", "W": "week"}.get(self.period or "", str(self.period))
        )


def assign_chunks(frame: pd.DataFrame, chunking: Chunking) -> tuple[pd.DataFrame, np.ndarray]:
    """Chunk table (key, start, end, rows, enough) and the row -> chunk index, in time order."""
    ts = frame["ts"]
    if chunking.size:
        index = np.arange(len(frame)) // chunking.size
        groups = pd.DataFrame({"index": index, "ts": ts.to_numpy()}).groupby("index")["ts"]
        table = pd.DataFrame({"start": groups.min(), "end": groups.max(), "rows": groups.size()})
        # a row-count chunk is named by its number and its time span, so a chart's axis says when it was
        table["key"] = [
            f"#{i + 1} {start:%Y-%m-%d %H:%M}–{end:%H:%M}"
            for i, start, end in zip(table.index, table["start"], table["end"], strict=True)
        ]
    else:
        periods = ts.dt.tz_convert(UTC).dt.tz_localize(None).dt.to_period(chunking.period)
        uniques = pd.Index(periods.unique()).sort_values()
        index = uniques.get_indexer(periods)
        table = pd.DataFrame(
            {
                "start": [p.start_time.tz_localize(UTC) for p in uniques],
                "end": [p.end_time.tz_localize(UTC) for p in uniques],
                "rows": np.bincount(index, minlength=len(uniques)),
                "key": [_period_key(p, chunking.period or "") for p in uniques],
            }
        )
    table = table.reset_index(drop=True)
    table["enough"] = table["rows"] >= MIN_CHUNK_ROWS
    table.insert(0, "chunk", np.arange(len(table)))
    return table[["chunk", "key", "start", "end", "rows", "enough"]], index


def _period_key(period: pd.Period, alias: str) -> str:
    return period.strftime("%Y-%m-%d %H:00" if alias.lower().startswith("h") else "%Y-%m-%d")


def calibration_size(rows_per_chunk: float, reference_rows: int) -> int:
    """Reference chunk size for thresholds: 200 x 2^k, at most the analysed chunk size and ref/20."""
    ceiling = max(MIN_CHUNK_ROWS, reference_rows // 20)
    target = min(max(rows_per_chunk, MIN_CHUNK_ROWS), ceiling)
    return int(MIN_CHUNK_ROWS * 2 ** int(np.floor(np.log2(target / MIN_CHUNK_ROWS))))


def empty_chunks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chunk": pd.Series([], dtype="int64"),
            "key": pd.Series([], dtype=object),
            "start": pd.Series([], dtype="datetime64[ns, UTC]"),
            "end": pd.Series([], dtype="datetime64[ns, UTC]"),
            "rows": pd.Series([], dtype="int64"),
            "enough": pd.Series([], dtype=bool),
        }
    )


def window_bounds(window: str, *, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; valid: {', '.join(WINDOWS)}")
    span = WINDOWS[window]
    return ((now or datetime.now(UTC)) - span if span else None), None
