"""`make clean` keeps the live data and every key; `make clean-live` removes live data only when confirmed.

The real Makefile, run by make in a temporary copy of the project's .gnp layout.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

REBUILDABLE = [
    "lake/bronze/hyperion/measurement_date=2025-10-26/v1/data.json.gz",
    "lake/silver/measurements/_snapshot.json",
    "lake/silver/_pseudonym_key.json",
    "artifacts/runs/r1/manifest.json",
    "warehouse.duckdb",
    "ci/lake/silver/sessions/_snapshot.json",
    "ci/warehouse.duckdb",
    "tools/checkov-venv/bin/checkov",
]
KEYS = ["secrets/pseudonym.key", "ci/secrets/pseudonym.key", "live/secrets/pseudonym.key"]
LIVE = [
    "live/lake/bronze/hyperion/measurement_date=2026-11-16/v1/data.json.gz",
    "live/lake/silver/measurements/_snapshot.json",
    "live/warehouse.duckdb",
    "live/artifacts/runs/r2/manifest.json",
]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for rel in REBUILDABLE + KEYS + LIVE:
        path = tmp_path / ".gnp" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    (tmp_path / ".gnp" / "tools" / "checkov-venv" / "bin" / "python").symlink_to("/usr/bin/python3")
    (tmp_path / ".gnp" / "live" / "lake" / "bronze" / "hyperion" / "empty-day").mkdir()
    return tmp_path


def make(project: Path, *args: str, answer: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=project, input=answer,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def existing(project: Path, rels: list[str]) -> list[str]:
    return [rel for rel in rels if (project / ".gnp" / rel).exists()]


def test_clean_removes_what_a_run_rebuilds_and_keeps_live_data_and_every_key(project):
    proc = make(project, "clean")
    assert proc.returncode == 0, proc.stderr
    assert existing(project, REBUILDABLE) == [], "make clean left rebuildable files"
    assert not (project / ".gnp" / "tools").exists() and not (project / ".gnp" / "lake").exists()
    assert existing(project, KEYS) == KEYS, "make clean removed a key"
    assert existing(project, LIVE) == LIVE, "make clean removed live data"
    assert (project / ".gnp" / "live" / "lake" / "bronze" / "hyperion" / "empty-day").is_dir()
    assert (project / ".gnp" / "secrets" / "pseudonym.key").read_text() == "secrets/pseudonym.key"
    assert make(project, "clean").returncode == 0, "a second clean must be harmless"


@pytest.mark.parametrize("answer", ["", "no\n", "yes\n"])
def test_clean_live_without_the_typed_confirmation_removes_nothing(project, answer):
    proc = make(project, "clean-live", answer=answer)
    assert proc.returncode != 0 and "not confirmed" in proc.stdout, proc.stdout + proc.stderr
    assert existing(project, LIVE) == LIVE


@pytest.mark.parametrize(("args", "answer"), [(("clean-live",), "delete live\n"), (("clean-live", "CONFIRM=yes"), "")])
def test_clean_live_when_confirmed_removes_live_data_but_keeps_its_key(project, args, answer):
    proc = make(project, *args, answer=answer)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert existing(project, LIVE) == []
    assert existing(project, KEYS) == KEYS
    assert existing(project, REBUILDABLE) == REBUILDABLE, "clean-live touches only .gnp/live"
