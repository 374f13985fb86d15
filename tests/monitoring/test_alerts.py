"""Operational alerts on synthetic logs written with the real row builders and read back with read_log.

The normal log: a Wednesday afternoon, two requests a minute on REST for the last 6.5 hours, the same
hour on each of the seven days before, latencies around 8 ms, inference around 2 ms, and an
occasional validation error. Each incident test changes one thing in it and expects exactly one alert.
"""

from __future__ import annotations

import json
import random
import time as clock
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitoring.alerts.model import Alert
from monitoring.alerts.operational import alerts_to_gauges, detect_operational, merge_alerts
from monitoring.alerts.rules import parse_opening_hours
from monitoring.alerts.stats import robust_baseline
from monitoring.alerts.storage import detect_storage
from monitoring.alerts.traffic import detect_idle
from monitoring.log.reader import LogData, read_log
from monitoring.log.records import build_prediction_row, build_rejection_row
from monitoring.log.writer import LogHealth, PredictionLog
from service.settings import Settings

NOW = datetime(2025, 3, 12, 14, 0, tzinfo=UTC)  # Wednesday 15:00 in Paris: open
# The service's default thresholds, whatever the environment of the test run says.
RULES = Settings.model_construct().alert_rules()
FIELDS = ("AMT_CREDIT", "AMT_ANNUITY", "DAYS_BIRTH", "CODE_GENDER", "EXT_SOURCE_2")


@dataclass(frozen=True)
class Event:
    ts: datetime
    latency_ms: float = 8.0
    inference_ms: float = 2.0
    version: str = "v1"
    channel: str = "rest"
    error_kind: str | None = None  # set: a rejection
    field: str | None = None
    http_status: int | None = 422


def normal_events(seed: int = 1) -> list[Event]:
    rng = random.Random(seed)
    events = []
    spans = [(NOW - timedelta(hours=6, minutes=30), NOW)]
    spans += [(NOW - timedelta(days=d, hours=1), NOW - timedelta(days=d) + timedelta(hours=1)) for d in range(1, 8)]
    for start, end in spans:
        ts = start
        while ts < end:
            events.append(Event(ts, latency_ms=rng.lognormvariate(2.1, 0.3), inference_ms=rng.gauss(2.0, 0.2)))
            ts += timedelta(seconds=30)
    # About one validation error an hour, on changing fields: the background noise of a live API.
    for i in range(0, 400, 53):
        events.append(Event(NOW - timedelta(minutes=i + 7), error_kind="out_of_range", field=rng.choice(FIELDS)))
    return events


def write_log(root: Path, events: list[Event]) -> LogData:
    log = PredictionLog(root, replica_id="test")
    for i, e in enumerate(sorted(events, key=lambda e: e.ts)):
        started = clock.perf_counter()
        if e.error_kind:
            row = build_rejection_row(
                request_id=f"r{i}",
                channel=e.channel,
                error_kind=e.error_kind,
                field_name=e.field,
                http_status=e.http_status,
                started=started,
                now=e.ts,
            )
        else:
            row = build_prediction_row(
                {},
                request_id=f"p{i}",
                channel=e.channel,
                model_version=e.version,
                probability=0.2,
                decision="approve",
                threshold=0.4,
                inference_ms=e.inference_ms,
                started=started,
                now=e.ts,
            )
            # The builder measures latency itself; set it after the fact so a busy test machine cannot
            # slip a real scheduling delay into the synthetic figures.
            row["latency_ms"] = round(e.latency_ms, 3)
        log.append(row)
    log.close()
    return read_log([root], start=NOW - RULES.history, end=NOW + timedelta(minutes=1))


HUB_OK = {
    "enabled": True,
    "repo_id": "acme/log",
    "every_min": 5.0,
    "running": True,
    "last_push_at": "2025-03-12T13:57:00.000000Z",
    "last_attempt_at": "2025-03-12T13:57:00.000000Z",
    "last_push_ok": True,
    "last_error": None,
    "pushes": 80,
    "failures": 0,
}
HEALTH_OK = LogHealth("/data/predictions", True, 1000, None, None, None)


