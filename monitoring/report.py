"""Monitoring report: the analyses of the UI tab as one self-contained HTML page plus a JSON summary.

    python -m monitoring.report --log-dir data/predictions [--history-dir data/history] \\
        --model-dir model --out report.html --json summary.json [--chunk-period D | --chunk-size 1000] \\
        [--challenger-dir DIR]

The page inlines plotly.js once and works offline; the JSON is `MonitoringResult.summary()`.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from monitoring.alerts.outcomes import OutcomeRules
from monitoring.alerts.pair import AGREEMENT_FLOOR
from monitoring.alerts.rules import AlertRules
from monitoring.drift.chunking import MIN_CHUNK_ROWS, Chunking
from monitoring.drift.result import MonitoringResult

KPI_LABELS = {
    "predictions": "predictions",
    "approval_rate": "approval rate",
    "mean_probability": "mean probability",
    "rejected_rate": "rejected requests",
    "latency_ms_p50": "latency p50 (ms)",
    "latency_ms_p95": "latency p95 (ms)",
    "latency_ms_p99": "latency p99 (ms)",
    "inference_ms_p50": "inference p50 (ms)",
    "inference_ms_p99": "inference p99 (ms)",
    "model_versions": "model version(s)",
}
CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 8px 14px; min-width: 120px; }
.card b { display: block; font-size: 1.3em; }
table.alerts { border-collapse: collapse; width: 100%; }
table.alerts td, table.alerts th { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: left; }
.critical { color: #b00; font-weight: bold; } .warning { color: #c60; } .info { color: #666; }
.caption { color: #555; margin: 2px 0 18px; }
"""


