"""Finding the latest open-data release, and what the book and the dashboard say of it."""

from __future__ import annotations

from pathlib import Path

from gnp.dashboard import markup
from gnp.orchestration import book
from gnp.serving import releases


def release_folder(root: Path, month: str, version: str, complete: bool = True) -> Path:
    folder = root / month / version
    (folder / "data").mkdir(parents=True)
    if complete:  # the descriptor is written last: a folder without it is a release cut short
        (folder / releases.DESCRIPTOR).write_text("{}", encoding="utf-8")
    return folder


def test_the_latest_release_is_the_newest_complete_version_of_the_latest_month(tmp_path):
    root = tmp_path / "releases"
    release_folder(root, "2025-09", "20251101T000000Z-aaaaaa")
    release_folder(root, "2025-10", "20251105T000000Z-bbbbbb")
    release_folder(root, "2025-10", "20251106T000000Z-cccccc")
    release_folder(root, "2025-11", "20251207T000000Z-dddddd", complete=False)
    (root / "notes").mkdir()

    found = releases.latest(str(root))

    assert found == releases.Release("2025-10", "20251106T000000Z-cccccc", str(root / "2025-10" / "20251106T000000Z-cccccc"))
    assert releases.latest(str(tmp_path / "none")) is None


def test_the_runs_index_links_the_latest_release_relative_to_itself_or_says_how_to_make_one(tmp_path):
    runs = tmp_path / "artifacts" / "runs"
    runs.mkdir(parents=True)

    page = book.render_index(runs).read_text(encoding="utf-8")
    assert "No open-data release yet: <code>make release</code>" in page, page

    release_folder(tmp_path / "artifacts" / "releases", "2025-10", "r1")
    page = book.render_index(runs).read_text(encoding="utf-8")
    href = "../releases/2025-10/r1/datapackage.json"
    assert f'<a href="{href}">2025-10 (version <code>r1</code>)</a>' in page, page
    assert (runs / href).resolve() == (tmp_path / "artifacts" / "releases" / "2025-10" / "r1" / "datapackage.json")


def test_the_dashboard_says_where_the_latest_release_is_or_how_to_make_one(tmp_path):
    folder = release_folder(tmp_path, "2025-10", "r1")
    assert markup.release_html(releases.Release("2025-10", "r1", str(folder))) == (
        f"<p class='gnp-sub gnp-release'>Open data: the latest release is 2025-10 (version r1), a Frictionless "
        f"data package (CSV and Parquet, schemas, licence) at {folder}.</p>")
    assert "<code>make release</code>" in markup.release_html(None)
