"""HTML of the Monitoring tab's first screen: the overall status, the KPI cards, the settings line, the alerts.

Rendering only: what the status is and which numbers go on the cards is `monitoring.overview`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from monitoring.alerts.model import Alert
from monitoring.drift.chunking import MIN_CHUNK_ROWS
from monitoring.overview import Overview
from monitoring.runner import RunnerState
from service.ui.common import html_escape

COLOURS = {"ok": "#067647", "warning": "#b54708", "critical": "#b42318", "info": "#667085"}
WORDS = {"ok": "OK", "warning": "Warning", "critical": "Critical", "info": "info"}
CSS = """
#mon-overall .banner { border-radius: 10px; padding: 10px 16px; color: white; font-size: 1.1em; }
#mon-overall .banner b { font-size: 1.25em; margin-right: 10px; }
#mon-kpis .cards { display: flex; flex-wrap: wrap; gap: 8px; }
#mon-kpis .card { border: 1px solid #d0d5dd; border-left: 6px solid var(--lvl); border-radius: 8px;
  padding: 6px 12px; min-width: 150px; flex: 1; background: var(--block-background-fill); }
#mon-kpis .card .label { font-size: 0.8em; color: #475467; }
#mon-kpis .card .value { font-size: 1.35em; font-weight: 700; }
#mon-kpis .card .ref { font-size: 0.78em; color: #475467; }
#mon-alerts table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
#mon-alerts td, #mon-alerts th { border-bottom: 1px solid #eaecf0; padding: 4px 8px; text-align: left;
  vertical-align: top; }
#mon-alerts td.since { white-space: nowrap; }
#mon-alerts .sev { color: white; border-radius: 6px; padding: 1px 7px; font-size: 0.85em; white-space: nowrap; }
"""


def overall_html(overview: Overview | None, state: RunnerState) -> str:
    """The banner: OK / Warning / Critical and its one-line reason, or what the first analysis is doing."""
    if overview is None:
        if state.running:
            text = "<b>⏳ Working</b> First analysis running: reading the log and fitting the drift monitor on the"
            text += " holdout (about 15 s after a start). The page updates by itself."
        else:
            text = "<b>No analysis yet</b> Pick a window and press <i>Refresh analysis</i>."
        return f'<div class="banner" style="background:{COLOURS["info"]}">{text}</div>'
    colour = COLOURS[overview.level]
    return (
        f'<div class="banner" style="background:{colour}" data-level="{overview.level}">'
        f"<b>{WORDS[overview.level]}</b>{html_escape(overview.reason)}</div>"
    )


def cards_html(overview: Overview | None) -> str:
    if overview is None or not overview.cards:
        return ""
    cards = "".join(
        f'<div class="card" style="--lvl:{COLOURS[c.level]}" data-level="{c.level}">'
        f'<div class="label">{html_escape(c.label)}</div><div class="value">{html_escape(c.value)}</div>'
        f'<div class="ref">{html_escape(c.reference)}</div></div>'
        for c in overview.cards
    )
    return f'<div class="cards">{cards}</div>'


def settings_line(state: RunnerState) -> str:
    """What is on screen (the settings of the shown result), and what is running or waiting."""
    parts = []
    result = state.result
    if result is not None:
        chunks = result.chunks
        parts.append(
            f"Showing window **{html_escape(result.window.get('name', '?'))}**, chunks by "
            f"**{result.chunking.label()}**: {int(chunks['enough'].sum())}/{len(chunks)} chunks with at least "
            f"{MIN_CHUNK_ROWS} rows. Computed {result.computed_at} in {result.compute_seconds:.1f} s; "
            f"reference {result.reference_rows:,} rows."
        )
    if state.running and state.requested:
        window, chunks = state.requested
        parts.append(f"⏳ **Analysis running** (window {window}, chunks by {chunks}); the page updates when it ends.")
    if state.queued:
        window, chunks = state.queued
        parts.append(f"🕒 **Queued**: window {window}, chunks by {chunks}; it starts when the running one ends.")
    if state.error:
        parts.append(f"⚠️ Last run failed: `{html_escape(state.error)}` (showing the previous result).")
    return "  \n".join(parts)


def _since(alert: Alert) -> str:
    return "—" if alert.since is None else alert.since.astimezone(UTC).strftime("%d %b %H:%M UTC")


def alerts_html(alerts: Sequence[Alert]) -> str:
    """Every alert, most severe first: severity, since when, where, and the whole message (never cut)."""
    if not alerts:
        return "<p>No alert: operational checks and drift are within their limits.</p>"
    rows = "".join(
        f'<tr data-severity="{a.severity}"><td><span class="sev" style="background:{COLOURS[a.severity]}">'
        f'{a.severity}</span></td><td class="since">{_since(a)}</td><td>{html_escape(a.source)} · '
        f"{html_escape(a.kind)}</td><td>{html_escape(a.subject or '—')}</td><td>{html_escape(a.message)}</td></tr>"
        for a in alerts
    )
    return (
        "<table><tr><th>severity</th><th>since</th><th>source · kind</th><th>subject</th><th>what and what to check"
        f"</th></tr>{rows}</table>"
    )
