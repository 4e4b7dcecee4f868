"""The rights Terraform grants each workflow step's identity, and the proxy that enforces them.

tests/e2e/test_gcp_pipeline.py runs the whole workflow through these proxies;
here the pieces are shown on their own: what is read from Terraform, what a
request needs, and a refusal where a role lacks the right.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import gcsfs
import pytest
import terraform_rights
from bigquery_emulator import running_fake_gcs
from rights_proxy import Need, bigquery_needs, rights_gcs_proxy, storage_needs
from terraform_rights import ROLE_PERMISSIONS, Rights

from gnp.core import storage
from gnp.core.schemas import TABLES
from gnp.core.errors import GnpError
from gnp.lake import lakelock
from gnp.serving.publish import replace_partitions_sql

BUCKETS = {"bronze": "bronze", "lake": "lake", "artifacts": "artifacts"}


@pytest.fixture(scope="module")
def hcl():
    return terraform_rights.terraform()


def test_the_workflow_runs_ingest_on_github_and_the_other_stages_as_the_job_s_own_identity(hcl):
    steps = terraform_rights.workflow_steps(hcl=hcl)
    found = [(step.stages, step.identity) for step in steps]
    job = terraform_rights.job_identity(hcl)
    assert [s for step in steps for s in step.stages] == ["ingest", "silver", "gold", "publish"], found
    assert steps[-1].identity == job and steps[0].identity not in (None, job), (
        f"expected ingest as the GitHub auth step's account and the rest as the job's ({job}), found {found}")


def test_every_storage_and_bigquery_role_terraform_grants_is_in_the_role_table(hcl):
    roles = {g.role for g in terraform_rights.grants(hcl) if g.role.startswith(("roles/storage.", "roles/bigquery."))}
    assert roles and roles <= set(ROLE_PERMISSIONS), f"unmapped: {sorted(roles - set(ROLE_PERMISSIONS))}"


def test_the_github_identity_may_append_to_bronze_and_touch_nothing_in_the_lake_or_bigquery(hcl):
    """What issue 21 found: the lake lock needs rights the GitHub step's identity does not have."""
    github = terraform_rights.workflow_steps(hcl=hcl)[0].identity
    rights = terraform_rights.rights_of(github, hcl)
    assert "storage.objects.create" in rights.storage("bronze"), rights.describe()
    assert "storage.objects.delete" not in rights.storage("bronze"), rights.describe()
    assert rights.storage("lake") == frozenset() and rights.datasets == {} and rights.project == frozenset(), (
        rights.describe())


def test_the_dashboard_reads_gold_only(hcl):
    rights = terraform_rights.rights_of(terraform_rights.dashboard_identity(hcl), hcl)
    assert "bigquery.tables.getData" in rights.bigquery("gold"), rights.describe()
    assert rights.bigquery("silver") == frozenset() and not (rights.bigquery("gold") & {
        "bigquery.tables.updateData", "bigquery.tables.create", "bigquery.tables.delete"}), rights.describe()


# --- what a request needs ----------------------------------------------------------------------------------


def test_storage_requests_need_what_cloud_storage_documents():
    upload = storage_needs("POST", "/upload/storage/v1/b/lake/o", {"uploadType": ["multipart"]},
                           b'--x\r\n\r\n{"name": "_lake.lock"}\r\n--x\r\n\r\n{}\r\n--x--')
    create_only = storage_needs("POST", "/upload/storage/v1/b/lake/o",
                                {"uploadType": ["multipart"], "ifGenerationMatch": ["0"], "name": ["_lake.lock"]})
    xml_put = storage_needs("PUT", "/lake/silver/t/part-0.parquet", {})
    xml_quoted = storage_needs("GET", "/gnp%2Dlake/silver%2Ft%2F%5Fdelta%5Flog%2F%5Flast%5Fcheckpoint", {})  # delta-rs
    batch = storage_needs("POST", "/batch/storage/v1", {}, b"--b\r\nContent-Type: application/http\r\n\r\n"
                          b"DELETE /storage/v1/b/lake/o/a%2Fb HTTP/1.1\r\n\r\n--b--")
    move = storage_needs("POST", "/storage/v1/b/lake/o/t%2F.0.crc.tmp/moveTo/o/t%2F0.crc", {})  # the GCS connector
    listing = storage_needs("GET", "/storage/v1/b/bronze/o", {"prefix": ["hyperion/"]})
    download = storage_needs("GET", "/download/storage/v1/b/bronze/o/hyperion%2Fday.json", {"alt": ["media"]})
    assert upload == [Need("storage.objects.create", "gs://lake/_lake.lock", "lake"),
                      Need("storage.objects.delete", "gs://lake/_lake.lock", "lake", if_exists=True)], upload
    assert create_only == [Need("storage.objects.create", "gs://lake/_lake.lock", "lake")], create_only
    assert [n.permission for n in xml_put] == ["storage.objects.create", "storage.objects.delete"], xml_put
    assert xml_quoted == [Need("storage.objects.get", "gs://gnp-lake/silver/t/_delta_log/_last_checkpoint",
                               "gnp-lake")], xml_quoted
    assert batch == [Need("storage.objects.delete", "gs://lake/a/b", "lake")], batch
    assert [(n.permission, n.resource) for n in move] == [
        ("storage.objects.get", "gs://lake/t/.0.crc.tmp"), ("storage.objects.delete", "gs://lake/t/.0.crc.tmp"),
        ("storage.objects.create", "gs://lake/t/0.crc"), ("storage.objects.delete", "gs://lake/t/0.crc")], move
    assert listing == [Need("storage.objects.list", "gs://bronze", "bronze")], listing
    assert download == [Need("storage.objects.get", "gs://bronze/hyperion/day.json", "bronze")], download


