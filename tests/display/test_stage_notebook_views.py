"""The stage notebooks read well when executed: charts drawn as SVG, no absolute path, no echoed bookkeeping.

Ingest and publish run here (no Spark needed, seconds each); Silver, Gold and
the report run under nbval in test_notebooks.py, their views in unit tests.
"""

import json
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "gnp"

pytestmark = pytest.mark.slow


def params_in(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "params" / "ci.yaml").read_text())
    data["storage"] = {"lake": str(tmp_path / "lake"), "artifacts": str(tmp_path / "artifacts")}
    data["warehouse"]["duckdb_path"] = str(tmp_path / "warehouse.duckdb")
    data["privacy"] = {"pseudonym_key_file": str(tmp_path / "secrets" / "pseudonym.key")}
    data["dates"].update({"date_from": "2025-10-26", "date_to": "2025-10-27"})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def execute(name: str, tmp_path: Path, **parameters) -> list[dict]:
    output = tmp_path / f"out-{name}"
    papermill.execute_notebook(str(ROOT / "notebooks" / name), str(output), parameters=parameters,
                               kernel_name=KERNEL, cwd=str(ROOT / "notebooks"), progress_bar=False)
    return [o for c in nbformat.read(output, as_version=4).cells if c.cell_type == "code" for o in c.outputs]


def test_ingest_draws_its_days_and_shows_no_absolute_path_or_echoed_record(tmp_path):
    outputs = execute("10_ingest.ipynb", tmp_path, params_file=str(params_in(tmp_path)), run_id="run-views")

    text = json.dumps(outputs)
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert svgs, "expected the days drawn as an SVG chart, found no SVG output"
    assert str(tmp_path) not in text, f"expected paths relative to the lake, found {tmp_path} in the outputs"
    assert "ingest.json" not in text, "record_outputs' location must not be echoed"
    assert "2 days fetched (602 records" in text, f"expected the summary sentence, found {text[:1500]}"


def test_publish_says_in_one_line_that_it_has_nothing_to_do_locally(tmp_path):
    outputs = execute("40_publish.ipynb", tmp_path, params_file=str(params_in(tmp_path)), run_id="run-views")

    shown = [o.get("text") or o.get("data") for o in outputs]
    assert len(shown) == 1 and "nothing to publish" in shown[0], f"expected one line, found {shown}"
