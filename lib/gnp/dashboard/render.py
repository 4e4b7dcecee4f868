"""Turning charts into something a page can show with no network at all.

Static charts become SVG through vl-convert (Vega runs inside the Python
package). Vega writes each mark's tooltip fields into its ``aria-label``;
copying that into an SVG ``<title>`` gives the browser's own hover tooltip, so
static charts keep their tooltips without any JavaScript. Interactive charts
use Altair's JupyterChart with its JavaScript bundled offline by vl-convert.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor

import altair as alt
import vl_convert as vlc

SVG_THREADS = 4
log = logging.getLogger(__name__)
_LABELLED_MARK = re.compile(r'<(path|rect|circle|line|text|symbol)([^>]*?)\saria-label="([^"]*)"([^>]*?)(/?)>')


def with_native_tooltips(svg: str) -> str:
    """Add a ``<title>`` (the browser's hover tooltip) to every SVG mark that has an aria-label."""

    def titled(match: re.Match) -> str:
        tag, before, label, after, self_closing = match.groups()
        opening = f'<{tag}{before} aria-label="{label}"{after}>'
        return f"{opening}<title>{label}</title></{tag}>" if self_closing else f"{opening}<title>{label}</title>"

    return _LABELLED_MARK.sub(titled, svg)


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as standalone SVG markup, with hover tooltips; it may fetch nothing (its data is inline).

    The spec is not validated again here: the chart builders' unit tests validate every spec, and
    validation costs as much as a small conversion on every redraw.
    """
    from altair.utils._importers import vl_version_for_vl_convert

    spec = chart.to_dict(validate=False)
    return with_native_tooltips(vlc.vegalite_to_svg(spec, vl_version=vl_version_for_vl_convert(),
                                                    allowed_base_urls=[]))


def _svg_or_none(chart: alt.TopLevelMixin) -> str | None:
    try:
        return chart_svg(chart)
    except Exception:
        log.exception("a chart could not be converted to SVG")
        return None


def charts_svg(charts: list[alt.TopLevelMixin]) -> list[str | None]:
    """Several charts at once (vl-convert converts concurrently); None for a chart that failed, logged."""
    if len(charts) < 2:
        return [_svg_or_none(c) for c in charts]
    with ThreadPoolExecutor(max_workers=SVG_THREADS) as pool:
        return list(pool.map(_svg_or_none, charts))


def interactive_widget(chart: alt.TopLevelMixin):
    """A JupyterChart whose JavaScript comes from vl-convert, not a CDN; update it with ``.chart = new``."""
    alt.JupyterChart.enable_offline()
    return alt.JupyterChart(chart, embed_options={"renderer": "svg", "actions": False})