def test_publish_s_jobs_need_jobs_on_the_project_and_writes_on_the_dataset_and_reads_of_the_lake():
    rights = Rights("pipeline")
    spec = next(s for s in TABLES.values() if s.partition_by)
    statement = replace_partitions_sql(spec, "p.gold.t", "p.gold.t__staging_ab", [dt.date(2025, 10, 25)])
    query = bigquery_needs("POST", "/bigquery/v2/projects/p/jobs", {},
                           json.dumps({"configuration": {"query": {"query": statement}}}).encode(), rights)
    load = bigquery_needs("POST", "/bigquery/v2/projects/p/jobs", {}, json.dumps({"configuration": {"load": {
        "destinationTable": {"projectId": "p", "datasetId": "gold", "tableId": "t__staging_ab"},
        "createDisposition": "CREATE_NEVER", "sourceUris": ["gs://lake/gold/t/*.parquet"]}}}).encode(), rights)
    dashboard = bigquery_needs("POST", "/bigquery/v2/projects/p/jobs", {}, json.dumps({"configuration": {"query": {
        "query": "SELECT x FROM `p.gold.a` JOIN `p.silver.b` USING (k) WHERE s = 'FROM p.x.y'"}}}).encode(), rights)
    assert {(n.permission, n.resource) for n in query} == {
        ("bigquery.jobs.create", "projects/p"), ("bigquery.tables.updateData", "p.gold.t"),
        ("bigquery.tables.getData", "p.gold.t"), ("bigquery.tables.getData", "p.gold.t__staging_ab")}, query
    assert {(n.permission, n.scope) for n in load} == {
        ("bigquery.jobs.create", "p"), ("bigquery.tables.updateData", "p.gold"), ("storage.objects.get", "gs:lake"),
        ("storage.objects.list", "gs:lake")}, load
    assert {(n.permission, n.resource) for n in dashboard} == {
        ("bigquery.jobs.create", "projects/p"), ("bigquery.tables.getData", "p.gold.a"),
        ("bigquery.tables.getData", "p.silver.b")}, dashboard


# --- a refusal, against fake-gcs-server ----------------------------------------------------------------------


@pytest.fixture
def gcs(tmp_path, monkeypatch, hcl):
    """fake-gcs-server with the test buckets; ``gate(identity)`` points every client at that identity's proxy."""
    with running_fake_gcs(tmp_path / "gcs") as endpoint, contextlib.ExitStack() as proxies:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
        gcsfs.GCSFileSystem.clear_instance_cache()
        for bucket in BUCKETS.values():
            storage.filesystem("gs://").mkdir(bucket)

        def gate(identity: str):
            rights = terraform_rights.rights_of(identity, hcl).concrete(BUCKETS, {})
            proxy = proxies.enter_context(rights_gcs_proxy(endpoint, rights))
            monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
            gcsfs.GCSFileSystem.clear_instance_cache()
            return proxy

        yield gate
    gcsfs.GCSFileSystem.clear_instance_cache()


