"""The API token through the real ``gnp run`` (runner) and the real ingest notebook under papermill.

Optional: with none set, ``make live``'s params get past configuration and fetch from the open fake
data.gov.gr API with no ``Authorization`` header. Set but pasted with a trailing newline: refused before
any request, and in no artifact in any form (the protected fake would accept it without the newline).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import papermill
import pytest
import yaml

from gnp.bronze import ingest as bronze
from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.source import fake_api
from ci_params import write_ci_params
from ingest_notebook import execute

pytestmark = pytest.mark.slow

CORE = "canary-token-newline-8e2f"
TOKEN = CORE + "\n"
TOKEN_ENV = "GNP_SECRETS_TEST_TOKEN"
GNP = Path(sys.executable).with_name("gnp")
LIVE_PARAMS = Path(__file__).resolve().parents[2] / "params" / "live.yaml"


def token_forms() -> list[str]:
    """The token as text could carry it: raw, repr-, JSON- and URL-escaped, and the bare core."""
    forms = {TOKEN, CORE, repr(TOKEN)[1:-1], json.dumps(TOKEN)[1:-1], quote(TOKEN, safe=""), quote_plus(TOKEN)}
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}
    return sorted(forms)


def assert_token_nowhere(root: Path, *texts: str) -> list[Path]:
    """Every file under root (decompressing .gz) and every text: no form of the token. Returns the files."""
    files = [p for p in root.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data += gzip.decompress(data)
        for form in token_forms():
            assert form.encode() not in data, f"the token ({form!r}) leaked into {path}"
    for text in texts:
        for form in token_forms():
            assert form not in text, f"the token ({form!r}) leaked into: {text[:300]}"
    return files


def test_gnp_run_refuses_a_newline_token_before_any_request_and_writes_it_nowhere(tmp_path):
    with fake_api.serving(CORE, seed=1, tests_per_day=40, users=30) as api:
        params_file = write_ci_params(tmp_path, source={"kind": "api", "base_url": api.base_url, "token_env": TOKEN_ENV})
        env = {**os.environ, TOKEN_ENV: TOKEN}
        proc = subprocess.run([str(GNP), "run", "--params", str(params_file), "--stages", "ingest"],
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert api.requests_total == 0, "a request was made with the unusable token"
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert TOKEN_ENV in proc.stderr and "strip" in proc.stderr and "whitespace or control" in proc.stderr, proc.stderr
    assert_token_nowhere(tmp_path, proc.stdout, proc.stderr)


def test_the_ingest_notebook_refuses_it_too_and_the_executed_notebook_holds_no_form_of_it(tmp_path, monkeypatch):
    # The notebook on its own (papermill, no runner in front) checks the secrets in its own cell.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    (tmp_path / "artifacts").mkdir()
    with fake_api.serving(CORE, seed=1, tests_per_day=40, users=30) as api:
        params_file = write_ci_params(tmp_path, source={"kind": "api", "base_url": api.base_url, "token_env": TOKEN_ENV})
        with pytest.raises(papermill.PapermillExecutionError) as error:
            execute(params_file, tmp_path / "artifacts" / "ingest.ipynb", run_id="run-newline")
        assert api.requests_total == 0
    assert "ParamsError" in error.value.ename and TOKEN_ENV in error.value.evalue and "strip" in error.value.evalue
    files = assert_token_nowhere(tmp_path, str(error.value), error.value.evalue, "".join(error.value.traceback))
    assert tmp_path / "artifacts" / "ingest.ipynb" in files, "papermill keeps the executed notebook"


def test_make_live_with_no_token_set_gets_past_configuration_and_fetches_without_an_authorization_header(tmp_path):
    # params/live.yaml as it ships, only its base URL pointed at the open fake and its folders into tmp_path.
    live = yaml.safe_load(LIVE_PARAMS.read_text(encoding="utf-8"))
    live["source"]["base_url"] = "<set below>"
    live["storage"] = {"lake": str(tmp_path / "lake"), "artifacts": str(tmp_path / "artifacts")}
    live["warehouse"]["duckdb_path"] = str(tmp_path / "warehouse.duckdb")
    live["privacy"] = {"pseudonym_key_file": str(tmp_path / "secrets" / "pseudonym.key")}
    env = {k: v for k, v in os.environ.items() if k != live["source"]["token_env"]}
    with fake_api.serving(mode=fake_api.OPEN, seed=1, tests_per_day=40, users=30) as api:
        live["source"]["base_url"] = api.base_url
        params_file = tmp_path / "params" / "live.yaml"
        params_file.parent.mkdir()
        params_file.write_text(yaml.safe_dump(live, allow_unicode=True))
        proc = subprocess.run([str(GNP), "run", "--params", str(params_file), "--stages", "ingest"],
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        requests_seen = (api.requests_total, api.requests_with_authorization)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    params = load_params(params_file)
    days = (params.dates.date_to - params.dates.date_from).days + 1
    assert requests_seen == (days, 0), f"expected {days} requests, none with a token, found (all, with) {requests_seen}"
    registry = Registry.from_params(params)
    manifest = bronze.latest_version(registry, params.dates.date_from).manifest()
    assert manifest["source_kind"] == "api" and manifest["record_count"] > 0, manifest
