"""A static HTML copy of the dashboard for a run's artifacts: the same figures, SVG only, no inputs."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from gnp.core import storage
from gnp.core.config import Params
from gnp.core.context import RunContext
from gnp.core.registry import join
from gnp.dashboard import figures as figs
from gnp.dashboard import markup
from gnp.dashboard.headline import headline
from gnp.dashboard.queries import Filters
from gnp.dashboard.render import charts_svg
from gnp.dashboard.selection import filter_options, has_data
from gnp.dashboard.source import open_gold

REPORT_NAME = "dashboard.html"


def _figure_section(drawn: figs.Drawn, svg: str | None, k: int) -> str:
    if drawn.chart is None:
        body = markup.placeholder_html(drawn.state, k)
    else:
        body = markup.chart_html(svg, 0) if svg is not None else markup.placeholder_html("error", k)
    return (f'<section class="gnp-panel gnp-figure-{drawn.figure.key}"><h3>{html.escape(drawn.figure.title)}</h3>'
            f"{body}{markup.caption_html(drawn.caption)}</section>")


def static_report_html(params: Params, filters: Filters | None = None, as_of: dt.date | None = None) -> str:
    """The whole report as one self-contained HTML document (no scripts, no external requests).

    Without ``filters`` it shows what the dashboard opens on, as of the day ``as_of`` (by default Gold's last).
    """
    k = params.semantics.k_anonymity
    with open_gold(params) as gold:
        options = filter_options(gold)
        f = filters or options.default_filters(as_of)
        names = {value: label for label, value in options.peripheries}
        title = f"Greek Net Pulse: {markup.selection_text(f, names)}" if f.is_valid_period else "Greek Net Pulse"
        if not has_data(gold, f):
            body = markup.message_html(markup.NO_DATA)
        else:
            drawn = [figs.draw(fig, gold, f, k) for fig in figs.dashboard_figures(params)]
            svgs = iter(charts_svg([d.chart for d in drawn if d.chart is not None]))
            sections = [_figure_section(d, next(svgs) if d.chart is not None else None, k) for d in drawn]
            body = markup.headline_html(headline(gold, f, params.semantics.attainment_high)) + "".join(sections)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'{markup.STYLE}</head><body class="gnp-root"><h1>{html.escape(title)}</h1>'
            f'<p class="gnp-sub">Static report of the dashboard, generated {generated} from Gold '
            f"({html.escape(params.env)}). Hover a mark for its values.</p>{body}</body></html>")


def render_static_html(params: Params, out_path: str | Path, filters: Filters | None = None) -> str:
    """Write the static report (default selection: the latest whole month in Gold) and return its location."""
    location = str(out_path)
    storage.write_bytes(location, static_report_html(params, filters).encode("utf-8"))
    return location


def run_report_html(ctx: RunContext) -> str:
    """A run's report: the dashboard's first view as of the run's last day (its latest whole month when Gold
    holds one by then, else its last days up to it)."""
    return static_report_html(ctx.params, as_of=ctx.date_to)


def write_run_report(ctx: RunContext) -> str | None:
    """The run's report beside its executed notebooks; outside a run (no run id) nothing is written."""
    if not ctx.run_id:
        return None
    # Written once, like every artifact of a run (the bucket takes new objects, never replacements).
    location = join(ctx.run_dir, REPORT_NAME)
    storage.write_once(location, run_report_html(ctx).encode("utf-8"))
    return location
