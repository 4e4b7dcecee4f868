"""A lake of the retired snapshot format is refused once, at the run's start, until a full refresh rebuilds it."""

from __future__ import annotations

import os

import pytest

from gnp.core import storage
from gnp.lake import lakehouse, retired


def _old_table(folder) -> str:
    path = str(folder)
    storage.write_json(os.path.join(path, retired.OLD_SNAPSHOT), {"format": 1, "partitions": {}})
    storage.write_json(os.path.join(path, "day=2025-10-01", "part-0.json"), {"rows": 3})
    return path


def test_a_run_refuses_a_retired_table_naming_the_full_refresh_and_leaves_it_as_it_was(tmp_path):
    old, new = _old_table(tmp_path / "silver" / "measurements"), str(tmp_path / "gold" / "none_yet")

    with pytest.raises(lakehouse.LakehouseError, match=r"retired snapshot format.*gnp run --full-refresh"):
        retired.refuse_or_remove({"measurements": old, "regional_metrics": new}, False, print)

    assert os.path.exists(os.path.join(old, retired.OLD_SNAPSHOT)) and os.path.exists(os.path.join(old, "day=2025-10-01"))


def test_a_full_refresh_removes_retired_tables_and_says_so(tmp_path):
    old = _old_table(tmp_path / "silver" / "measurements")
    said = []

    removed = retired.refuse_or_remove({"measurements": old}, True, said.append)

    assert removed == [old] and not os.path.exists(old)
    assert said and "retired snapshot format" in said[0], said


def test_a_delta_table_with_an_old_marker_beside_it_is_no_retired_table(tmp_path):
    path = _old_table(tmp_path / "t")
    storage.write_json(os.path.join(path, lakehouse.DELTA_LOG, "00000000000000000000.json"), {"commitInfo": {}})

    assert not retired.is_old_format(path)
    assert retired.refuse_or_remove({"t": path}, False, print) == []
