"""A token pasted with a trailing newline: refused before any request, and in no artifact in any form.

The real ``gnp run`` (runner) and the real ingest notebook under papermill, against the fake
data.gov.gr API that would accept the token without its newline.
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
from test_ingest_notebook import ci_params_in, execute

from gnp.devtools import fake_api

pytestmark = pytest.mark.slow

CORE = "canary-token-newline-8e2f"
TOKEN = CORE + "\n"
TOKEN_ENV = "GNP_SECRETS_TEST_TOKEN"
GNP = Path(sys.executable).with_name("gnp")


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
        params_file = ci_params_in(tmp_path, kind="api", base_url=api.base_url, token_env=TOKEN_ENV)
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
        params_file = ci_params_in(tmp_path, kind="api", base_url=api.base_url, token_env=TOKEN_ENV)
        with pytest.raises(papermill.PapermillExecutionError) as error:
            execute(params_file, tmp_path / "artifacts" / "ingest.ipynb", run_id="run-newline")
        assert api.requests_total == 0
    assert "ParamsError" in error.value.ename and TOKEN_ENV in error.value.evalue and "strip" in error.value.evalue
    files = assert_token_nowhere(tmp_path, str(error.value), error.value.evalue, "".join(error.value.traceback))
    assert tmp_path / "artifacts" / "ingest.ipynb" in files, "papermill keeps the executed notebook"
