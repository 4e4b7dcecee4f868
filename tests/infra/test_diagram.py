"""The architecture diagram: valid D2, and the committed SVG is what the source
renders to (layout engine, theme and padding are fixed in the source)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .tools import REPO, TERRAFORM_DIR, WORKFLOWS_DIR, tool, tool_env

SOURCE = TERRAFORM_DIR / "architecture.d2"
SVG = TERRAFORM_DIR / "architecture.svg"
RENDER = "d2 terraform/architecture.d2 terraform/architecture.svg"
DRAWN = (
    "data.gov.gr API",
    "GitHub Actions",
    "Workload Identity",
    "Secret Manager",
    "Cloud Run job",
    "papermill",
    "Cloud Storage",
    "bronze",
    "BigQuery",
    "Voila dashboard",
    "Artifact Registry",
    "Local embedded",
    "fake API",
    "PySpark local mode",
    "Spark Connect",
    "DuckDB",
)


def d2(*args: str) -> subprocess.CompletedProcess:
    # tool_env() drops any D2_* variables of the caller: they would override the source's config.
    return subprocess.run([tool("d2"), *args], cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=120)


def test_source_is_valid_and_formatted():
    valid = d2("validate", str(SOURCE))
    assert valid.returncode == 0, f"expected valid D2, found: {valid.stderr}"
    formatted = d2("fmt", "--check", str(SOURCE))
    assert formatted.returncode == 0, f"expected `d2 fmt` clean, found: {formatted.stderr}"


def test_committed_svg_is_what_the_source_renders(tmp_path: Path):
    fresh = tmp_path / "architecture.svg"
    proc = d2(str(SOURCE), str(fresh))
    assert proc.returncode == 0, f"expected the render to succeed, found: {proc.stderr}"
    if fresh.read_bytes() != SVG.read_bytes():
        committed = re.search(r'data-d2-version="([^"]+)"', SVG.read_text(encoding="utf-8"))
        rendered = re.search(r'data-d2-version="([^"]+)"', fresh.read_text(encoding="utf-8"))
        raise AssertionError(
            f"expected terraform/architecture.svg to match its source, found it stale "
            f"(committed by d2 {committed and committed[1]}, rendered by d2 {rendered and rendered[1]}): "
            f"run `.venv/bin/{RENDER}`"
        )


def test_diagram_draws_the_architecture():
    text = SOURCE.read_text(encoding="utf-8")
    missing = [name for name in DRAWN if name not in text]
    assert missing == [], f"expected the diagram to draw {missing}, found them absent"


def test_workflow_and_docs_render_the_same_way():
    for path in (WORKFLOWS_DIR / "diagram.yml", TERRAFORM_DIR / "README.md", SOURCE):
        assert RENDER in path.read_text(encoding="utf-8"), f"{path.name}: expected the render command `{RENDER}`"
