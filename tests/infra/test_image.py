"""Offline checks of image/: Docker cannot build here, so the file itself is checked.

hadolint, the install step's pins, the Python and Java versions against the
project, what the build context lets through, and the entrypoint's command
line (run for real, with stand-ins for `gnp` and `voila` that record their
arguments).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
import subprocess
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from packaging.specifiers import SpecifierSet

from .tools import (
    DOCKERFILE,
    IMAGE_DIR,
    REPO,
    WORKFLOWS_DIR,
    checkov_failures,
    checkov_unjustified_skips,
    instructions,
    stages,
    tool,
    tool_env,
)

ENTRYPOINT = IMAGE_DIR / "entrypoint.sh"


def test_hadolint_passes():
    proc = subprocess.run(
        [tool("hadolint"), "--config", str(IMAGE_DIR / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=60,
    )
    assert proc.returncode == 0, f"expected hadolint clean, found:\n{proc.stdout}{proc.stderr}"


def test_every_ignored_hadolint_rule_has_a_reason():
    lines = (IMAGE_DIR / ".hadolint.yaml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*-\s*(DL|SC)\d+", line):
            above = lines[i - 1].strip() if i else ""
            assert above.startswith("#") and len(above) > 20, (
                f"expected a comment giving the reason above {line.strip()!r}, found {above!r}"
            )


def test_install_uses_the_project_constraints():
    runs = [args for instruction, args in instructions() if instruction == "RUN" and "pip install" in args]
    assert runs, "expected a pip install in the Dockerfile, found none"
    for command in runs:
        assert re.search(r"pip install [^&|;]*(-c|--constraint) constraints\.txt", command), (
            f"expected `pip install -c constraints.txt`, found {command!r}"
        )
    copied = " ".join(args for instruction, args in instructions() if instruction == "COPY")
    for needed in ("constraints.txt", "pyproject.toml", "lib", "notebooks", "params"):
        assert re.search(rf"(^|\s){re.escape(needed)}(\s|$)", copied), (
            f"expected the image to copy {needed}, found COPY {copied}"
        )


def test_python_version_satisfies_requires_python():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = SpecifierSet(pyproject["project"]["requires-python"])
    bases = {args.split()[0] for instruction, args in instructions()
             if instruction == "FROM" and args.startswith("python:")}  # fmt: skip
    assert len(bases) == 1, f"expected the build and runtime stages on one Python base, found {sorted(bases)}"
    python = re.match(r"python:(\d+\.\d+)-slim-", bases.pop())
    assert python and f"{python[1]}.0" in wanted, (
        f"expected the image's Python to satisfy requires-python {wanted}, found {python and python[1]}"
    )


DIGEST_PINNED = re.compile(r"^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$")


def test_every_base_image_is_pinned_by_tag_and_digest():
    """A tag names the version a reader expects; the digest fixes what it is (the tag moves with every rebuild)."""
    names = set(stages())
    for instruction, args in instructions():
        if instruction != "FROM":
            continue
        image = args.split()[0]
        if image in names:
            continue  # a stage of this file
        assert DIGEST_PINNED.match(image), f"expected FROM <image>:<tag>@sha256:<64 hex>, found {image!r}"


def test_java_version_matches_the_workflows():
    image_java = set(re.findall(r"openjdk-(\d+)-", DOCKERFILE.read_text(encoding="utf-8")))
    workflows = "\n".join(p.read_text(encoding="utf-8") for p in WORKFLOWS_DIR.glob("*.yml"))
    workflow_java = set(re.findall(r"openjdk-(\d+)-", workflows)) | set(
        re.findall(r"java-version:\s*\"?(\d+)", workflows)
    )
    assert image_java == {"17"}, f"expected Java 17 in the image (PySpark 4 needs 17+), found {image_java}"
    assert workflow_java == image_java, (
        f"expected CI and the pipeline on the image's Java {image_java}, found {workflow_java}"
    )


def test_final_stages_run_as_a_numeric_non_root_user():
    for name in ("pipeline", "dashboard"):
        users = [args for instruction, args in stages()[name] if instruction == "USER"]
        assert users, f"{name}: expected a USER, found none"
        uid = users[-1].split(":")[0]
        assert uid.isdigit() and int(uid) != 0, f"{name}: expected a numeric non-root user, found {users[-1]!r}"


def test_build_context_lets_every_copied_source_through():
    ignore = [
        line.strip()
        for line in (IMAGE_DIR / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    allowed = [line[1:] for line in ignore if line.startswith("!")]
    for instruction, args in instructions():
        if instruction == "COPY" and "--from=" not in args:
            sources = [a for a in args.split() if not a.startswith("--")][:-1]
            for source in sources:
                assert any(fnmatch.fnmatch(source, pattern) or source == pattern for pattern in allowed), (
                    f"expected {source} let through by Dockerfile.dockerignore, found only {allowed}"
                )
                assert (REPO / source).exists(), (
                    f"expected {source} in the repository (docker build copies it), found nothing"
                )


def fake_tools(tmp_path: Path) -> Path:
    """Stand-ins for gnp and voila that print the arguments they were given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("gnp", "voila"):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\nprintf "{name}"; printf " %s" "$@"; echo\n')
        stub.chmod(0o755)
    return bin_dir


