"""The ingest notebook executed end to end by papermill on the project kernel, on tiny data."""

import datetime as dt
import gzip
import json
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml
from jupyter_client.kernelspec import KernelSpecManager

from gnp.bronze import ingest as bronze
from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.source import fake_api
from ci_params import write_ci_params
from ingest_notebook import KERNEL, NOTEBOOK, execute, output_text

ROOT = Path(__file__).resolve().parents[2]
CI_PARAMS = ROOT / "params" / "ci.yaml"
CANARY = "canary-token-notebook-5d1c"
TOKEN_ENV = "GNP_NOTEBOOK_TEST_TOKEN"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def project_kernel():
    if KERNEL not in KernelSpecManager().find_kernel_specs():
        pytest.fail(f"kernel {KERNEL!r} is not registered in the venv: run `make install`")


def assert_canary_nowhere(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert CANARY.encode() not in data, f"the token leaked into {path}"
            if path.suffix == ".gz":
                assert CANARY.encode() not in gzip.decompress(data), f"the token leaked into {path} (decompressed)"


def test_the_notebook_is_committed_thin_and_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"], "the first code cell must be tagged parameters"
    assert all(not c.outputs and c.execution_count is None for c in code), "commit the notebook without outputs"
    assert not [c for c in code if "def " in c.source or "class " in c.source], "no def/class in notebooks"


def test_ingest_on_ci_params_writes_bronze_and_is_idempotent(tmp_path):
    params_file = write_ci_params(tmp_path)
    first = execute(params_file, tmp_path / "first.ipynb", run_id="run-1")
    registry = Registry.from_params(load_params(params_file))
    days = [dt.date(2025, 10, 25) + dt.timedelta(days=i) for i in range(4)]
    for day in days:
        [version] = bronze.list_versions(registry, day)
        manifest = version.manifest()
        assert manifest["source_kind"] == "sample" and manifest["run_id"] == "run-1"
        assert manifest["record_count"] == len(json.loads(version.read_body())) >= 300
    assert "fetched" in output_text(first)
    outputs = json.loads((tmp_path / "artifacts" / "runs" / "run-1" / "outputs" / "ingest.json").read_text())
    assert sorted(o["measurement_date"] for o in outputs) == [str(d) for d in days]

    execute(params_file, tmp_path / "second.ipynb", run_id="run-2")
    versions = [len(bronze.list_versions(registry, day)) for day in days]
    assert versions == [1, 1, 1, 2], f"expected only the lookback day refetched, found versions {versions}"


def test_ingest_from_the_api_never_writes_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    with fake_api.serving(CANARY, seed=1, tests_per_day=80, users=60) as api:
        params_file = write_ci_params(tmp_path, source={"kind": "api", "base_url": api.base_url, "token_env": TOKEN_ENV})
        nb = execute(params_file, tmp_path / "api.ipynb", run_id="run-api")
        assert api.requests_total == 4
    registry = Registry.from_params(load_params(params_file))
    assert bronze.latest_version(registry, dt.date(2025, 10, 26)).manifest()["source_kind"] == "api"
    assert "fetched" in output_text(nb)
    assert_canary_nowhere(tmp_path)


def test_a_refused_token_fails_the_notebook_with_what_to_do_and_no_token(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    with fake_api.serving("another-token", seed=1, tests_per_day=80, users=60) as api:
        params_file = write_ci_params(tmp_path, source={"kind": "api", "base_url": api.base_url, "token_env": TOKEN_ENV})
        with pytest.raises(papermill.PapermillExecutionError) as error:
            execute(params_file, tmp_path / "refused.ipynb")
    assert "HyperionAuthError" in error.value.ename and TOKEN_ENV in error.value.evalue
    assert CANARY not in str(error.value)
    assert (tmp_path / "refused.ipynb").exists(), "papermill keeps the partial executed notebook"
    assert_canary_nowhere(tmp_path)


def test_an_empty_young_day_is_shown_fetched_again_and_filled_once_published(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    today = bronze.athens_today()
    first, empty, last = (today - dt.timedelta(days=k) for k in (4, 3, 2))
    dates = {"date_from": str(first), "date_to": str(last)}
    with fake_api.serving(CANARY, seed=1, tests_per_day=80, users=60, empty_days=frozenset({empty})) as api:
        params_file = write_ci_params(tmp_path, source={"kind": "api", "base_url": api.base_url, "token_env": TOKEN_ENV})
        before = execute(params_file, tmp_path / "empty.ipynb", **dates)
        api.empty_days = frozenset()  # the portal publishes the day
        after = execute(params_file, tmp_path / "filled.ipynb", **dates)
    registry = Registry.from_params(load_params(params_file))

    shown = json.dumps(before.cells[-1].outputs)
    assert str(empty) in shown and "empty" in shown and "fetched again by every run" in shown, shown
    assert [len(bronze.list_versions(registry, d)) for d in (first, empty, last)] == [1, 2, 2]
    assert bronze.latest_version(registry, empty).manifest()["record_count"] > 0
    assert str(empty) not in json.dumps(after.cells[-1].outputs)