def detect(tmp_path: Path, events: list[Event], **kwargs: Any) -> list[Alert]:
    kwargs = {"hub_status": HUB_OK, "log_health": HEALTH_OK, **kwargs}
    return detect_operational(write_log(tmp_path / "log", events), now=NOW, rules=RULES, **kwargs)


def keys(alerts: list[Alert]) -> list[str]:
    return [a.key for a in alerts]


def in_last(minutes: float, e: Event) -> bool:
    return NOW - timedelta(minutes=minutes) <= e.ts < NOW


# ---------------------------------------------------------------------------------------- scenarios


def test_normal_log_raises_nothing(tmp_path: Path) -> None:
    assert detect(tmp_path, normal_events()) == []


def test_slow_requests_raise_exactly_the_latency_alert(tmp_path: Path) -> None:
    events = [
        replace(e, latency_ms=320.0) if in_last(10, e) and i % 3 == 0 else e for i, e in enumerate(normal_events())
    ]
    alerts = detect(tmp_path, events)
    assert keys(alerts) == ["latency:rest"]
    alert = alerts[0]
    assert alert.severity == "critical" and alert.observed > RULES.slo_p95_ms
    assert alert.baseline is not None and alert.baseline < 20  # the normal p95 is reported alongside
    assert NOW - timedelta(minutes=10) <= alert.since < NOW
    assert "SLO" in alert.message and "Check:" in alert.message


def test_latency_far_above_baseline_but_within_slo_is_a_warning(tmp_path: Path) -> None:
    events = [replace(e, latency_ms=e.latency_ms * 3.5) if in_last(15, e) else e for e in normal_events()]
    alerts = detect(tmp_path, events)
    assert keys(alerts) == ["latency:rest"]
    assert alerts[0].severity == "warning" and alerts[0].observed < RULES.slo_p95_ms
    assert alerts[0].ratio >= RULES.far_ratio and alerts[0].z >= RULES.far_z


def test_wave_of_one_error_on_one_field_names_the_field_and_the_kind(tmp_path: Path) -> None:
    # A client starts sending AMT_INCOME_TOTAL as text: two requests in three are now refused.
    events = [
        replace(e, error_kind="wrong_type", field="AMT_INCOME_TOTAL")
        if in_last(10, e) and not e.error_kind and i % 3
        else e
        for i, e in enumerate(normal_events())
    ]
    alerts = detect(tmp_path, events)
    assert keys(alerts) == ["errors:wrong_type:AMT_INCOME_TOTAL"]
    alert = alerts[0]
    assert "wrong_type" in alert.title and "AMT_INCOME_TOTAL" in alert.title and "format" in alert.title
    assert alert.details["channels"] == {"rest": alert.details["rejected"]}
    assert NOW - timedelta(minutes=10) <= alert.since < NOW


def test_server_errors_are_critical_and_separate_from_client_errors(tmp_path: Path) -> None:
    events = [
        replace(e, error_kind="log_write_failed", field=None, http_status=503)
        if in_last(5, e) and not e.error_kind
        else e
        for e in normal_events()
    ]
    alerts = detect(tmp_path, events)
    assert keys(alerts) == ["errors:server"]
    assert alerts[0].severity == "critical" and "log_write_failed" in alerts[0].title


def test_traffic_gap_in_opening_hours_raises_exactly_the_idle_alert(tmp_path: Path) -> None:
    events = [e for e in normal_events() if not in_last(40, e)]
    alerts = detect(tmp_path, events)
    assert keys(alerts) == ["traffic:idle"]  # the drop against earlier days is folded into it
    assert alerts[0].severity == "critical" and alerts[0].observed == pytest.approx(40, abs=1)


