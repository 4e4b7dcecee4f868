"""HTML fragments shared by the live dashboard and the static report: pure string builders."""

from __future__ import annotations

import datetime as dt
import html
import math
import re

import pandas as pd

from gnp.dashboard.queries import Filters
from gnp.serving import releases
from gnp.serving.releases import Release

STYLE = """
<style>
.gnp-root { font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; color: #222; max-width: 1240px; }
.gnp-root .widget-html-content { line-height: 1.4; }
.gnp-root h1 { font-size: 1.6em; margin: 0.2em 0; }
.gnp-root h3 { font-size: 1.1em; margin: 0.8em 0 0.3em; }
.gnp-sub { color: #555; margin: 0 0 0.6em; }
.gnp-status { color: #555; font-size: 0.9em; min-height: 1.4em; }
.gnp-status.busy::before { content: "⏳ "; }
.gnp-cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 4px; }
.gnp-card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 170px; background: #fafafa; }
.gnp-card .label { font-size: 0.85em; color: #555; }
.gnp-card .value { font-size: 1.5em; font-weight: bold; }
.gnp-card .change { font-size: 0.85em; color: #555; }
.gnp-card .suppressed { color: #888; font-style: italic; }
.gnp-footnote { font-size: 0.8em; color: #666; }
.gnp-comparison { font-size: 0.9em; color: #555; margin: 6px 0 0; }
.gnp-caption { font-size: 0.82em; color: #555; max-width: 980px; }
.gnp-caption p { margin: 0.15em 0; }
.gnp-placeholder { padding: 2em 1em; color: #666; background: #f4f4f4; border-radius: 6px; }
.gnp-message { padding: 2em; font-size: 1.2em; background: #fff6e0; border: 1px solid #e9c46a; border-radius: 6px; }
.gnp-panel { border-top: 1px solid #eee; padding-bottom: 8px; }
</style>
"""
HEADLINE_FOOTNOTE = (
    "Medians over one whole ISO week or calendar month are exact (each user's median of the period, then the "
    "median over users); ≈ marks those still approximated by the users-weighted mean of smaller medians. "
    "Users: over one whole week or month, the period's distinct users; otherwise counted once per day they "
    "tested. Suppressed cells (too few users) are left out of users and medians, not of tests. Change: against "
    "the previous months for whole months, else the same number of days before, and only when that period has "
    "tests on most of its days."
)
NO_DATA = "No data for this selection."


def escape(text) -> str:
    return html.escape(str(text))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value, unit: str) -> str:
    if _missing(value):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit:
        return f"{value:,.1f} {unit}"
    return f"{value:,.0f}"


def format_change(change, change_unit: str) -> str:
    if _missing(change):
        return "no previous period to compare"
    return f"{change:+.1f} {'pp' if change_unit == 'pp' else '%'} vs previous period"


def headline_html(frame: pd.DataFrame) -> str:
    """The cards; a previous period too thin to compare with is said once, above them, not on every card."""
    records = frame.to_dict("records")
    why_not = next((r["comparison_note"] for r in records if r.get("comparison_note")), "")
    cards = []
    for row in records:
        if row["is_suppressed"]:
            value, change = '<span class="suppressed">suppressed</span>', "fewer than k users"
        else:
            value = escape(format_value(row["value"], row["unit"]))
            change = "" if row.get("comparison_note") else escape(format_change(row["change"], row["change_unit"]))
        note = f'<div class="note">{escape(row["note"])}</div>' if row.get("note") else ""  # what is still ≈
        cards.append(f'<div class="gnp-card" data-metric="{escape(row["metric"])}"><div class="label">{escape(row["label"])}'
                     f'</div><div class="value">{value}</div><div class="change">{change}</div>{note}</div>')
    comparison = f'<div class="gnp-comparison">{escape(why_not)}</div>' if why_not else ""
    return (f'{comparison}<div class="gnp-cards">{"".join(cards)}</div>'
            f'<div class="gnp-footnote">{escape(HEADLINE_FOOTNOTE)}</div>')


def caption_html(lines: list[str], generation: int = 0) -> str:
    """The figure's caption; its generation says which redraw it is current for."""
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line)
    return f'<div class="gnp-caption" data-generation="{generation}">{body}</div>'


def placeholder_html(state: str, k: int, generation: int = 0) -> str:
    text = {"suppressed": f"Every cell of this figure is suppressed (fewer than {k} users).",
            "error": "This figure could not be drawn (the server log has the details)."}.get(
        state, "No data for this figure in this selection.")
    return (f'<div class="gnp-placeholder" data-state="{escape(state)}" data-generation="{generation}">'
            f'{escape(text)}</div>')


def chart_html(svg: str, generation: int) -> str:
    return f'<div class="gnp-chart" data-generation="{generation}">{svg}</div>'


def _day(value: dt.date | None) -> str:
    return value.strftime("%d %b %Y") if value else "?"


def selection_text(f: Filters, periphery_names: dict[str, str], unit_names: dict[str, str] | None = None) -> str:
    """'08 Jan 2025 – 06 Feb 2025 · ΑΤΤΙΚΗΣ · Πειραιώς · all ISPs'.

    The name maps go from code to name, one per level: periphery and regional
    unit codes overlap (periphery 9 is Attica, regional unit 9 is Kilkis).
    """
    parts = [f"{_day(f.date_from)} – {_day(f.date_to)}"]
    parts.append(periphery_names.get(f.periphery_id, f.periphery_id) if f.periphery_id else "all of Greece")
    if f.regional_unit_id:
        parts.append((unit_names or {}).get(f.regional_unit_id, f.regional_unit_id))
    parts.append(f"ISP {f.isp}" if f.isp else "all ISPs")
    return " · ".join(parts)


def status_html(text: str, busy: bool = False, generation: int = 0) -> str:
    return f'<div class="gnp-status{" busy" if busy else ""}" data-generation="{generation}">{escape(text)}</div>'


def range_html(first: dt.date, last: dt.date) -> str:
    """Gold's dates, for the page's script that bounds the date inputs (the widgets' view does not)."""
    return f'<span class="gnp-range" data-first="{first.isoformat()}" data-last="{last.isoformat()}" hidden></span>'


def message_html(text: str, detail: str = "") -> str:
    return f'<div class="gnp-message"><b>{escape(text)}</b>{"<br>" + escape(detail) if detail else ""}</div>'


def release_html(release: Release | None) -> str:
    """Where the latest open-data release is, or how to make one (``gnp.serving.releases.sentence``)."""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(releases.sentence(release)))
    return f"<p class='gnp-sub gnp-release'>{text}</p>"
