"""The report notebook shows the static dashboard inline, not a path to it.

The report is a whole HTML document; a notebook output is a fragment inside
JupyterLab's (or the book's) page. So the fragment keeps the report's style
block, whose rules are all scoped under ``.gnp-root``, and its body wrapped in a
``div`` of that class: the page's own styles are left alone, and the SVG charts
need no script or network.
"""

from __future__ import annotations

import re

from IPython.display import HTML

from gnp.core import storage
from gnp.core.context import RunContext
from gnp.dashboard import report

_STYLE = re.compile(r"<style>.*?</style>", re.S)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)


def inline_fragment(document: str) -> str:
    """The report document as an HTML fragment: its scoped style and its body in a ``gnp-root`` div."""
    body = _BODY.search(document)
    if body is None:
        raise ValueError("the report has no <body>: expected the document report.static_report_html writes")
    return "".join(_STYLE.findall(document)) + f'<div class="gnp-root">{body.group(1)}</div>'


def embed(location: str | None, ctx: RunContext) -> HTML:
    """The run's report (read from ``location``), or outside a run one drawn now from Gold and not written."""
    if location:
        document = storage.read_bytes(location).decode("utf-8")
    else:
        document = report.run_report_html(ctx)
    return HTML(inline_fragment(document))