def test_traffic_surge_against_the_same_hours_of_earlier_days(tmp_path: Path) -> None:
    extra = [Event(NOW - timedelta(seconds=5 * i + 1)) for i in range(150)]  # 5x the usual rate
    alerts = detect(tmp_path, normal_events() + extra)
    assert "traffic:surge" in keys(alerts)


@pytest.mark.parametrize(
    ("hub", "severity"),
    [
        (
            {
                "last_push_ok": False,
                "failures": 2,
                "last_error": "HfHubHTTPError: 401",
                "last_attempt_at": "2025-03-12T13:58:00Z",
            },
            "warning",
        ),
        ({"last_push_at": "2025-03-12T13:20:00Z"}, "critical"),  # 40 min > 3 x 5 min
    ],
    ids=["failing", "overdue"],
)
def test_failed_or_overdue_push_raises_exactly_the_storage_alert(tmp_path: Path, hub: dict, severity: str) -> None:
    alerts = detect(tmp_path, normal_events(), hub_status={**HUB_OK, **hub})
    assert keys(alerts) == ["storage:hub"]
    assert alerts[0].severity == severity


def test_inference_jump_after_a_version_change(tmp_path: Path) -> None:
    switch = NOW - timedelta(hours=2)
    events = [
        replace(e, version="v2", inference_ms=e.inference_ms * 3) if e.ts >= switch else e for e in normal_events()
    ]
    alerts = detect(tmp_path, events)
    assert keys(alerts) == ["inference:v2"]
    alert = alerts[0]
    assert alert.details["previous_version"] == "v1" and alert.ratio == pytest.approx(3, rel=0.15)
    assert switch <= alert.since < switch + timedelta(minutes=1)


# ------------------------------------------------------------------------------------- pure pieces


def _empty_log(tmp_path: Path) -> LogData:
    return read_log([tmp_path / "nothing"])


def test_short_history_says_so_instead_of_judging(tmp_path: Path) -> None:
    events = [e for e in normal_events() if e.ts > NOW - timedelta(days=1)]
    alerts = detect(tmp_path, events)
    assert keys(alerts) == ["traffic:history"]
    assert alerts[0].severity == "info" and "not enough history" in alerts[0].title
    assert alerts_to_gauges(alerts)["scoring_alerts_active"] == 0  # a note, not an incident


def test_idle_time_before_opening_does_not_count(tmp_path: Path) -> None:
    morning = datetime(2025, 3, 12, 7, 20, tzinfo=UTC)  # 08:20 in Paris, nothing since last evening
    assert detect_idle(_empty_log(tmp_path), now=morning, rules=RULES) == []
    alerts = detect_idle(_empty_log(tmp_path), now=morning + timedelta(minutes=15), rules=RULES)
    assert keys(alerts) == ["traffic:idle"]
    saturday = datetime(2025, 3, 15, 14, 0, tzinfo=UTC)
    assert detect_idle(_empty_log(tmp_path), now=saturday, rules=RULES) == []


def test_unwritable_log_folder_is_critical() -> None:
    health = LogHealth("/data/predictions", False, 10, None, "PermissionError: denied", "2025-03-12T13:50:00Z")
    alerts = detect_storage(now=NOW, rules=RULES, log_health=health)
    assert keys(alerts) == ["storage:log"] and alerts[0].severity == "critical"
    assert detect_storage(now=NOW, rules=RULES, hub_status={**HUB_OK, "enabled": False, "last_push_ok": False}) == []


def test_robust_baseline_ignores_outliers_and_floors_its_scale() -> None:
    base = robust_baseline([10, 10, 10, 10, 500], floor=1.0, min_windows=4)
    assert base is not None and base.median == 10 and base.scale == 1.0  # MAD 0: floored at 10 % of 10
    assert robust_baseline([1, 2, 3], floor=1.0, min_windows=4) is None


