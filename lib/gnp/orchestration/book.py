"""A run's executed notebooks as a static HTML book, and an index of every run.

``render_run(run_dir)`` writes ``<run_dir>/book/``: ``index.html`` summarises
the manifest (status, dates, commit, versions, outputs and row counts, checks,
timings, params) with a table of contents, and each executed notebook becomes
one page beside it. ``render_index(runs_root)`` writes ``<runs_root>/index.html``
listing every run. Both work on local folders; for a run kept in a bucket,
render a local copy and upload the ``book`` folder with the run's artifacts.

Rendering is nbconvert's HTML exporter with a template of our own
(``templates/book``): it ships with the project's pinned Jupyter stack and runs
in-process, with no network. Jupyter Book 2 (MyST) needs Node and fetches its
site theme when it builds; Quarto is a separate binary. The template drops the
lab template's CDN scripts (require.js, MathJax, Mermaid, the widget manager),
inlines SVG charts, and folds code under ``<details>``. A chart that a stage
left as Vega-Lite JSON (Altair's default renderer, drawn by JavaScript in
JupyterLab) is drawn to SVG here by vl-convert, so every page works offline.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import markupsafe
import nbformat
from nbconvert import HTMLExporter

from gnp.dashboard.render import with_native_tooltips
from gnp.serving import releases

BOOK_DIR = "book"
INDEX = "index.html"
REPORT = "dashboard.html"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "book"
VEGALITE = re.compile(r"^application/vnd\.vegalite\.v(\d+)(\.\d+)?\+json$")
WIDGET = "application/vnd.jupyter.widget-view+json"
SECRET_NAME = re.compile(r"token|secret|password|credential|private", re.IGNORECASE)
NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z_]+\.ipynb$")


@dataclass(frozen=True)
class Page:
    stem: str
    title: str
    status: str
    duration: str

    @property
    def html_name(self) -> str:
        return f"{self.stem}.html"


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _elapsed(started: str | None, ended: str | None) -> float | None:
    if not (started and ended):
        return None
    return (dt.datetime.fromisoformat(ended) - dt.datetime.fromisoformat(started)).total_seconds()


def flat_params(params: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Params as dotted names and values; a value whose name suggests a secret is never shown."""
    rows = []
    for name, value in params.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict):
            rows += flat_params(value, f"{dotted}.")
        else:
            secret = (SECRET_NAME.search(name) and not name.endswith(("_env", "_file", "_secret_name"))
                      and not isinstance(value, bool))  # a switch (token_required) holds no secret
            rows.append((dotted, "(hidden)" if secret and value else json.dumps(value, ensure_ascii=False)))
    return rows


def outputs_written(outputs: list[dict]) -> list[dict]:
    """One row per stage and output, rows summed over its records (ingest records one per day fetched)."""
    merged: dict[tuple, dict] = {}
    for o in outputs:
        row = merged.setdefault((o.get("stage", ""), o.get("name", "")), {"records": 0, "rows": None})
        row["records"] += 1
        if o.get("rows") is not None:
            row["rows"] = (row["rows"] or 0) + o["rows"]
    return [{"stage": stage, "name": name if v["records"] == 1 else f"{name} ({v['records']} writes)",
             "rows": "" if v["rows"] is None else f"{v['rows']:,}"} for (stage, name), v in merged.items()]


def summary(manifest: dict) -> dict:
    """What the book's first page shows of a manifest; a missing manifest is an incomplete run."""
    git = manifest.get("git") or {}
    stages = manifest.get("stages", [])
    checks = manifest.get("checks", [])
    return {
        "run_id": manifest.get("run_id", "?"),
        "status": manifest.get("status", "incomplete"),
        "dates": f"{manifest.get('date_from', '?')} to {manifest.get('date_to', '?')}",
        "started_at": manifest.get("started_at") or "?",
        "duration": duration(_elapsed(manifest.get("started_at"), manifest.get("ended_at"))) or "not finished",
        "env": (manifest.get("params") or {}).get("env", "?"),
        "commit": git.get("commit") or "unknown", "dirty": bool(git.get("dirty")),
        "python": manifest.get("python", "?"),
        "packages": sorted((k, v or "not installed") for k, v in (manifest.get("packages") or {}).items()),
        "outputs": outputs_written(manifest.get("outputs", [])),
        "checks": checks, "checks_passed": sum(1 for c in checks if c.get("passed")),
        "failures": [s for s in stages if s.get("status") == "failed"],
        "params_file": manifest.get("params_file", "?"),
        "params": flat_params(manifest.get("params") or {}),
        "stages": {s.get("notebook"): s for s in stages},
    }


def title_of(nb) -> str:
    """The notebook's first Markdown heading, without its hashes."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def svg_from_vegalite(spec: dict) -> str:
    import vl_convert as vlc
    from altair.utils._importers import vl_version_for_vl_convert

    return with_native_tooltips(vlc.vegalite_to_svg(spec, vl_version=vl_version_for_vl_convert(),
                                                    allowed_base_urls=[]))


def altair_html_spec(html: str) -> dict | None:
    """The Vega-Lite spec inside Altair's HTML output (whose script loads Vega from a CDN), or None."""
    if "vega-embed" not in html:
        return None
    start = html.rfind("})({")
    if start < 0:
        return None
    with contextlib.suppress(ValueError):
        spec, _ = json.JSONDecoder().raw_decode(html, start + 3)
        return spec if isinstance(spec, dict) and "$schema" in spec else None
    return None


