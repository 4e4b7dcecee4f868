"""Stage notebooks a test writes for the runner: a tagged parameters cell, then the given code cells."""

from __future__ import annotations

from pathlib import Path

import nbformat

PARAMETERS = ('params_file: str = ""', 'date_from: str = ""', 'date_to: str = ""', 'run_id: str = ""')


def stub_notebook(path: Path, *cells: str, parameters: tuple[str, ...] = PARAMETERS, **gnp_metadata) -> None:
    """Write a notebook at ``path``; ``gnp_metadata`` is its ``gnp`` metadata (``spark``, ``plan``)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("\n".join(parameters))
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["gnp"] = {"spark": False, **gnp_metadata}
    nbformat.write(nb, path)