@pytest.mark.parametrize(
    ("text", "days", "opens", "closes"),
    [
        ("mon-fri 08:00-20:00", (0, 1, 2, 3, 4), time(8), time(20)),
        ("sat,mon 9:30-12:00", (0, 5), time(9, 30), time(12)),
        ("fri-mon 10:00-18:00", (0, 4, 5, 6), time(10), time(18)),
    ],
)
def test_parse_opening_hours(text: str, days: tuple[int, ...], opens: time, closes: time) -> None:
    assert parse_opening_hours(text) == (days, opens, closes)


@pytest.mark.parametrize("text", ["weekdays 8-20", "mon-fri 20:00-08:00", "mon-xyz 08:00-20:00"])
def test_parse_opening_hours_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="opening hours"):
        parse_opening_hours(text)


def test_merge_wraps_drift_dicts_and_puts_the_most_severe_first() -> None:
    ops = [Alert(key="traffic:surge", kind="traffic", severity="warning", title="surge", check="x", since=NOW)]
    drift = [
        {
            "kind": "univariate",
            "feature": "EXT_SOURCE_3",
            "method": "jensen_shannon",
            "threshold": 0.1,
            "chunks": ["2025-03-11", "2025-03-12"],
            "severity": "critical",
            "message": "EXT_SOURCE_3 drifted",
        },
        {"message": "something moved", "severity": "info"},
    ]
    merged = merge_alerts(ops, drift)
    assert [a.severity for a in merged] == ["critical", "warning", "info"]
    assert merged[0].key == "drift:univariate:EXT_SOURCE_3:jensen_shannon" and merged[0].source == "drift"
    assert merged[0].since == datetime(2025, 3, 11, tzinfo=UTC)
    for alert in merged:
        data = json.loads(json.dumps(alert.as_dict()))
        assert {"key", "kind", "severity", "message", "feature", "since", "check"} <= data.keys()


def test_gauges_are_label_free_and_always_present() -> None:
    alerts = [
        Alert(key="latency:rest", kind="latency", severity="critical", title="t", check="c"),
        Alert(key="storage:hub", kind="storage", severity="warning", title="t", check="c"),
    ]
    gauges = alerts_to_gauges(alerts)
    assert gauges["scoring_alerts_active"] == 2 and gauges["scoring_alerts_critical"] == 1
    assert gauges["scoring_alerts_latency"] == 1 and gauges["scoring_alerts_drift"] == 0
    assert all("{" not in name for name in gauges)
    assert alerts_to_gauges([]).keys() == gauges.keys()


def test_rules_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service and the report build their rules the same way: environment -> Settings -> AlertRules."""
    monkeypatch.setenv("ALERT_LATENCY_P95_MS", "7")
    monkeypatch.setenv("ALERT_WINDOW_MIN", "5")
    monkeypatch.setenv("ALERT_OPENING_HOURS", "mon,wed 09:00-12:30")
    rules = Settings().alert_rules()
    assert rules.slo_p95_ms == 7 and rules.window == timedelta(minutes=5)
    assert (rules.opening_days, rules.opening_start, rules.opening_end) == ((0, 2), time(9, 0), time(12, 30))
    assert rules.slo_p99_ms == RULES.slo_p99_ms  # what the environment does not set keeps the default


def _auth_burst(minutes: int) -> list[Event]:
    """Unauthenticated requests (one sampled row in two requests) over the last `minutes` minutes."""
    extra = [
        Event(NOW - timedelta(seconds=s), error_kind="auth", field=None, http_status=401)
        for s in range(5, minutes * 60, 20)
    ]
    return normal_events() + extra


def test_a_burst_of_unauthenticated_requests_does_not_page(tmp_path: Path) -> None:
    """Issue 14 item 4: one window of 401s (a scanner, /metrics without a token) is no incident."""
    assert keys(detect(tmp_path, _auth_burst(10))) == []


def test_unauthenticated_requests_that_persist_do_page(tmp_path: Path) -> None:
    """...but 401s lasting three windows (45 min) in a row do: a client's token was rotated or expired."""
    alerts = detect(tmp_path, _auth_burst(50))
    assert keys(alerts) == ["errors:auth:-"]
    assert "auth" in alerts[0].title