def offline_outputs(nb) -> None:
    """Make every output drawable without a network: Altair's charts (Vega-Lite JSON, or the HTML that
    loads Vega from a CDN) become SVG; a widget becomes a note."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            spec_type = next((m for m in data if VEGALITE.match(m)), None)
            spec = data[spec_type] if spec_type else altair_html_spec(str(data.get("text/html", "")))
            if spec:
                out["data"] = {"image/svg+xml": svg_from_vegalite(spec)}
            elif WIDGET in data:
                out["data"] = {"text/plain": "(an interactive widget: open the notebook in JupyterLab to use it)"}


def _exporter() -> HTMLExporter:
    return HTMLExporter(template_name="gnp_book", extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
                        exclude_input_prompt=True, exclude_output_prompt=True)


def _nav(run: dict, pages: list[Page], current: str, has_report: bool) -> str:
    return markupsafe.Markup(_env().get_template("nav.html.j2").render(
        run_id=run["run_id"], status=run["status"], dates=run["dates"], pages=pages, current=current,
        report=REPORT if has_report else ""))


def executed_notebooks(run_dir: Path) -> list[Path]:
    return sorted(p for p in run_dir.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))


def render_run(run_dir: str | Path, out_dir: str | Path | None = None, manifest: dict | None = None) -> Path:
    """Write the run's book (default ``<run_dir>/book``) and return its index page.

    ``manifest`` is the run's record when it is not (yet) ``<run_dir>/manifest.json``, e.g. a cloud run
    rendered from its local scratch folder before the upload.
    """
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir else run_dir / BOOK_DIR
    manifest_file = run_dir / "manifest.json"
    if manifest is None:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.exists() \
            else {"run_id": run_dir.name}
    s = summary(manifest)
    notebooks = {p: nbformat.read(p, as_version=4) for p in executed_notebooks(run_dir)}
    pages = []
    for path, nb in notebooks.items():
        stage = s["stages"].get(path.name, {})
        pages.append(Page(path.stem, title_of(nb) or path.stem, stage.get("status", "not in manifest"),
                          duration(stage.get("duration_s"))))
    out.mkdir(parents=True, exist_ok=True)
    css = (TEMPLATES / "book.css").read_text(encoding="utf-8")
    has_report = (run_dir / REPORT).exists()
    exporter = _exporter()
    for number, (page, nb) in enumerate(zip(pages, notebooks.values())):
        offline_outputs(nb)
        before = pages[number - 1] if number else None
        after = pages[number + 1] if number + 1 < len(pages) else None
        pager = " · ".join(filter(None, [
            f'<a href="{before.html_name}">← {html.escape(before.title)}</a>' if before else "",
            f'<a href="{after.html_name}">{html.escape(after.title)} →</a>' if after else ""]))
        resources = {"metadata": {"name": page.title}, "gnp_book": {
            "css": css, "nav": _nav(s, pages, page.html_name, has_report), "pager": pager,
            "crumbs": f"Run {s['run_id']} · {page.stem}.ipynb · {page.status}"}}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        (out / page.html_name).write_text(body, encoding="utf-8")
    index = _env().get_template("run.html.j2").render(s=s, css=css, pages=pages,
                                                      nav=_nav(s, pages, INDEX, has_report))
    (out / INDEX).write_text(index, encoding="utf-8")
    return out / INDEX


def _run_row(run_dir: Path, runs_root: Path) -> dict:
    manifest_file = run_dir / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.exists() else {}
    s = summary({"run_id": run_dir.name, **manifest})
    book = run_dir / BOOK_DIR / INDEX
    return {**s, "stages": ", ".join(f"{st.get('stage')} {st.get('status')}" for st in manifest.get("stages", [])),
            "book": book.relative_to(runs_root).as_posix() if book.exists() else "",
            "manifest": manifest_file.relative_to(runs_root).as_posix() if manifest_file.exists() else ""}


def run_dirs(runs_root: Path) -> list[Path]:
    """Run folders, newest first (run ids sort by start time)."""
    return sorted((p for p in runs_root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True) \
        if runs_root.exists() else []


def render_index(runs_root: str | Path) -> Path:
    """Write ``<runs_root>/index.html``: every run with its status, dates, duration and links."""
    root = Path(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    rows = [_run_row(d, root) for d in run_dirs(root)]
    html = _env().get_template("runs.html.j2").render(runs=rows, css=(TEMPLATES / "book.css").read_text("utf-8"),
                                                      release=latest_release(root))
    (root / INDEX).write_text(html, encoding="utf-8")
    return root / INDEX


def latest_release(runs_root: Path) -> dict | None:
    """The latest open-data release beside the runs (``<artifacts>/releases``), linked relative to the runs
    index so the link works offline; None when there is none."""
    latest = releases.latest(str(runs_root.parent / releases.RELEASES))
    if latest is None:
        return None
    href = Path(os.path.relpath(latest.descriptor, runs_root)).as_posix()
    return {"month": latest.month, "version": latest.version, "href": href}


def latest_book(runs_root: str | Path, rebuild: bool = False) -> Path | None:
    """The newest run's book index, rendering it if it is not there yet (or ``rebuild``), and the runs index."""
    root = Path(runs_root)
    for run_dir in run_dirs(root):
        if executed_notebooks(run_dir):
            book = run_dir / BOOK_DIR / INDEX
            if rebuild or not book.exists():
                render_run(run_dir)
            render_index(root)
            return book
    return None
