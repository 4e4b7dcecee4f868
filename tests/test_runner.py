"""The runner executes stage notebooks with real papermill and keeps every executed notebook."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from gnp import runner

pytestmark = pytest.mark.slow


def notebook(path: Path, *cells: str, spark: bool = False) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'params_file: str = ""  # params file\ndate_from: str = ""\ndate_to: str = ""\nrun_id: str = ""'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["gnp"] = {"spark": spark}
    nbformat.write(nb, path)


@pytest.fixture()
def params_file(tmp_path: Path) -> Path:
    path = tmp_path / "params" / "t.yaml"
    path.parent.mkdir()
    path.write_text(
        "env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-03}\n"
        "storage: {lake: ../lake, artifacts: ../artifacts}\n"
    )
    return path


def test_stages_run_in_order_and_the_manifest_records_them(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(
        books / "10_first.ipynb",
        "from gnp.config import load_params\nfrom gnp import manifest\n"
        "p = load_params(params_file)\n"
        "manifest.record_outputs(p, run_id, 'first', [{'name': 'thing', 'location': 'x', 'rows': 3}])",
    )
    notebook(books / "20_second.ipynb", "assert date_from == '2025-01-02', date_from")
    notebook(books / "90_dashboard.ipynb", "raise SystemExit('the dashboard is served, never run')")

    result = runner.run(str(params_file), date_from="2025-01-02", notebooks=books, log=lambda *_: None)

    assert result.ok, result.manifest
    run_dir = Path(result.run_dir)
    assert run_dir == tmp_path / "artifacts" / "runs" / result.run_id
    saved = json.loads((run_dir / "manifest.json").read_text())
    assert [s["stage"] for s in saved["stages"]] == ["first", "second"]
    assert all(s["status"] == "succeeded" for s in saved["stages"])
    assert saved["outputs"] == [{"stage": "first", "name": "thing", "location": "x", "rows": 3}]
    assert saved["date_from"] == "2025-01-02" and saved["status"] == "succeeded"
    assert saved["packages"]["papermill"] and "commit" in saved["git"]
    executed = nbformat.read(run_dir / "20_second.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and f"run_id = \"{result.run_id}\"" in injected[0].source


def test_a_failing_stage_stops_the_run_names_the_cell_and_keeps_the_partial_notebook(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_ok.ipynb", "x = 1")
    notebook(books / "20_broken.ipynb", "y = 2", "raise ValueError('bad input on purpose')", "z = 3")
    notebook(books / "30_never.ipynb", "w = 4")

    result = runner.run(str(params_file), notebooks=books, log=lambda *_: None)

    assert not result.ok
    stages = {s["stage"]: s for s in result.manifest["stages"]}
    assert list(stages) == ["ok", "broken"], "the stage after a failure must not run"
    error = stages["broken"]["error"]
    assert "20_broken.ipynb" in error and "cell 3" in error and "bad input on purpose" in error, error
    partial = Path(result.run_dir) / "20_broken.ipynb"
    assert partial.exists()
    saved = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    assert saved["status"] == "failed"


def test_unknown_stage_is_refused_with_the_known_ones(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_ingest.ipynb", "pass")
    with pytest.raises(ValueError, match="unknown stage.*silvr.*ingest"):
        runner.run(str(params_file), stages=["silvr"], notebooks=books, log=lambda *_: None)


def test_cli_exits_non_zero_on_failure(tmp_path, params_file, capsys):
    from gnp import cli

    assert cli.main(["validate", "--params", str(params_file)]) == 0
    assert cli.main(["validate", "--params", str(tmp_path / "missing.yaml")]) == 2
    assert "params file not found" in capsys.readouterr().err
