"""The ipywidgets dashboard that Voila serves: filters, headline figures and every chart.

Every chart is a ``VegaChart``: the kernel sends its Vega-Lite spec and the
browser draws it (a spec takes milliseconds to send; an SVG took 0.15-0.4 s
to convert in the kernel). No Output widget: large outputs through it can
stall Voila's executor. Nothing here lets
an exception reach the page: failures become a one-line message, details go to
the server log.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict

import ipywidgets as widgets

from gnp.core.config import Params, load_params
from gnp.core.registry import Registry
from gnp.dashboard import figures as figs
from gnp.dashboard import markup
from gnp.dashboard.headline import headline
from gnp.dashboard.queries import Filters
from gnp.dashboard.render import VegaChart, unvalidated
from gnp.dashboard.report import render_static_html  # noqa: F401  (part of this module's interface)
from gnp.dashboard.selection import Options, filter_options, has_data
from gnp.dashboard.source import open_gold
from gnp.serving import releases

PARAMS_ENV = "GNP_PARAMS"  # when set, the params file to use (Voila, tests), over the notebook parameter
ALL = ""  # dropdown value meaning "no filter"
SELECTIONS_KEPT = 8  # per page: bounds an idle visitor's kernel memory (a selection's frames are a few kB)
NOTHING = "no data"  # a selection with nothing in Gold
log = logging.getLogger(__name__)


def load_dashboard_params(params_file: str) -> Params:
    """The notebook's params file, unless GNP_PARAMS names another."""
    return load_params(os.environ.get(PARAMS_ENV) or params_file)


def _labelled() -> dict:
    return {"style": {"description_width": "initial"}, "layout": widgets.Layout(margin="2px 18px 2px 0")}


