"""Fixtures for the offline infrastructure checks."""

from __future__ import annotations

import pytest

from .tools import checkov_reports


@pytest.fixture(scope="session")
def checkov() -> dict[str, dict]:
    """checkov's report per framework (terraform, github_actions, dockerfile), from one run."""
    return checkov_reports()
