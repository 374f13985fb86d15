"""The thresholds of the operational detectors, and the parser of the opening-hours setting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRules:
    """Thresholds. Those an operator sets (window, SLO, opening hours, traffic history) have no default
    here: `service.settings.Settings.alert_rules()` holds them, so the service and the report judge alike.
    The others are what proved quiet on a normal week of traffic."""

    window: timedelta
    baseline_windows: int  # earlier windows of the same length: 24 -> 6 h at 15 min
    min_baseline_windows: int = 4  # fewer usable earlier windows: judge absolute limits only
    min_requests: int = 20  # below this a window's percentiles and rates are noise
    far_ratio: float = 1.5
    far_z: float = 4.0
    # latency: judged per channel, over single-application requests only
    latency_channels: tuple[str, ...] = ("rest", "gradio_api", "mcp")
    slo_p95_ms: float
    slo_p99_ms: float
    # inference: median of the new model version against the previous one
    inference_ratio: float = 1.5
    inference_min_delta_ms: float = 2.0  # 0.3 -> 0.6 ms is "2x" and irrelevant
    # rejected requests
    error_min_count: int = 10
    error_min_rate: float = 0.05
    error_ratio: float = 3.0
    error_critical_rate: float = 0.5
    server_error_min_count: int = 3
    server_error_rate: float = 0.01
    # traffic against the same hours of earlier days
    traffic_lookback_days: int  # a week: 5 comparable weekdays, and only 8 days of log to read
    traffic_min_days: int
    traffic_min_expected: int = 20
    traffic_ratio: float = 3.0
    # opening hours: no traffic for idle_minutes while open is an incident (0 disables)
    timezone: str
    opening_days: tuple[int, ...]  # Monday = 0
    opening_start: time
    opening_end: time
    idle_minutes: float
    # storage
    hub_overdue_factor: float = 3.0

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # fail at startup on a misspelt zone, not at the first evaluation
        if self.window <= timedelta(0) or self.baseline_windows < 1:
            raise ValueError("window must be positive and baseline_windows at least 1")

    @property
    def history(self) -> timedelta:
        """How much log `detect_operational` looks at: read at least this far back."""
        return max(self.window * (self.baseline_windows + 1), timedelta(days=self.traffic_lookback_days + 1))


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_opening_hours(text: str) -> tuple[tuple[int, ...], time, time]:
    """'mon-fri 08:00-20:00' (or 'mon,wed,sat 09:00-12:30') -> (days, start, end), for the settings."""
    match = re.fullmatch(r"\s*([a-z,\-]+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", text.lower())
    if not match:
        raise ValueError(f"opening hours {text!r}: expected e.g. 'mon-fri 08:00-20:00'")
    days: list[int] = []
    for part in match.group(1).split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"opening hours {text!r}: unknown day in {part!r}")
        start, stop = _DAYS.index(first), _DAYS.index(last or first)
        days += [d % 7 for d in range(start, stop + (7 if stop < start else 0) + 1)]
    opens, closes = (time.fromisoformat(t.zfill(5)) for t in match.group(2, 3))
    if closes <= opens:
        raise ValueError(f"opening hours {text!r}: closing time must be after opening time")
    return tuple(sorted(set(days))), opens, closes