def _shown(widget: widgets.Widget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


class Panel:
    """One figure on the page: title, chart (drawn by the browser) or placeholder, caption."""

    def __init__(self, figure: figs.Figure, on_pick=None):
        self.figure = figure
        self.on_pick = on_pick  # called with what a click on the chart chose (the map: a periphery code)
        self.static = widgets.HTML()  # the placeholder: suppressed, no data, or an error
        self.live: VegaChart | None = None  # made with the first chart
        self.caption = widgets.HTML()
        self.drawn: figs.Drawn | None = None  # what the panel shows now
        self.box = widgets.VBox([widgets.HTML(f"<h3>{markup.escape(figure.title)}</h3>"), self.static, self.caption],
                                layout=widgets.Layout(width="100%" if figure.wide else "50%", min_width="600px"))
        self.box.add_class("gnp-panel")
        self.box.add_class(f"gnp-figure-{figure.key}")

    def is_current(self, f: Filters) -> bool:
        return self.drawn is not None and self.drawn.filters == f

    def show(self, drawn: figs.Drawn, k: int, generation: int) -> None:
        """Show the figure, marked with the redraw's generation; its spec is sent only for a new selection."""
        self.caption.value = markup.caption_html(drawn.caption, generation)
        unchanged = self.drawn is not None and self.drawn.filters == drawn.filters
        self.drawn = drawn
        if drawn.chart is None:
            self._placeholder(drawn.state, k, generation)
            return
        if self.live is None:
            self.live = VegaChart()
            self.live.add_class("gnp-live-chart")
            if self.on_pick is not None:
                self.live.observe(self._picked, names="picked")
            self.box.children = (self.box.children[0], self.live, *self.box.children[1:])
        if unchanged:
            self.live.generation = generation
        else:
            self.live.set_chart(drawn.chart, generation)
        _shown(self.live, True)
        _shown(self.static, False)

    def _picked(self, change) -> None:
        if change["new"]:
            self.live.picked = ""  # so that the same choice made again is seen again
            self.on_pick(change["new"])

    def show_error(self, generation: int) -> None:
        self.drawn = None
        self._placeholder("error", 0, generation)

    def _placeholder(self, state: str, k: int, generation: int) -> None:
        self.static.value = markup.placeholder_html(state, k, generation)
        _shown(self.static, True)
        if self.live is not None:
            _shown(self.live, False)


class Dashboard:
    """Filters -> queries -> charts; every filter change redraws everything."""

    def __init__(self, params: Params, options: Options):
        self.params, self.options, self.generation = params, options, 0
        self.k = params.semantics.k_anonymity
        self.periphery_names = {value: label for label, value in options.peripheries}
        self.unit_names = {r.regional_unit_id: r.regional_unit for r in options.regional_units.itertuples()}
        start = options.default_filters()
        # bounded by Gold's own dates: the widget clamps whatever the browser sends to them
        bounds = {"min": options.first_date, "max": options.last_date}
        self.date_from = widgets.DatePicker(description="From", value=start.date_from, **bounds, **_labelled())
        self.date_to = widgets.DatePicker(description="To", value=start.date_to, **bounds, **_labelled())
        self.periphery = widgets.Dropdown(description="Periphery", value=ALL, **_labelled(),
                                          options=[("All of Greece", ALL), *options.peripheries])
        self.regional_unit = widgets.Dropdown(description="Regional unit", options=[("All regional units", ALL)],
                                              value=ALL, disabled=True, **_labelled())
        self.isp = widgets.Dropdown(description="ISP", options=[("All ISPs", ALL), *options.isps], value=ALL,
                                    **_labelled())
        for name in ("date_from", "date_to", "periphery", "regional_unit", "isp"):
            getattr(self, name).add_class(f"gnp-filter-{name.replace('_', '-')}")
        self.status, self.headline, self.message = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.panels = [Panel(figure, self._on_pick if figure.key == figs.MAP else None)
                       for figure in figs.dashboard_figures(params)]
        self.grid = widgets.Box([p.box for p in self.panels], layout=widgets.Layout(flex_flow="row wrap"))
        self._quiet = False
        # the selections drawn last, most recent last: going back to one queries nothing (a page shows Gold
        # as it was when it first drew a selection, as a pre-heated page shows Gold as at its kernel's start)
        self._drawn_before: OrderedDict[Filters, object] = OrderedDict()
        self.periphery.observe(self._on_periphery, names="value")
        for control in (self.date_from, self.date_to, self.regional_unit, self.isp):
            control.observe(self._on_filter, names="value")
        self.refresh()

    @property
    def root(self) -> widgets.Widget:
        header = widgets.HTML(markup.STYLE + "<h1>Greek Net Pulse</h1><p class='gnp-sub'>Internet quality across "
                              "Greece, from EETT's Hyperion speed tests (Gold tables only).</p>"
                              + markup.range_html(self.options.first_date, self.options.last_date)
                              + markup.release_html(releases.latest(releases.root(Registry.from_params(self.params)))))
        filters = widgets.HBox([self.date_from, self.date_to, self.periphery, self.regional_unit, self.isp],
                               layout=widgets.Layout(flex_flow="row wrap"))
        root = widgets.VBox([header, filters, self.status, self.message, self.headline, self.grid])
        root.add_class("gnp-root")
        return root

    def filters(self) -> Filters:
        return Filters(self.date_from.value, self.date_to.value, self.periphery.value or None,
                       self.regional_unit.value or None, self.isp.value or None)

    def _on_periphery(self, change) -> None:
        units = self.options.regional_units_of(change["new"] or None)
        self._quiet = True
        try:
            self.regional_unit.options = [("All regional units", ALL), *units]
            self.regional_unit.value = ALL
            self.regional_unit.disabled = not units
        finally:
            self._quiet = False
        self.refresh()

    def _on_pick(self, periphery_id: str) -> None:
        """A periphery clicked on the map becomes the periphery filter (its change redraws the page)."""
        if periphery_id in self.periphery_names and periphery_id != self.periphery.value:
            self.periphery.value = periphery_id

    def _on_filter(self, _change) -> None:
        if not self._quiet:
            self.refresh()

    def _show_charts(self, visible: bool) -> None:
        _shown(self.grid, visible)
        _shown(self.headline, visible)
        _shown(self.message, not visible)

    def refresh(self) -> None:
        """Redraw the headline and every figure for the current filters."""
        self.generation += 1
        started, f = time.perf_counter(), self.filters()
        self.status.value = markup.status_html("Loading…", busy=True, generation=self.generation)
        try:
            self._draw(f)
        except Exception:  # the page must show a message, never a traceback
            log.exception("dashboard refresh failed for %s", f)
            self._show_charts(False)
            self.message.value = markup.message_html("The dashboard could not load this selection.",
                                                     "The server log has the details.")
        elapsed = time.perf_counter() - started
        self.status.value = markup.status_html(
            f"Showing {markup.selection_text(f, self.periphery_names, self.unit_names)} · drawn in {elapsed:.2f} s", generation=self.generation)

    def _draw(self, f: Filters) -> None:
        if not f.is_valid_period:
            self._show_charts(False)
            self.message.value = markup.message_html(markup.NO_DATA, "Choose a start date on or before the end date.")
            return
        found = self._drawn_before.get(f)
        if found is None:
            found = self._query(f)
        if found is NOTHING:
            self._show_charts(False)
            self.message.value = markup.message_html(
                markup.NO_DATA, f"Nothing in Gold for {markup.selection_text(f, self.periphery_names, self.unit_names)}.")
            return
        headline_html, drawn = found
        self.headline.value = headline_html
        with unvalidated():
            for panel in self.panels:
                figure = drawn[panel.figure.key]
                if figure is None:
                    panel.show_error(self.generation)
                else:
                    panel.show(figure, self.k, self.generation)
        self._show_charts(True)

    def _query(self, f: Filters):
        """The selection's headline and figures from Gold, kept for a return to it (unless a figure failed)."""
        with open_gold(self.params) as gold, unvalidated():
            if not has_data(gold, f):
                found = NOTHING
            else:
                found = (markup.headline_html(headline(gold, f, self.params.semantics.attainment_high)),
                         {panel.figure.key: self._drawn(panel, gold, f) for panel in self.panels})
        if found is NOTHING or None not in found[1].values():
            self._drawn_before[f] = found
            while len(self._drawn_before) > SELECTIONS_KEPT:
                self._drawn_before.popitem(last=False)
        return found

    def _drawn(self, panel: Panel, gold, f: Filters) -> figs.Drawn | None:
        """The figure's data and chart, or None (logged) when it fails: one figure never blanks the page."""
        if panel.is_current(f):
            return panel.drawn
        try:
            return figs.draw(panel.figure, gold, f, self.k, live=True)
        except Exception:
            log.exception("figure %s failed for %s", panel.figure.key, f)
            return None


def _message(text: str, detail: str = "") -> widgets.Widget:
    return widgets.HTML(markup.STYLE + markup.message_html(text, detail))


def build_dashboard(params: Params | str) -> widgets.Widget:
    """The dashboard's root widget, from params or a params file (GNP_PARAMS wins); a message if it cannot load.

    The page is public: a message names no file, table, project or SQL (an exception's text can hold
    any of them); the server log has the exception.
    """
    if isinstance(params, str):
        try:
            params = load_dashboard_params(params)
        except Exception:
            log.exception("cannot load the dashboard's params")
            return _message("The dashboard's settings could not be read.", "The server log has the details.")
    try:
        with open_gold(params) as gold:
            options = filter_options(gold)
    except Exception:
        log.exception("cannot read Gold from the %s warehouse", params.warehouse.kind)
        local = params.warehouse.kind == "duckdb"  # whoever serves a local warehouse is the one reading the page
        return _message("The dashboard's data could not be read.",
                        "The server log has the details." + (" Run `make run` first if it never ran." if local else ""))
    if options.last_date is None:
        return _message("No Gold data to show yet.", "Run `make run` first.")
    return Dashboard(params, options).root