def format_kpi(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if name in {"approval_rate", "rejected_rate"}:
        return f"{value:.1%}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def kpi_cards(kpis: dict[str, Any]) -> str:
    cards = [
        f'<div class="card">{html.escape(label)}<b>{html.escape(format_kpi(key, kpis.get(key)))}</b></div>'
        for key, label in KPI_LABELS.items()
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


def alerts_table(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return "<p>No alert in this window.</p>"
    rows = "".join(
        f'<tr><td class="{a["severity"]}">{a["severity"]}</td><td>{html.escape(a["kind"])}</td>'
        f"<td>{html.escape(a['feature'])}</td><td>{html.escape(a['message'])}</td></tr>"
        for a in alerts
    )
    return f'<table class="alerts"><tr><th>severity</th><th>kind</th><th>feature</th><th>what</th></tr>{rows}</table>'


OUTCOME_CARDS = {
    "labelled": "rows with an outcome",
    "coverage": "label coverage",
    "roc_auc": "realized ROC AUC",
    "estimated_roc_auc": "CBPE ROC AUC (same rows)",
    "cost_per_1000": "realized cost / 1,000",
    "estimated_cost_per_1000": "CBPE cost / 1,000 (same rows)",
    "default_rate": "default rate among approved",
}


def _div(figure: Any) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, default_width="100%")


def outcome_section(result: MonitoringResult) -> str:
    """Realized vs estimated headline figures, the accepts-only warning and the outcome charts."""
    from monitoring.outcome_plots import CAPTIONS, OUTCOME_CHARTS

    outcomes = result.outcomes
    if outcomes is None:
        return ""
    overall, reference = outcomes.overall, outcomes.reference
    cards = []
    for key, label in OUTCOME_CARDS.items():
        value = overall.get(key)
        shown = (
            "—"
            if value is None or value != value
            else (f"{value:.1%}" if key in {"coverage", "default_rate"} else format_kpi(key, value))
        )
        cards.append(f'<div class="card">{html.escape(label)}<b>{html.escape(shown)}</b></div>')
    state = (
        ""
        if overall["enough_labels"]
        else (
            f"<p class='warning'>Not enough labels: {overall['labelled']} rows with an outcome, at least "
            f"{outcomes.rules.min_labels} needed for realized figures.</p>"
        )
    )
    ref = (
        f"Reference (accepts-only): ROC AUC {reference['roc_auc']:.3f}, cost "
        f"{reference['cost_per_1000']:.0f} per 1,000, default rate {reference['default_rate']:.1%}."
    )
    charts = [
        f'<section><div class="chart">{_div(chart(result))}</div><p class="caption">{html.escape(CAPTIONS[name])}</p>'
        "</section>"
        for name, chart in OUTCOME_CHARTS.items()
    ]
    from monitoring.drift.realized import ACCEPTS_ONLY

    return (
        f"<h2>Outcomes: realized performance</h2><p><b>{html.escape(ACCEPTS_ONLY)}</b> {html.escape(ref)}</p>{state}"
        f'<div class="cards">{"".join(cards)}</div>{"".join(charts)}'
    )


PAIR_CARDS = {
    "agreement": "decision agreement",
    "approve_to_refuse_rate": "champion approves, challenger refuses",
    "refuse_to_approve_rate": "champion refuses, challenger approves",
    "pearson": "score correlation (Pearson)",
    "spearman": "rank correlation (Spearman)",
    "champion_estimated_roc_auc": "CBPE ROC AUC, champion",
    "challenger_estimated_roc_auc": "CBPE ROC AUC, challenger",
    "champion_estimated_cost_per_1000": "CBPE cost / 1,000, champion",
    "challenger_estimated_cost_per_1000": "CBPE cost / 1,000, challenger",
    "champion_roc_auc": "realized ROC AUC, champion",
    "challenger_roc_auc": "realized ROC AUC, challenger",
    "champion_cost_per_1000": "realized cost / 1,000, champion",
    "challenger_cost_per_1000": "realized cost / 1,000, challenger",
}


def pair_figures(pair: Any) -> dict[str, str]:
    """The pair's headline figures as shown text (agreement and swaps in percent), for the report and the tab."""
    values = {**pair.overall, **pair.estimated, **pair.realized}
    shown = {}
    for key in PAIR_CARDS:
        value = values.get(key)
        if value is None or value != value:
            shown[key] = "—"
        else:
            shown[key] = f"{value:.1%}" if key.endswith(("agreement", "_rate")) else format_kpi(key, float(value))
    return shown


def pair_section(result: MonitoringResult) -> str:
    """Champion vs challenger: headline cards, the versions and the pair charts (nothing without a challenger)."""
    from monitoring.pair_plots import CAPTIONS, PAIR_CHARTS

    pair = result.pair
    if pair is None:
        return ""
    shown = pair_figures(pair)
    cards = "".join(
        f'<div class="card">{html.escape(label)}<b>{html.escape(shown[key])}</b></div>'
        for key, label in PAIR_CARDS.items()
    )
    versions = pair.versions
    meta = (
        f"{pair.overall['rows']:,} rows scored by both; champion {', '.join(versions['champion']) or '—'}, "
        f"challenger {', '.join(versions['challenger']) or '—'}; realized figures on {pair.realized['labelled']:,} "
        "labelled rows (loans the champion approved)."
    )
    charts = "".join(
        f'<section><div class="chart">{_div(chart(result))}</div><p class="caption">{html.escape(CAPTIONS[name])}</p>'
        "</section>"
        for name, chart in PAIR_CHARTS.items()
    )
    return f'<h2>Champion vs challenger</h2><p>{html.escape(meta)}</p><div class="cards">{cards}</div>{charts}'


def render_html(
    result: MonitoringResult,
    *,
    alerts: list[dict[str, Any]] | None = None,
    title: str = "Crédit Express — production monitoring",
) -> str:
    """One page, plotly.js inlined once, every chart with its how-to-read line."""
    from plotly.offline import get_plotlyjs

    from monitoring.plots import CAPTIONS, CHARTS

    sections = []
    for name, chart in CHARTS.items():
        div = chart(result).to_html(full_html=False, include_plotlyjs=False, default_width="100%")
        sections.append(
            f'<section><div class="chart">{div}</div><p class="caption">{html.escape(CAPTIONS[name])}</p></section>'
        )
    window = result.window or {}
    chunks = result.chunks
    meta = (
        f"Window: {html.escape(str(window.get('name', 'all')))} · chunks by {html.escape(result.chunking.label())}"
        f" · {int(chunks['enough'].sum())}/{len(chunks)} chunks with at least {MIN_CHUNK_ROWS} rows · "
        f"reference {result.reference_rows:,} rows · computed {html.escape(result.computed_at)} in "
        f"{result.compute_seconds:.1f} s"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{meta}</p>{kpi_cards(result.kpis)}<h2>Alerts</h2>"
        f"{alerts_table(result.alerts if alerts is None else alerts)}<h2>Charts</h2>{''.join(sections)}"
        f"{outcome_section(result)}{pair_section(result)}</body></html>"
    )


def analyse(
    log_dirs: Sequence[Path],
    model_dir: Path,
    chunking: Chunking,
    *,
    rules: OutcomeRules | None = None,
    challenger_dir: Path | None = None,
    agreement_floor: float = AGREEMENT_FLOOR,
) -> MonitoringResult:
    """The drift analysis, the outcome analysis and, when a challenger scored rows, the pair analysis."""
    from monitoring.drift.monitor import TOP_FEATURES, fitted_monitor
    from monitoring.drift.pair_reference import pair_analysis, with_pair_alerts
    from monitoring.drift.realized import calculate_with_outcomes
    from monitoring.log.reader import read_log, read_outcomes

    data = read_log(list(log_dirs))
    outcomes = read_outcomes(list(log_dirs))
    rules = rules or OutcomeRules()
    monitor = fitted_monitor(str(model_dir), TOP_FEATURES)
    result = calculate_with_outcomes(
        monitor,
        data.predictions,
        outcomes=outcomes,
        rules=rules,
        chunking=chunking,
        rejections=data.rejections,
        window={"name": "all", "start": None, "end": None},
    )
    result.pair = pair_analysis(
        data.predictions,
        chunking=chunking,
        outcomes=outcomes,
        model_dir=str(model_dir),
        challenger_dir=str(challenger_dir) if challenger_dir else None,
        min_labels=rules.min_labels,
        floor=agreement_floor,
    )
    result.alerts = with_pair_alerts(result)
    return result


def all_alerts(
    log_dirs: Sequence[Path], result: MonitoringResult, *, rules: AlertRules, now: datetime | None = None
) -> list[dict]:
    """Operational alerts judged now on the log (no Hub state offline) merged with the drift alerts.

    `rules` are the service's own (`Settings().alert_rules()`), so the report and the running service
    raise the same alerts on the same log.
    """
    from datetime import UTC, timedelta

    from monitoring.alerts.operational import detect_operational, merge_alerts
    from monitoring.log.reader import read_log

    now = now or datetime.now(UTC)
    data = read_log(list(log_dirs), start=now - rules.history, end=now + timedelta(seconds=1))
    return [a.as_dict() for a in merge_alerts(detect_operational(data, now=now, rules=rules), result.alerts)]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m monitoring.report", description=__doc__.splitlines()[0])
    parser.add_argument("--log-dir", type=Path, required=True, help="live prediction log folder")
    parser.add_argument("--history-dir", type=Path, help="history folder pulled from the Hub (optional)")
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    parser.add_argument(
        "--challenger-dir", type=Path, default=None, help="the challenger's model folder (its CBPE in the pair section)"
    )
    parser.add_argument("--out", type=Path, default=Path("report.html"))
    parser.add_argument("--json", type=Path, default=Path("summary.json"))
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--chunk-period", default=None, help="chunk by time: h (hour), D (day), W (week)")
    group.add_argument("--chunk-size", type=int, default=None, help=f"chunk by row count (>= {MIN_CHUNK_ROWS})")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from service.settings import Settings

    args = parse_args(argv)
    try:
        chunking = Chunking(period=args.chunk_period, size=args.chunk_size)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dirs = [args.log_dir, *([args.history_dir] if args.history_dir else [])]
    if not any(d.is_dir() for d in dirs):
        print(f"error: no log folder found among {[str(d) for d in dirs]}", file=sys.stderr)
        return 2
    started = datetime.now()
    settings = Settings()
    result = analyse(
        dirs,
        args.model_dir,
        chunking,
        rules=settings.outcome_rules(),
        challenger_dir=args.challenger_dir,
        agreement_floor=settings.pair_agreement_floor,
    )
    alerts = all_alerts(dirs, result, rules=settings.alert_rules())
    args.out.write_text(render_html(result, alerts=alerts), encoding="utf-8")
    summary = {**result.summary(), "alerts": alerts}
    args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    seconds = (datetime.now() - started).total_seconds()
    print(
        f"{result.kpis['predictions']:,} predictions, {len(alerts)} alerts -> {args.out}, {args.json} ({seconds:.1f} s)"
    )
    for alert in alerts[:10]:
        print(f"  [{alert['severity']}] {alert['message']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