def run_entrypoint(tmp_path: Path, *args: str, **env: str) -> str:
    bin_dir = fake_tools(tmp_path)
    base = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "GNP_PARAMS": "params/gcp.yaml"}
    proc = subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env={**base, **env}, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, f"expected the entrypoint to succeed, found {proc.returncode}: {proc.stderr}"
    return proc.stdout.strip().splitlines()[-1]


def test_entrypoint_defaults_to_yesterday_in_athens(tmp_path):
    before = (dt.datetime.now(ZoneInfo("Europe/Athens")) - dt.timedelta(days=1)).date().isoformat()
    line = run_entrypoint(tmp_path)
    after = (dt.datetime.now(ZoneInfo("Europe/Athens")) - dt.timedelta(days=1)).date().isoformat()
    expected = {f"gnp run --params params/gcp.yaml --from {d} --to {d}" for d in (before, after)}
    assert line in expected, f"expected one of {expected}, found {line!r}"


def test_entrypoint_passes_dates_and_stages(tmp_path):
    line = run_entrypoint(
        tmp_path, "pipeline", DATE_FROM="2025-01-01", DATE_TO="2025-01-31", GNP_STAGES="silver,gold,publish"
    )
    assert line == "gnp run --params params/gcp.yaml --from 2025-01-01 --to 2025-01-31 --stages silver,gold,publish"


def test_entrypoint_passes_the_run_id_the_workflow_chose(tmp_path):
    line = run_entrypoint(tmp_path, "pipeline", DATE_FROM="2025-01-01", GNP_RUN_ID="gh-123-1")
    assert line == "gnp run --params params/gcp.yaml --from 2025-01-01 --to 2025-01-01 --run-id gh-123-1"


def test_entrypoint_serves_the_dashboard_on_port(tmp_path):
    line = run_entrypoint(tmp_path, "dashboard", PORT="9000")
    assert line == "gnp dashboard --params params/gcp.yaml --ip 0.0.0.0 --port 9000"


def test_entrypoint_is_shellcheck_clean():
    proc = subprocess.run([tool("shellcheck"), str(ENTRYPOINT)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"expected shellcheck clean, found:\n{proc.stdout}"


@pytest.mark.slow
def test_checkov_passes_on_the_dockerfile(checkov):
    report = checkov["dockerfile"]
    assert checkov_failures(report) == [], "expected no failed checkov check"
    assert checkov_unjustified_skips(report) == [], "expected a reason on every #checkov:skip"


def test_entrypoint_runs_a_gnp_subcommand_as_the_release_step_passes_it(tmp_path):
    line = run_entrypoint(tmp_path, "gnp", "release", "--params", "params/gcp.yaml", "--out", "gs://releases")
    assert line == "gnp release --params params/gcp.yaml --out gs://releases"


@pytest.mark.parametrize("args", [("sh", "-c", "id"), ("python", "-c", "print(1)"), ("gnp",), ("gnp", "--help"),
                                  ("/bin/sh",)])
def test_entrypoint_runs_nothing_but_gnp_subcommands(tmp_path, args):
    bin_dir = fake_tools(tmp_path)
    proc = subprocess.run(["sh", str(ENTRYPOINT), *args], env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
                          "GNP_PARAMS": "params/gcp.yaml"}, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and proc.stdout == "", f"expected a refusal, found {proc.returncode}: {proc.stdout}"
    assert proc.stderr.startswith("gnp: the entrypoint") and len(proc.stderr.splitlines()) == 1, proc.stderr
