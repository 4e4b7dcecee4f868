"""The run context: resolved once, written once, the same whether the runner or a notebook alone builds it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gnp.core.config import ParamsError
from gnp.core.errors import UsageError
from gnp.core import context


def test_the_context_holds_the_runs_days_flags_and_locations_and_survives_its_file(tmp_path, ci_params):
    params_file = ci_params(tmp_path)
    built = context.build(str(params_file), "2025-10-26", "2025-10-27", run_id="run-1", full_refresh=True)

    assert built.days == (dt.date(2025, 10, 26), dt.date(2025, 10, 27))
    assert (built.full_refresh, built.refetch, built.run_id) == (True, False, "run-1")
    assert built.registry.lake == str(tmp_path / "lake")
    assert built.location == str(tmp_path / "artifacts" / "runs" / "run-1" / "context.json")
    assert built.registry.run_dir("run-1") == built.run_dir

    location = context.record(built)

    assert context.load(location) == built
    saved = json.loads(open(location).read())
    assert saved["plan"] == str(tmp_path / "artifacts" / "runs" / "run-1" / "plan.json"), saved["plan"]
    with pytest.raises(FileExistsError):  # written once, never replaced, as every artifact
        context.record(built)


def test_the_context_file_holds_the_names_of_secrets_never_their_values(tmp_path, ci_params, monkeypatch):
    monkeypatch.setenv("GNP_PSEUDONYM_KEY", "canary-key-3f9a1c0e5b7d")
    monkeypatch.setenv("HYPERION_TOKEN", "canary-token-8e2f4a6c")
    location = context.record(context.build(str(ci_params(tmp_path)), run_id="run-secret"))
    text = open(location).read()
    assert "canary-key" not in text and "canary-token" not in text
    assert "GNP_PSEUDONYM_KEY" in text  # the name is how a stage finds it


def test_a_notebook_alone_builds_the_context_the_runner_would_and_a_run_loads_the_runners(tmp_path, ci_params):
    params_file = str(ci_params(tmp_path))
    alone = context.for_notebook("", params_file, date_from="2025-10-28")
    assert alone == context.build(params_file, "2025-10-28")
    assert alone.run_id == "" and alone.location == "" and alone.days == (dt.date(2025, 10, 28),)
    assert "nothing is recorded" in alone.describe()

    recorded = context.record(context.build(params_file, run_id="run-2"))
    # Given the run's file, a notebook takes it whatever its own defaults say.
    assert context.for_notebook(recorded, "/no/such/params.yaml", date_from="1999-01-01").run_id == "run-2"


def test_a_missing_or_foreign_context_file_says_what_to_do(tmp_path, ci_params):
    with pytest.raises(UsageError, match="no run context at"):
        context.load(str(tmp_path / "nothing.json"))
    (tmp_path / "old.json").write_text(json.dumps({"version": 0}))
    with pytest.raises(UsageError, match="run the pipeline again"):
        context.load(str(tmp_path / "old.json"))
    with pytest.raises(ParamsError, match="date_to"):
        context.build(str(ci_params(tmp_path)), "2025-10-28", "2025-10-01")


@pytest.mark.parametrize("run_id", ["../other", "a/b", ".hidden", "-rf", "a b", "x" * 101, "a..b", "run\nid", ""])
def test_a_run_id_that_is_not_a_safe_folder_name_is_refused(tmp_path, ci_params, run_id):
    params_file = ci_params(tmp_path)
    if not run_id:  # empty: no run (a notebook on its own), not an error
        assert context.build(str(params_file), run_id=run_id).run_id == ""
        return
    with pytest.raises(UsageError) as info:
        context.build(str(params_file), run_id=run_id)
    message = str(info.value)
    assert "--run-id" in message and "letters, digits" in message and "\n" not in message, message


def test_the_run_ids_gnp_and_the_workflow_make_are_accepted(tmp_path, ci_params):
    from gnp.core import manifest

    for run_id in (manifest.new_run_id(), "20250101T020304Z-gh123-1", "run-locked", "gh-123-1"):
        assert context.build(str(ci_params(tmp_path)), run_id=run_id).run_id == run_id
