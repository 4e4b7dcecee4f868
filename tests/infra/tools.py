"""Paths and tool lookup shared by the offline infrastructure checks."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
IMAGE_DIR = REPO / "image"
DOCKERFILE = IMAGE_DIR / "Dockerfile"
WORKFLOWS_DIR = REPO / ".github" / "workflows"
CHECKOV_VENV = REPO / ".gnp" / "tools" / "checkov-venv"


def tool(name: str) -> str:
    """Path of a console tool installed in the running venv (pytest need not be activated)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"expected the tool {name!r} in {beside.parent} or on PATH, found neither: run `make install`")
    return found


def tool_env(**extra: str) -> dict[str, str]:
    """A small, predictable environment for running a tool: the venv's bin first on PATH."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")]),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


CHECKOV_FRAMEWORKS = ("terraform", "github_actions", "dockerfile")


def checkov_reports() -> dict[str, dict]:
    """Run checkov once over the repository; its report per framework.

    checkov pins bc-python-hcl2, which shadows python-hcl2 8 in a shared venv,
    so it lives in .gnp/tools/checkov-venv (`make test` creates it).
    """
    import json
    import subprocess

    checkov = CHECKOV_VENV / "bin" / "checkov"
    if not checkov.exists():
        venv = CHECKOV_VENV.relative_to(REPO)
        pytest.skip(
            f"checkov venv absent: expected {checkov}; create it with "
            f"`python3.11 -m venv {venv} && {venv}/bin/pip install -r tests/infra/checkov-requirements.txt`"
        )
    skipped = [arg for path in (r"\.venv", r"\.gnp", r"\.git/") for arg in ("--skip-path", path)]
    proc = subprocess.run(
        [
            str(checkov),
            "--directory",
            ".",
            "--framework",
            *CHECKOV_FRAMEWORKS,
            *skipped,
            "--skip-download",
            "--output",
            "json",
        ],
        cwd=REPO,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        reports = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"expected checkov JSON output, found exit {proc.returncode}: {proc.stdout[:500]} {proc.stderr[-2000:]}"
        )
    return {report["check_type"]: report for report in (reports if isinstance(reports, list) else [reports])}


def checkov_failures(report: dict) -> list[str]:
    """Failed checks and files checkov could not parse (which would otherwise pass silently)."""
    results = report.get("results", {})
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for c in results.get("failed_checks", [])
    ]
    return failed + [f"parse error: {path}" for path in results.get("parsing_errors", [])]


def checkov_unjustified_skips(report: dict) -> list[str]:
    """Skipped checks whose inline reason is missing or too short to explain anything."""
    return [
        f"{c['check_id']} {c['resource']}: {c.get('check_result', {}).get('suppress_comment')!r}"
        for c in report.get("results", {}).get("skipped_checks", [])
        if len((c.get("check_result", {}).get("suppress_comment") or "").strip()) < 30
    ]


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """Dockerfile (INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            joined.append(current.strip())
            current = ""
    return [(text.split(" ", 1)[0].upper(), text.split(" ", 1)[1] if " " in text else "") for text in joined]


def stages() -> dict[str, list[tuple[str, str]]]:
    """The Dockerfile's instructions by stage name."""
    found: dict[str, list] = {}
    name = None
    for instruction, args in instructions():
        if instruction == "FROM":
            name = args.split(" AS ")[-1].strip() if " AS " in args else args
            found[name] = []
        elif name is not None:
            found[name].append((instruction, args))
    return found
