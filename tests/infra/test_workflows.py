"""Offline checks of .github/workflows: actionlint (with shellcheck on every
`run:` script), checkov, and the properties the design asks of each workflow."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from .tools import REPO, WORKFLOWS_DIR, checkov_failures, checkov_unjustified_skips, stages, tool, tool_env

WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
ACTION_MAJORS = {
    "actions/checkout": "v5",
    "actions/setup-python": "v6",
    "actions/setup-java": "v5",
    "actions/upload-artifact": "v6",
    "google-github-actions/auth": "v3",
    "google-github-actions/setup-gcloud": "v3",
    "hashicorp/setup-terraform": "v4",
}
# `uses: owner/name@<40 hex> # vX.Y.Z`: the commit is what runs, the comment what a reader (and Dependabot) reads.
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?:\s+#\s*(?P<version>\S+))?\s*$")
USES = re.compile(r"^\s*(?:-\s+)?uses:")
DEPLOYER = "${{ vars.GCP_DEPLOYER_SERVICE_ACCOUNT }}"


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS_DIR / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def run_text(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow))


def test_the_expected_workflows_exist():
    names = {p.name for p in WORKFLOWS}
    assert names == {"ci.yml", "pipeline.yml", "image.yml", "terraform.yml", "diagram.yml"}, f"found {sorted(names)}"


def test_actionlint_passes_and_checks_run_scripts():
    proc = subprocess.run(
        [tool("actionlint"), "-no-color", "-verbose", f"-shellcheck={tool('shellcheck')}", *map(str, WORKFLOWS)],
        cwd=REPO,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"expected actionlint clean, found:\n{proc.stdout}"
    assert 'Rule "shellcheck" was disabled' not in proc.stderr, (
        f"expected shellcheck to check run: scripts, found: {proc.stderr[-500:]}"
    )


def pinned_actions() -> list[tuple[str, int, re.Match | None, str]]:
    """(workflow, line number, the PINNED match or None, the line) for every `uses:` line."""
    found = []
    for path in WORKFLOWS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if USES.match(line):
                found.append((path.name, number, PINNED.match(line), line.strip()))
    return found


def test_every_action_is_pinned_by_commit_with_its_version_as_a_comment():
    uses = pinned_actions()
    assert len(uses) >= 15, f"expected every workflow's actions, found {len(uses)} `uses:` lines"
    for name, number, match, line in uses:
        assert match and re.fullmatch(r"[0-9a-f]{40}", match["ref"]), (
            f"{name}:{number}: expected `uses: owner/name@<40-hex commit> # vX.Y.Z`, found {line!r}"
        )
        assert match["version"] and re.fullmatch(r"v\d+\.\d+\.\d+", match["version"]), (
            f"{name}:{number}: expected the release tag as a trailing comment (# v1.2.3), found {line!r}"
        )


def test_actions_are_on_the_current_majors_and_one_commit_each():
    commits: dict[str, set[tuple[str, str]]] = {}
    for name, number, match, line in pinned_actions():
        assert match and match["action"] in ACTION_MAJORS, f"{name}:{number}: an action nobody reviewed: {line!r}"
        major = (match["version"] or "").split(".")[0]
        assert major == ACTION_MAJORS[match["action"]], (
            f"{name}:{number}: expected {match['action']} {ACTION_MAJORS[match['action']]}, found {line!r}"
        )
        commits.setdefault(match["action"], set()).add((match["ref"], match["version"]))
    mixed = {action: pins for action, pins in commits.items() if len(pins) > 1}
    assert mixed == {}, f"expected one commit per action across the workflows, found {mixed}"


def test_dependabot_updates_the_actions_and_the_base_images():
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    updates = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    for wanted in (("github-actions", "/"), ("docker", "/image"), ("terraform", "/terraform")):
        assert wanted in updates, f"expected Dependabot to watch {wanted}, found {sorted(updates)}"


def test_the_ci_container_is_pinned_by_digest():
    container = load("ci.yml")["jobs"]["test"]["container"]
    assert re.fullmatch(r"python:3\.11-bookworm@sha256:[0-9a-f]{64}", container), (
        f"expected python:3.11-bookworm pinned by digest, found {container!r}"
    )


def test_every_job_acting_as_the_deployer_runs_in_a_deploy_environment():
    """wif.tf gives the deployer's token on the deploy ref only to these environments' jobs (github.tf)."""
    import hcl2
    from hcl2 import SerializationOptions

    options = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    variables = {name: body for block in hcl2.loads((REPO / "terraform" / "variables.tf").read_text(encoding="utf-8"),
                                                    serialization_options=options)["variable"]
                 for name, body in block.items()}  # fmt: skip
    expected = {"image.yml": ("publish", variables["github_deploy_environment"]["default"]),
                "pipeline.yml": ("run", variables["github_pipeline_environment"]["default"])}  # fmt: skip
    deployer_jobs = {
        (path.name, name): job.get("environment")
        for path in WORKFLOWS
        for name, job in load(path.name)["jobs"].items()
        if any(s.get("with", {}).get("service_account") == DEPLOYER for s in job.get("steps", []))
    }
    assert set(deployer_jobs) == {(w, job) for w, (job, _) in expected.items()}, (
        f"expected the image publish and the pipeline run to act as the deployer, found {sorted(deployer_jobs)}"
    )
    for (workflow, job), environment in deployer_jobs.items():
        assert environment == expected[workflow][1], (
            f"{workflow}:{job}: expected environment {expected[workflow][1]!r} (terraform/variables.tf), "
            f"found {environment!r}"
        )


def test_id_token_only_where_google_auth_runs():
    for path in WORKFLOWS:
        workflow = load(path.name)
        assert workflow.get("permissions") == {"contents": "read"}, (
            f"{path.name}: expected top-level permissions contents: read, found {workflow.get('permissions')}"
        )
        for name, job in workflow["jobs"].items():
            authenticates = any(
                s.get("uses", "").startswith("google-github-actions/auth@") for s in job.get("steps", [])
            )
            has_token = job.get("permissions", {}).get("id-token") == "write"
            assert authenticates == has_token, (
                f"{path.name}:{name}: expected id-token: write exactly when it authenticates to Google, "
                f"found auth={authenticates} id-token={has_token}"
            )


def test_no_workflow_uses_a_key_file():
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "credentials_json" not in text and "GOOGLE_CREDENTIALS" not in text, (
            f"{path.name}: expected Workload Identity, found a key"
        )


def test_pipeline_runs_daily_and_on_demand_with_a_date_range():
    workflow = load("pipeline.yml")
    crons = [entry["cron"] for entry in workflow["on"]["schedule"]]
    assert len(crons) == 1 and len(crons[0].split()) == 5, f"expected one daily cron, found {crons}"
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"date_from", "date_to"}, f"expected date_from/date_to inputs, found {sorted(inputs)}"


def test_pipeline_authenticates_with_workload_identity():
    auth = [s for s in steps(load("pipeline.yml")) if s.get("uses", "").startswith("google-github-actions/auth@")]
    assert len(auth) == 1, f"expected one google auth step, found {len(auth)}"
    assert set(auth[0]["with"]) == {"workload_identity_provider", "service_account"}
    assert all(v.startswith("${{ vars.") for v in auth[0]["with"].values()), (
        f"expected repository variables, found {auth[0]['with']}"
    )


def test_pipeline_ingests_then_waits_for_the_job():
    workflow = load("pipeline.yml")
    runs = [s.get("run", "") for s in steps(workflow)]
    ingest = next(i for i, r in enumerate(runs) if re.search(r"gnp run --params \"\$PARAMS\" --stages ingest", r))
    execute = next(i for i, r in enumerate(runs) if "gcloud run jobs execute" in r)
    assert ingest < execute, "expected ingest before the Cloud Run job"
    assert "--wait" in runs[execute], "expected the workflow to wait for the job (and fail with it)"
    assert workflow["env"]["PARAMS"] == "params/gcp.yaml"
    assert "DATE_FROM=$DATE_FROM" in runs[execute] and "DATE_TO=$DATE_TO" in runs[execute]


@pytest.mark.parametrize("secret", ["", "hyperion-token"])
def test_pipeline_ingest_reads_the_api_token_only_when_terraform_made_its_secret(tmp_path, secret):
    # The ingest step's own script, with gcloud and gnp stubbed: each logs what it was called with.
    [step] = [s for s in steps(load("pipeline.yml")) if s.get("name") == "Ingest into Bronze"]
    assert step["env"]["TOKEN_SECRET"] == "${{ vars.GNP_HYPERION_TOKEN_SECRET }}"
    log = tmp_path / "calls.log"
    stubs = {
        "bin/gcloud": f'echo "gcloud $*" >> {log}; printf %s canary-token-3c1d',
        ".venv/bin/gnp": f'echo "gnp token=${{HYPERION_TOKEN:-none}}" >> {log}',
    }
    for name, body in stubs.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"#!/bin/bash\n{body}\n")
        (tmp_path / name).chmod(0o755)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "TOKEN_SECRET": secret, "PROJECT": "p", "PARAMS": "x.yaml",
           "DATE_FROM": "2026-11-16", "DATE_TO": "2026-11-16"}  # fmt: skip
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", step["run"]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log.read_text().splitlines()
    if secret:
        assert calls[0].startswith("gcloud secrets versions access latest --secret=hyperion-token"), calls
        assert calls[1] == "gnp token=canary-token-3c1d" and "::add-mask::canary-token-3c1d" in proc.stdout
    else:
        assert calls == ["gnp token=none"], f"expected no secret read and no token, found {calls}"


def test_image_workflow_builds_existing_targets_and_deploys_the_commit_tag():
    text = run_text(load("image.yml"))
    targets = set(re.findall(r"--target (\w+)", text))
    assert targets == {"pipeline", "dashboard"} and targets <= set(stages()), (
        f"expected the Dockerfile's targets, found {targets}"
    )
    assert re.search(r"pipeline:\$GITHUB_SHA", text), "expected images tagged by commit"
    assert "gcloud run jobs update" in text and "gcloud run services update" in text


def test_terraform_workflow_checks_pull_requests():
    workflow = load("terraform.yml")
    assert "terraform/**" in workflow["on"]["pull_request"]["paths"]
    text = run_text(workflow)
    for command in ("terraform fmt -check", "terraform init", "terraform validate", "terraform plan -lock=false"):
        assert command in text, f"expected `{command}` in terraform.yml"


def test_ci_runs_the_readme_test_command():
    assert "make test" in run_text(load("ci.yml"))


@pytest.mark.slow
def test_checkov_passes_on_the_workflows(checkov):
    report = checkov["github_actions"]
    assert checkov_failures(report) == [], "expected no failed checkov check"
    assert checkov_unjustified_skips(report) == [], "expected a reason on every #checkov:skip"
