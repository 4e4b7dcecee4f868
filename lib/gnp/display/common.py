"""How the stage notebooks show what happened: charts as SVG, tables with separators, checks in brief.

Charts take the one chart module's look (``gnp.dashboard.charts.finish``) and
are drawn to SVG by its renderer (``gnp.dashboard.render.show``), as the
chapters' are, not left as Vega-Lite for a browser: an executed notebook then
carries its pictures, so JupyterLab, nbconvert and the run's book show them
offline with no JavaScript.
Tables are pandas Stylers: numbers get thousands separators and the index is
hidden, so a reader sees the figures, not a frame's repr.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from IPython.display import Markdown

from gnp.dashboard.charts import finish  # noqa: F401  (the stage views' charts take the one look)
from gnp.dashboard.render import show  # noqa: F401  (what the stage notebooks call to draw a chart)

WIDTH = 620


def say(sentences: Sequence[str]) -> Markdown:
    """Sentences as Markdown, one paragraph each."""
    return Markdown("\n\n".join(sentences))


def table(frame: pd.DataFrame, decimals: int = 0):
    """The frame as a Styler: integers and floats with thousands separators, no index.

    Floats keep ``decimals`` places; missing values show as an empty cell, not "nan".
    """
    numeric = frame.select_dtypes("number").columns
    floats = [c for c in numeric if pd.api.types.is_float_dtype(frame[c])]
    ints = [c for c in numeric if c not in floats]
    styler = frame.style.hide(axis="index")
    if ints:
        styler = styler.format("{:,.0f}", subset=ints, na_rep="")
    if floats:
        styler = styler.format(f"{{:,.{decimals}f}}", subset=floats, na_rep="")
    return styler


def relative(location: str | None, root: str) -> str | None:
    """``location`` relative to ``root`` (the lake, a run folder); as given when it is not under it."""
    if location is None:
        return None
    root = root.rstrip("/") + "/"
    return location[len(root):] if location.startswith(root) else location


def checks_summary(checks: Sequence) -> str:
    """One sentence on quality checks (``quality.CheckResult``): how many passed, and what did not."""
    if not checks:
        return "No quality check ran."
    failed = [c for c in checks if not c.passed]
    critical = [c for c in failed if c.severity == "critical"]
    head = f"{len(checks) - len(failed)} of {len(checks)} quality checks passed"
    if not failed:
        return head + "."
    return head + f"; {len(critical)} critical failed, {len(failed) - len(critical)} warnings (below)."


def failed_checks(checks: Sequence) -> pd.DataFrame:
    """Only the checks that did not pass, critical first (an empty frame when all passed)."""
    rows = [{"check": c.check_name, "severity": c.severity, "observed": c.observed, "expected": c.expected}
            for c in checks if not c.passed]
    frame = pd.DataFrame(rows, columns=["check", "severity", "observed", "expected"])
    return frame.sort_values("severity", key=lambda s: s != "critical", kind="stable", ignore_index=True)


def checks(checks: Sequence) -> list:
    """What a notebook displays for its checks: the sentence, and the table of failures if any."""
    shown: list = [Markdown(checks_summary(checks))]
    failures = failed_checks(checks)
    if len(failures):
        shown.append(table(failures))
    return shown


def partitions_text(partitions: Sequence[str] | None) -> str:
    """None (the whole table) as "every partition"; a long list as its count and span."""
    if partitions is None:
        return "every partition"
    if len(partitions) <= 3:
        return ", ".join(partitions)
    return f"{len(partitions)}: {min(partitions)}..{max(partitions)}"


def outputs_table(outputs: Sequence[dict], root: str) -> pd.DataFrame:
    """A stage's output records (``results.table_output``) as a table: locations relative to ``root`` (the lake)."""
    rows = [{"table": o["name"], "location": relative(o.get("location"), root), "rows": o.get("rows"),
             "partitioned by": o.get("partition_by") or "",
             "partitions rewritten": partitions_text(o.get("partitions"))}
            for o in outputs]
    return table(pd.DataFrame(rows, columns=["table", "location", "rows", "partitioned by", "partitions rewritten"]))


def plural(n: int, word: str, words: str | None = None) -> str:
    """``n`` with thousands separators and ``word``, plural unless n is 1 ("1 day", "2,000 days")."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {words or word + 's'}"


def size(n_bytes: float) -> str:
    """Bytes in the unit that reads best: "812 B", "35.8 kB", "2.5 MB", "1.2 GB" (decimal units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{n_bytes:,.0f} B"
