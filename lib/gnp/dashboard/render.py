"""Turning charts into something a page can show with no network at all.

Static charts become SVG through vl-convert (Vega runs inside the Python
package). Vega writes each mark's tooltip fields into its ``aria-label``;
copying that into an SVG ``<title>`` gives the browser's own hover tooltip, so
static charts keep their tooltips without any JavaScript: the static report
uses them. The live page draws every chart in the browser instead
(``VegaChart``): the kernel sends the Vega-Lite spec with its data, and
vega-embed, bundled once by vl-convert and served by Voila as a static file
(cached by the browser), draws it. Converting a chart to SVG in the kernel
took 0.15-0.4 s each (8 of them on every filter change); sending a spec
takes milliseconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path

import altair as alt
import anywidget
import traitlets
import vl_convert as vlc
from altair.utils.schemapi import SchemaBase
from IPython.display import SVG

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


def show(chart: alt.TopLevelMixin) -> SVG:
    """The chart as a notebook's SVG output (hover tooltips included): stage views, chapters, report."""
    return SVG(data=chart_svg(chart))


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


@contextlib.contextmanager
def unvalidated() -> Iterator[None]:
    """Charts built and serialized without Altair checking them against the Vega-Lite schema.

    Altair validates as a chart is built and again as a whole in ``to_dict``, even with
    ``validate=False``: 40% of a redraw's kernel time. The chart builders' unit tests validate every
    spec, so the live page skips it. Not thread-safe: a kernel runs its widget callbacks one at a time.
    """
    original = SchemaBase.__dict__["validate"]
    SchemaBase.validate = classmethod(lambda cls, instance, schema=None: None)
    try:
        yield
    finally:
        SchemaBase.validate = original


VEGA_SCRIPT = "gnp-vega-embed.js"  # the page template loads it; it sets window.vegaEmbed
_ESM = """
function whenVegaEmbed() {
  // the page loads the bundle with a script tag; a chart drawn before it has run waits for it
  return new Promise((resolve, reject) => {
    const started = Date.now();
    (function look() {
      if (window.vegaEmbed) { resolve(window.vegaEmbed); }
      else if (Date.now() - started > 30000) { reject(new Error("vega-embed did not load")); }
      else { setTimeout(look, 20); }
    })();
  });
}

function pickedField(spec) {
  // the chart's click selection named "pick" (the map's): its first field's value goes back to the kernel
  const pick = [spec, ...(spec.layer || [])].flatMap(s => s.params || []).find(p => p.name === "pick");
  return pick && pick.select && pick.select.fields ? pick.select.fields[0] : null;
}

function render({ model, el }) {
  el.classList.add("gnp-chart");
  let finalize = null, drawing = 0, drawn = null;
  const draw = async () => {
    const mine = ++drawing, spec = model.get("spec");
    const vegaEmbed = await whenVegaEmbed();
    const target = document.createElement("div");
    const api = await vegaEmbed(target, structuredClone(spec), { renderer: "svg", actions: false });
    if (mine !== drawing) { api.finalize(); return; }  // a newer spec arrived meanwhile
    if (finalize) { finalize(); }
    el.replaceChildren(target);
    const field = pickedField(spec);
    if (field) {
      api.view.addSignalListener("pick", (_, value) => {
        const values = value && value[field];
        if (values && values.length) { model.set("picked", String(values[0])); model.save_changes(); }
      });
    }
    finalize = api.finalize;
    drawn = spec;
    el.dataset.generation = model.get("generation");
  };
  model.on("change:spec", draw);
  // a redraw whose spec is unchanged: the chart shown is already this selection's
  model.on("change:generation", () => {
    if (model.get("spec") === drawn) { el.dataset.generation = model.get("generation"); }
  });
  draw();
  return () => { if (finalize) { finalize(); } };
}
export default { render };
"""


class VegaChart(anywidget.AnyWidget):
    """A Vega-Lite chart drawn by the browser; set ``spec`` and ``generation`` together (``set_chart``)."""

    _esm = _ESM
    spec = traitlets.Dict().tag(sync=True)
    generation = traitlets.Int(0).tag(sync=True)  # the redraw the spec belongs to: the page marks the chart with it
    picked = traitlets.Unicode("").tag(sync=True)  # what a click on a chart's "pick" selection chose ("" none)

    def set_chart(self, chart: alt.TopLevelMixin, generation: int) -> None:
        # not validated again: the chart builders' unit tests validate every spec
        with self.hold_sync():
            self.spec = chart.to_dict(validate=False)
            self.generation = generation


def write_vega_script(folder: Path) -> Path:
    """vega-embed with Vega and Vega-Lite in one script (from vl-convert: no network), written once per version."""
    from altair.utils._importers import vl_version_for_vl_convert

    version = vl_version_for_vl_convert()
    path, stamp = folder / VEGA_SCRIPT, folder / f"{VEGA_SCRIPT}.{version}"
    if not (path.exists() and stamp.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{VEGA_SCRIPT}.{os.getpid()}"  # renamed into place: a reader never sees half
        partial.write_text(vlc.javascript_bundle(vl_version=version), encoding="utf-8")
        partial.replace(path)
        stamp.write_text(version, encoding="utf-8")
    return path
