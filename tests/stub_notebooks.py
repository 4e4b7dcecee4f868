"""Stage notebooks a test writes for the runner: a tagged parameters cell, the run context, then the given code cells.

Like a real stage, a stub declares the one parameter ``run_context`` (the runner gives every stage that file and
nothing else). Its first cell loads the context and names what older stubs read as parameters (``params_file``,
``date_from``, ``date_to``, ``run_id``, ``refetch``, ``full_refresh``, ``spark_remote``), so a stub's code stays short.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

PARAMETERS = ('run_context: str = ""',)
LOAD_CONTEXT = (
    "import gnp.core.context\n"
    "ctx = gnp.core.context.load(run_context)\n"
    "params_file, run_id, spark_remote = ctx.params.params_file, ctx.run_id, ctx.spark_remote\n"
    "date_from, date_to = ctx.date_from.isoformat(), ctx.date_to.isoformat()\n"
    "refetch, full_refresh = ctx.refetch, ctx.full_refresh"
)


def stub_notebook(path: Path, *cells: str, parameters: tuple[str, ...] = PARAMETERS, **gnp_metadata) -> None:
    """Write a notebook at ``path``; ``gnp_metadata`` is its ``gnp`` metadata (``spark``, ``plan``)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("\n".join(parameters))
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(LOAD_CONTEXT), *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["gnp"] = {"spark": False, **gnp_metadata}
    nbformat.write(nb, path)