@pytest.mark.slow
def test_the_github_identity_taking_the_lake_lock_is_refused_as_cloud_storage_would(gcs, hcl):
    """What an ingest-only run did before it stopped taking the lock (1889526): the lock's create, 403."""
    github = terraform_rights.workflow_steps(hcl=hcl)[0].identity
    gate = gcs(github)
    with pytest.raises(GnpError) as refused:
        with lakelock.holding("gs://lake", "ingest-run", wait_s=0):
            pass
    assert gate.denied == [f"{github} lacks storage.objects.create on gs://lake/_lake.lock "
                           f"(POST /upload/storage/v1/b/lake/o)"], gate.denied
    assert "storage.objects.create" in str(refused.value), str(refused.value)


@pytest.mark.slow
def test_the_job_s_identity_takes_and_releases_the_lock_and_the_github_one_only_appends_to_bronze(gcs, hcl):
    steps = terraform_rights.workflow_steps(hcl=hcl)
    job = gcs(steps[-1].identity)
    with lakelock.holding("gs://lake", "job-run", wait_s=0, lease_s=60):
        assert lakelock.holder("gs://lake")["owner"] == "job-run"
    assert job.denied == [] and job.used[("storage.objects.delete", "lake")], (job.denied, dict(job.used))

    github = gcs(steps[0].identity)
    fs = storage.filesystem("gs://")
    fs.pipe_file("bronze/hyperion/day.json", b"first")
    with pytest.raises(OSError):
        fs.pipe_file("bronze/hyperion/day.json", b"second")  # a replacement needs delete
    with pytest.raises(OSError):
        fs.rm_file("bronze/hyperion/day.json")
    with pytest.raises(OSError):
        fs.ls("lake/")
    assert fs.cat_file("bronze/hyperion/day.json") == b"first", "expected Bronze unchanged"
    assert github.refused == ["POST gs://bronze/hyperion/day.json", "DELETE gs://bronze/hyperion/day.json",
                              "GET gs://lake"], github.denied


@pytest.mark.slow
def test_the_dashboard_s_identity_reads_gold_and_is_refused_silver_and_writes_as_bigquery_would(tmp_path, hcl):
    from bigquery_emulator import running_local_bigquery
    from google.api_core.exceptions import Forbidden
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery
    from rights_proxy import rights_bigquery_proxy

    def client(endpoint: str, project: str) -> bigquery.Client:
        return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                               client_options={"api_endpoint": endpoint})

    with running_fake_gcs(tmp_path / "gcs") as gcs_endpoint, \
            running_local_bigquery(tmp_path / "bq", gcs_endpoint) as bq:
        project = bq.project
        admin = client(bq.endpoint, project)
        datasets = {name: f"{project}.{name}" for name in ("silver", "gold")}
        for dataset in datasets.values():  # as Terraform
            admin.create_dataset(dataset)
            admin.query(f"CREATE TABLE `{dataset}.t` AS SELECT 1 AS x").result()
        dashboard = terraform_rights.rights_of(terraform_rights.dashboard_identity(hcl), hcl).concrete({}, datasets)
        job = terraform_rights.rights_of(terraform_rights.job_identity(hcl), hcl).concrete({}, datasets)
        with rights_bigquery_proxy(bq.endpoint, dashboard) as reader, rights_bigquery_proxy(bq.endpoint, job) as writer:
            as_dashboard, as_job = client(reader.endpoint, project), client(writer.endpoint, project)
            found = [tuple(row.values()) for row in as_dashboard.query(f"SELECT x FROM `{project}.gold.t`").result()]
            with pytest.raises(Forbidden):
                as_dashboard.query(f"SELECT x FROM `{project}.silver.t`").result()
            with pytest.raises(Forbidden):
                as_dashboard.query(f"INSERT INTO `{project}.gold.t` (x) VALUES (2)").result()
            with pytest.raises(Forbidden):
                as_job.create_dataset(f"{project}.scratch")  # Terraform's: the job's roles may not
            as_job.query(f"INSERT INTO `{project}.gold.t` (x) VALUES (2)").result()
        assert found == [(1,)], found
        assert reader.denied == [
            f"{dashboard.identity} lacks bigquery.tables.getData on {project}.silver.t "
            f"(POST /bigquery/v2/projects/{project}/jobs)",
            f"{dashboard.identity} lacks bigquery.tables.updateData on {project}.gold.t "
            f"(POST /bigquery/v2/projects/{project}/jobs)"], reader.denied
        assert writer.denied == [f"{job.identity} lacks bigquery.datasets.create on projects/{project} "
                                 f"(POST /bigquery/v2/projects/{project}/datasets)"], writer.denied
        assert reader.unclassified == writer.unclassified == [], (reader.unclassified, writer.unclassified)
