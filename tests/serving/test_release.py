"""The open-data release (gnp.serving.release): a valid Frictionless package, no small cell shown, reproducible.

Gold is the dashboard's synthetic Gold, cut to a few slices (the always-suppressed
periphery and ISP among them) and written as Delta tables by the ``deltalake``
package with a run id in each commit, as ``gnp run`` leaves them: no Spark.
January 2025 is its one whole month.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import frictionless
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dashboard.synthetic_gold import (ALWAYS_SUPPRESSED_ISP, ALWAYS_SUPPRESSED_PERIPHERY, PERIPHERIES, regional_unit_id,
                                      synthetic_gold, write_params)
from deltalake import CommitProperties, write_deltalake

from gnp import cli
from gnp.core.config import load_params
from gnp.core.errors import UsageError
from gnp.core.registry import Registry
from gnp.core.schemas import GOLD_TABLES, TABLES
from gnp.serving import release
from gnp.serving import release_package as pkg

RUN_ID = "20250202T043000Z-0a1b2c"
MONTH = "2025-01"
KEPT_PERIPHERIES = {"9", "13", ALWAYS_SUPPRESSED_PERIPHERY}
KEPT_ISPS = {"all", "COSMOTE", ALWAYS_SUPPRESSED_ISP}


def small_gold() -> dict[str, pd.DataFrame]:
    """Every Gold table of Greece, three peripheries and their regional units, and three ISPs."""
    areas = {"GR", *KEPT_PERIPHERIES, *(regional_unit_id(p, i) for p in KEPT_PERIPHERIES
                                       for i in range(len(PERIPHERIES[p][3])))}
    frames = {}
    for name, frame in synthetic_gold().items():
        if "area_level" in frame:
            frame = frame[frame["area_id"].isin(areas) & frame["isp"].isin(KEPT_ISPS)]
        elif "periphery_id" in frame:
            frame = frame[frame["periphery_id"].isin(KEPT_PERIPHERIES)]
        frames[name] = frame.reset_index(drop=True)
    return frames


def write_lake(params, frames: dict[str, pd.DataFrame]) -> None:
    registry = Registry.from_params(params)
    for spec in GOLD_TABLES:
        rows = pa.Table.from_pandas(frames[spec.name], schema=release.arrow_schema(spec), preserve_index=False)
        write_deltalake(registry.table_path(spec.name), rows, partition_by=[spec.partition_by], mode="overwrite",
                        commit_properties=CommitProperties(custom_metadata={"userMetadata": RUN_ID}))


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release-lake")
    params = load_params(write_params(folder, folder / "warehouse.duckdb"))
    write_lake(params, small_gold())
    return params, folder


@pytest.fixture(scope="module")
def released(lake):
    params, folder = lake
    return [release.write_release(params, MONTH, str(folder / f"out-{n}")) for n in (1, 2)]


def files_of(location: str) -> dict[str, bytes]:
    root = Path(location)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_frictionless_validates_the_package_and_every_resource(released):
    package = Path(released[0].location) / release.DESCRIPTOR
    report = frictionless.validate(str(package))
    assert report.valid, f"expected no error, found: {report.flatten(['resource', 'rowNumber', 'type', 'note'])[:10]}"
    validated = sorted(task.name for task in report.tasks)
    expected = sorted(n for s in release.SELECTIONS for n in (s.name, f"{s.name}-parquet"))
    assert validated == expected, f"expected every table as CSV and Parquet, found {validated}"
    assert all(task.stats["rows"] > 0 for task in report.tasks)


def test_every_released_row_keeps_the_suppression_rule(released, lake):
    """Read back from the CSV files alone: an unsuppressed cell has k or more users (speed_histogram: its month
    and slice together), a suppressed one no statistic; the Parquet files hold the same rows."""
    k = lake[0].semantics.k_anonymity
    root = Path(released[0].location)
    suppressed_seen = 0
    for selection in release.SELECTIONS:
        spec = TABLES[selection.name]
        with open(root / "data" / f"{spec.name}.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        statistics = [c.name for c in spec.columns
                      if pkg.unit_of(c.name) and c.name not in {"tests", "sessions", "hour_local",
                                                                  "bucket_lower_mbps", "bucket_upper_mbps"}]
        totals: dict[tuple, int] = {}
        for row in rows:
            if row["is_suppressed"] == "true":
                suppressed_seen += 1
                shown = {c: row[c] for c in statistics if row[c] != ""}
                assert not shown, f"{spec.name}: a suppressed row shows {shown}"
            elif spec.name == "speed_histogram":
                slice_ = (row["month"], row["area_level"], row["area_id"], row["isp"])
                totals[slice_] = totals.get(slice_, 0) + int(row["users"])
            else:
                assert row["users"] != "" and int(row["users"]) >= k, \
                    f"{spec.name}: expected {k} or more users in an unsuppressed row, found {row}"
        small = {s: n for s, n in totals.items() if n < k}
        assert small == {}, f"speed_histogram: unsuppressed months and slices under {k} users: {small}"
        parquet = pq.read_table(root / "data" / f"{spec.name}.parquet")
        assert parquet.num_rows == len(rows) and parquet.column_names == spec.column_names
    assert suppressed_seen > 1000, "expected the suppressed periphery and ISP among the released rows"


def test_the_release_is_byte_identical_and_never_rewritten(released, lake):
    first, second = (files_of(r.location) for r in released)
    assert first.keys() == second.keys() and len(first) == 2 * len(release.SELECTIONS) + 3
    differing = [name for name in first if first[name] != second[name]]
    assert differing == [], f"expected byte-identical releases, found differences in {differing}"
    again = release.write_release(lake[0], MONTH, str(Path(released[0].location).parents[1]))
    assert not again.written and again.location == released[0].location


def test_the_descriptor_lists_every_file_with_its_size_and_digest(released):
    root = Path(released[0].location)
    descriptor = json.loads((root / release.DESCRIPTOR).read_text(encoding="utf-8"))
    listed = {f["path"]: f for f in descriptor["files"]}
    assert set(listed) == set(files_of(str(root))) - {release.DESCRIPTOR}
    for path, entry in listed.items():
        data = (root / path).read_bytes()
        assert entry["bytes"] == len(data) and entry["hash"] == f"sha256:{hashlib.sha256(data).hexdigest()}", path
    assert descriptor["version"] == RUN_ID and descriptor["provenance"]["goldRunId"] == RUN_ID
    assert descriptor["temporalCoverage"] == {"from": "2025-01-01", "to": "2025-01-31", "daysWithTests": 31,
                                              "daysInMonth": 31}
    assert descriptor["suppression"]["k"] == 5 and descriptor["provenance"]["gitCommit"]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "SAMPLE DATA" in readme and "How to cite" in readme and "January 2025" in readme
    for selection in release.SELECTIONS:
        assert f"### `{selection.name}`" in readme, f"expected {selection.name} in the data dictionary"


def test_schemas_come_from_the_table_specs():
    spec = TABLES["area_isp_metrics"]
    schema = pkg.table_schema(spec)
    assert [f["name"] for f in schema["fields"]] == spec.column_names
    assert schema["primaryKey"] == list(spec.key) and schema["missingValues"] == [""]
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["download_median_mbps"]["unit"] == "Mbps" and fields["download_median_mbps"]["type"] == "number"
    assert fields["users"] == {"name": "users", "type": "integer", "unit": "count",
                               "description": "distinct users (null when suppressed)"}
    assert fields["measurement_date"]["constraints"] == {"required": True}
    assert fields["loss_median_pct"]["unit"] == "percent (0-100)"


def test_only_whole_months_are_released(lake, tmp_path):
    params = lake[0]
    with pytest.raises(release.ReleaseError, match="not all of 2024-12: only whole months"):
        release.write_release(params, "2024-12", str(tmp_path))
    with pytest.raises(UsageError, match="YYYY-MM"):
        release.write_release(params, "2025-1", str(tmp_path))
    days = release.gold_days(Registry.from_params(params))
    assert release.latest_whole_month(days).isoformat() == "2025-01-01"
    assert list(tmp_path.iterdir()) == [], "expected nothing written for a refused month"


def test_a_small_cell_left_unsuppressed_stops_the_release():
    spec = TABLES["user_retention"]
    rows = pa.table({"users": pa.array([3, 7, None], pa.int64()), "sessions": [3, 9, 2],
                     "is_suppressed": [False, False, True]})
    found = release.suppression_problems(spec, rows.append_column("session_date", pa.nulls(3)), k=5)
    assert found == ["user_retention: 1 unsuppressed rows from fewer than 5 users"]
    leaked = pa.table({"users": pa.array([None, 9], pa.int64()), "sessions": [2, 9], "is_suppressed": [True, True]})
    assert release.suppression_problems(spec, leaked, k=5) == ["user_retention: 1 suppressed rows show users"]


def test_the_licence_is_not_guessed_for_the_real_source(released):
    facts = pkg.ReleaseFacts(month=MONTH, version=RUN_ID, created="2025-02-02T04:30:00Z", date_from="2025-01-01",
                             date_to="2025-01-31", days_with_tests=31, days_in_month=31, k=5, git_commit="abc",
                             git_dirty=False, gold_run_commit=None, source_kind="api")
    note = pkg.licence_note(facts)
    assert pkg.SOURCE_LICENCE is None and "could not be confirmed" in note
    assert pkg.descriptor(facts, released[0].tables, [])["sources"][0]["path"] == pkg.SOURCE_PATH


def test_gnp_release_writes_the_latest_whole_month(lake, tmp_path, capsys):
    params, folder = lake
    code = cli.main(["release", "--params", str(params.params_file), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert (tmp_path / MONTH / RUN_ID / release.DESCRIPTOR).exists() and f"{MONTH}" in out and RUN_ID in out


@pytest.mark.slow
def test_the_release_step_reads_gold_from_gcs_and_writes_its_bucket_with_the_rights_terraform_grants_the_job(
    tmp_path, monkeypatch
):
    """As the pipeline workflow's release step runs it: `gnp release` in the Cloud Run job, as the job's service
    account, with only what terraform/ grants that account (tests/terraform_rights.py parses it; the releases
    bucket is create-only: objectCreator and objectViewer) enforced by a proxy in front of fake-gcs-server
    (tests/rights_proxy.py answers 403 as Cloud Storage would). Gold's Delta tables are in the lake bucket; a
    second release finds its files and writes nothing; the bytes equal a local release of the same Gold.

    About 30 s here (in `make test`, not `make test-fast`): each of the month's ~200 small files is a few round
    trips to the emulator through the proxy, and the release is written twice.
    """
    import gcsfs
    import terraform_rights
    import yaml
    from bigquery_emulator import running_fake_gcs
    from rights_proxy import rights_gcs_proxy

    from gnp.core import storage

    workflow = yaml.safe_load(terraform_rights.PIPELINE_WORKFLOW.read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job.get("steps", [])]
    assert any("gnp,release" in run and 'gcloud run jobs execute "$JOB"' in run for run in runs), (
        "expected the pipeline workflow to run `gnp release` in the Cloud Run job, as its service account")
    buckets = {"lake": "lake", "artifacts": "artifacts", "releases": "releases"}  # purpose -> the test's bucket
    hcl = terraform_rights.terraform()
    job = terraform_rights.job_identity(hcl)
    rights = terraform_rights.rights_of(job, hcl).concrete(buckets, {})
    assert "storage.objects.delete" not in rights.storage("releases"), f"expected create-only: {rights.describe()}"
    with running_fake_gcs(tmp_path / "fake-gcs") as endpoint, rights_gcs_proxy(endpoint, rights) as gate:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)  # the test stands for Terraform: direct access
        gcsfs.GCSFileSystem.clear_instance_cache()
        try:
            for bucket in buckets.values():
                storage.filesystem("gs://").mkdir(bucket)
            params_file = tmp_path / "gcs.yaml"
            params_file.write_text(yaml.safe_dump({
                "env": "release-gcs", "dates": {"date_from": "2025-01-01", "date_to": "2025-01-31"},
                "storage": {"lake": "gs://lake", "artifacts": "gs://artifacts"},
                "warehouse": {"kind": "duckdb", "duckdb_path": str(tmp_path / "w.duckdb")}}), encoding="utf-8")
            params = load_params(params_file)
            # deltalake's own GCS writer uploads in a way fake-gcs-server refuses: the tables are written to a
            # folder, then copied into the bucket as they are (a Delta log's paths are relative to its table)
            folder = tmp_path / "local-lake"
            folder.mkdir()
            local_params = load_params(write_params(folder, folder / "w.duckdb"))
            write_lake(local_params, small_gold())
            storage.filesystem("gs://").put(str(folder / "lake" / "gold"), "gs://lake/", recursive=True)

            monkeypatch.setenv("STORAGE_EMULATOR_HOST", gate.endpoint)  # the release step, as the job's account
            gcsfs.GCSFileSystem.clear_instance_cache()
            result = release.write_release(params, MONTH, "gs://releases")
            again = release.write_release(params, MONTH, "gs://releases")
            fs = storage.filesystem("gs://")
            remote = {p.split(f"{RUN_ID}/", 1)[1]: fs.cat_file(p) for p in fs.find(result.location)}
            local = release.write_release(local_params, MONTH, str(tmp_path / "local"))
        finally:
            gcsfs.GCSFileSystem.clear_instance_cache()
    assert result.written and not again.written, "expected a second release to find its files and write nothing"
    refused = gate.denied + [f"unclassified: {r}" for r in gate.unclassified]
    assert refused == [], f"expected nothing refused to {job}, found {refused}\n{rights.describe()}"
    assert {("storage.objects.create", "releases"), ("storage.objects.get", "lake")} <= set(gate.used), gate.used
    assert remote == files_of(local.location), "expected the same bytes from Gold in a bucket as from a folder"
