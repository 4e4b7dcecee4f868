"""What Terraform grants each identity that runs a step, read from terraform/*.tf and the pipeline workflow.

Nothing here repeats a grant: the bindings are parsed from the IAM resources
(``google_storage_bucket_iam_*``, ``google_bigquery_dataset_iam_*``,
``google_project_iam_*``), with their ``for_each`` and ``each.*`` resolved, and
the identities from where Terraform and the workflow name them:

- ``github``: the service account the pipeline workflow's auth step
  impersonates (``vars.<NAME>``, whose value Terraform's ``github_variables``
  output gives as ``google_service_account.<x>.email``), and the stages its
  ``gnp run --stages ...`` step runs;
- ``job``: the Cloud Run job's ``service_account``, and the stages the workflow
  passes it (``JOB_STAGES``);
- ``dashboard``: the Cloud Run service's ``service_account``.

Buckets and datasets are named by their purpose as Terraform's ``buckets`` and
``bigquery_datasets`` outputs name them (``bronze``, ``lake``, ``silver``,
...), the keys params/gcp.yaml uses, so a test can put its own bucket and
dataset names on them (``Rights.concrete``).

Only the role table below is written by hand: which permissions each
predefined role carries, for the permissions the proxy checks.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = REPO / "terraform"
PIPELINE_WORKFLOW = REPO / ".github" / "workflows" / "pipeline.yml"
ALL = "*"  # a project-level grant of a storage or data role: every bucket or dataset of the project

# Predefined roles -> the permissions among those rights_proxy.py checks (Google's lists, narrowed to these;
# https://cloud.google.com/storage/docs/access-control/iam-roles and
# https://cloud.google.com/bigquery/docs/access-control). A storage or BigQuery role missing here is an error,
# so a new grant in Terraform must be mapped before the test can pass; other services' roles are ignored.
_OBJECT_READ = {"storage.objects.get", "storage.objects.list"}
_OBJECT_ALL = _OBJECT_READ | {"storage.objects.create", "storage.objects.delete", "storage.objects.update"}
_BUCKET_ALL = {"storage.buckets.get", "storage.buckets.update", "storage.buckets.delete"}
_TABLE_READ = {"bigquery.datasets.get", "bigquery.tables.get", "bigquery.tables.list", "bigquery.tables.getData"}
_TABLE_WRITE = {"bigquery.tables.create", "bigquery.tables.update", "bigquery.tables.updateData",
                "bigquery.tables.delete"}
_DATASET_ALL = _TABLE_READ | _TABLE_WRITE | {"bigquery.datasets.update", "bigquery.datasets.delete"}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {role: frozenset(perms) for role, perms in {
    "roles/storage.objectViewer": _OBJECT_READ,
    "roles/storage.objectCreator": {"storage.objects.create"},  # no get, no list, no delete: so no overwrite
    "roles/storage.objectUser": _OBJECT_ALL,
    "roles/storage.objectAdmin": _OBJECT_ALL,
    "roles/storage.admin": _OBJECT_ALL | _BUCKET_ALL | {"storage.buckets.list", "storage.buckets.create"},
    "roles/storage.legacyBucketReader": {"storage.buckets.get", "storage.objects.list"},
    "roles/storage.legacyBucketWriter": {"storage.buckets.get", "storage.objects.list", "storage.objects.create",
                                         "storage.objects.delete"},
    "roles/storage.legacyObjectReader": {"storage.objects.get"},
    "roles/bigquery.metadataViewer": _TABLE_READ - {"bigquery.tables.getData"},
    "roles/bigquery.dataViewer": _TABLE_READ,
    "roles/bigquery.dataEditor": _TABLE_READ | _TABLE_WRITE,
    "roles/bigquery.dataOwner": _DATASET_ALL,
    "roles/bigquery.jobUser": {"bigquery.jobs.create"},  # project-level: runs jobs; reads and writes nothing
    "roles/bigquery.user": {"bigquery.jobs.create", "bigquery.datasets.create"},
    "roles/bigquery.admin": _DATASET_ALL | {"bigquery.jobs.create", "bigquery.datasets.create"},
}.items()}
# The project-level permissions among them (jobs belong to a project, not to a dataset).
PROJECT_PERMISSIONS = frozenset({"bigquery.jobs.create", "bigquery.datasets.create"})


class TerraformShapeError(ValueError):
    """A binding this parser cannot resolve: extend it rather than guess."""


@dataclass(frozen=True)
class Grant:
    address: str  # e.g. google_storage_bucket_iam_member.deployer_ingest["bronze-create"]
    member: str  # a service account's Terraform name (deployer), or allUsers and the like as written
    kind: str  # "bucket", "dataset" or "project"
    target: str  # the bucket's or dataset's purpose (lake, gold), a literal expression, or ALL for a project
    role: str


@dataclass
class Rights:
    """One identity's storage and BigQuery permissions, per bucket and dataset."""

    identity: str
    buckets: dict[str, frozenset[str]] = field(default_factory=dict)  # bucket -> storage permissions
    datasets: dict[str, frozenset[str]] = field(default_factory=dict)  # dataset -> BigQuery permissions
    project: frozenset[str] = frozenset()  # project-level BigQuery permissions
    grants: list[Grant] = field(default_factory=list)
    other_buckets: frozenset[str] = frozenset()  # what a bucket not named above allows (nothing, from Terraform)

    def storage(self, bucket: str) -> frozenset[str]:
        return self.buckets.get(bucket, self.buckets.get(ALL, self.other_buckets))

    def bigquery(self, dataset: str) -> frozenset[str]:
        """``dataset`` as ``project.dataset``, or as the dataset alone."""
        anywhere = self.datasets.get(ALL, frozenset())
        return self.datasets.get(dataset, self.datasets.get(dataset.split(".")[-1], anywhere))

    def concrete(self, buckets: dict[str, str], datasets: dict[str, str]) -> Rights:
        """The same rights on a test's buckets and datasets: purpose -> bucket name, purpose -> project.dataset."""
        return Rights(self.identity, {buckets.get(k, k) if k != ALL else ALL: v for k, v in self.buckets.items()},
                      {datasets.get(k, k) if k != ALL else ALL: v for k, v in self.datasets.items()},
                      self.project, self.grants)

    def describe(self) -> str:
        lines = [f"{self.identity}:"]
        lines += [f"  gs://{b}: {', '.join(sorted(p))}" for b, p in sorted(self.buckets.items())]
        lines += [f"  bigquery {d}: {', '.join(sorted(p))}" for d, p in sorted(self.datasets.items())]
        lines += [f"  project: {', '.join(sorted(self.project))}"] if self.project else []
        return "\n".join(lines)


def load_hcl(path: Path) -> dict:
    """One HCL file as plain data (as tests/infra/test_terraform.py reads it)."""
    import hcl2
    from hcl2 import SerializationOptions

    options = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=options)


def terraform(folder: Path = TERRAFORM_DIR) -> dict[str, list]:
    merged: dict[str, list] = {}
    for path in sorted(folder.glob("*.tf")):
        for kind, blocks in load_hcl(path).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def _resources(hcl: dict) -> list[tuple[str, str, dict]]:
    return [(kind, name, body) for block in hcl.get("resource", []) for kind, named in block.items()
            for name, body in named.items()]


def _outputs(hcl: dict) -> dict[str, dict]:
    return {name: body for block in hcl.get("output", []) for name, body in block.items()}


_INTERPOLATION = re.compile(r"^\$\{(.*)\}$", re.S)
_REFERENCE = re.compile(r"^(google_\w+)\.(\w+)\.(\w+)$")


def _expression(value):
    """The expression inside ``${...}``, or None for a literal."""
    found = _INTERPOLATION.match(value) if isinstance(value, str) else None
    return found.group(1).strip() if found else None


def _instances(body: dict) -> list[tuple[str | None, object]]:
    """(each.key, each.value) per instance: one (None, None) without for_each."""
    for_each = body.get("for_each")
    if for_each is None:
        return [(None, None)]
    if isinstance(for_each, dict):
        return list(for_each.items())
    expression = _expression(for_each) or ""
    found = re.fullmatch(r"toset\(\[(.*)\]\)", expression, re.S)
    if not found:
        raise TerraformShapeError(f"for_each {for_each!r}: expected a map or toset([...]) of literals")
    values = re.findall(r'"((?:[^"\\]|\\.)*)"', found.group(1))
    return [(v, v) for v in values]


def _resolve(value, each_key, each_value):
    """A binding's attribute with ``each.*`` substituted; references stay as ``${...}`` text."""
    expression = _expression(value)
    if expression is None:
        return value
    if expression == "each.key":
        return each_key
    if expression == "each.value":
        return _resolve(each_value, None, None) if isinstance(each_value, str) else each_value
    if expression.startswith("each.value."):
        return _resolve(each_value[expression.removeprefix("each.value.")], None, None)
    return value


def _named(value, attribute: str, resource_type: str) -> str | None:
    """x for ``${<resource_type>.x.<attribute>}``."""
    found = _REFERENCE.match(_expression(value) or "")
    if found and found.group(1) == resource_type and found.group(3) == attribute:
        return found.group(2)
    return None


def _purposes(hcl: dict, output: str, resource_type: str, attribute: str) -> dict[str, str]:
    """Terraform resource name -> the purpose an output map names it by (``buckets``: lake -> lake)."""
    found = {}
    for purpose, value in (_outputs(hcl).get(output, {}).get("value") or {}).items():
        match = re.search(rf"{resource_type}\.(\w+)\.{attribute}", str(value))
        if match:
            found[match.group(1)] = purpose
    return found


def grants(hcl: dict) -> list[Grant]:
    """Every storage, BigQuery and project IAM binding, one per member and role."""
    buckets = _purposes(hcl, "buckets", "google_storage_bucket", "name")
    datasets = _purposes(hcl, "bigquery_datasets", "google_bigquery_dataset", "dataset_id")
    kinds = {"google_storage_bucket_iam_": ("bucket", "bucket", "google_storage_bucket", "name", buckets),
             "google_bigquery_dataset_iam_": ("dataset", "dataset_id", "google_bigquery_dataset", "dataset_id",
                                              datasets),
             "google_project_iam_": ("project", "project", None, None, {})}
    found = []
    for rtype, rname, body in _resources(hcl):
        kind = next((k for prefix, k in kinds.items() if rtype.startswith(prefix)), None)
        if kind is None or rtype.endswith(("_iam_policy", "_iam_custom_role", "_iam_audit_config")):
            continue
        label, attribute, target_type, target_attribute, purposes = kind
        if body.get("condition"):
            raise TerraformShapeError(f"{rtype}.{rname} has an IAM condition, which the rights proxy does not model")
        for key, value in _instances(body):
            address = f"{rtype}.{rname}" + (f"[{key!r}]" if key is not None else "")
            role = _resolve(body.get("role"), key, value)
            members = body.get("members") or [body.get("member")]
            if not isinstance(role, str) or _expression(role):
                raise TerraformShapeError(f"{address}: cannot resolve its role {body.get('role')!r}")
            if target_type is None:
                target = ALL
            else:
                raw = _resolve(body.get(attribute), key, value)
                name = _named(raw, target_attribute, target_type)
                target = purposes.get(name, name) if name else str(raw)
            for member in members:
                member = _resolve(member, key, value)
                account = _named(member, "member", "google_service_account")
                found.append(Grant(address, account or str(member), label, target, role))
    return found


def rights_of(identity: str, hcl: dict | None = None) -> Rights:
    """The storage and BigQuery permissions Terraform gives ``identity`` (a service account's Terraform name)."""
    hcl = terraform() if hcl is None else hcl
    mine = [g for g in grants(hcl) if g.member == identity]
    buckets: dict[str, set[str]] = {}
    datasets: dict[str, set[str]] = {}
    project: set[str] = set()
    for grant in mine:
        if not grant.role.startswith(("roles/storage.", "roles/bigquery.")):
            continue  # Artifact Registry, Cloud Run, Secret Manager, IAM: nothing the emulators serve
        if grant.role not in ROLE_PERMISSIONS:
            raise TerraformShapeError(f"{grant.address} grants {grant.role}, which ROLE_PERMISSIONS does not map: "
                                      "add its permissions there")
        permissions = ROLE_PERMISSIONS[grant.role]
        if grant.kind == "project":
            project |= permissions & PROJECT_PERMISSIONS
            if grant.role.startswith("roles/storage."):
                buckets.setdefault(ALL, set()).update(permissions)
            elif permissions - PROJECT_PERMISSIONS:
                datasets.setdefault(ALL, set()).update(permissions - PROJECT_PERMISSIONS)
        elif grant.kind == "bucket":
            buckets.setdefault(grant.target, set()).update(permissions)
        else:
            datasets.setdefault(grant.target, set()).update(permissions - PROJECT_PERMISSIONS)
    return Rights(identity, {k: frozenset(v) for k, v in buckets.items()},
                  {k: frozenset(v) for k, v in datasets.items()}, frozenset(project), mine)


def _service_account(value) -> str:
    name = _named(value, "email", "google_service_account")
    if name is None:
        raise TerraformShapeError(f"expected google_service_account.<name>.email, found {value!r}")
    return name


def _first(blocks):
    return blocks[0] if isinstance(blocks, list) else blocks


def job_identity(hcl: dict | None = None) -> str:
    """The Cloud Run job's service account (the one job ``pipeline_job`` outputs)."""
    hcl = terraform() if hcl is None else hcl
    jobs = {name: body for rtype, name, body in _resources(hcl) if rtype == "google_cloud_run_v2_job"}
    wanted = re.search(r"google_cloud_run_v2_job\.(\w+)\.", str(_outputs(hcl).get("pipeline_job", {}).get("value")))
    body = jobs[wanted.group(1)] if wanted else _first(list(jobs.values()))
    return _service_account(_first(_first(body["template"])["template"])["service_account"])


def dashboard_identity(hcl: dict | None = None) -> str | None:
    """The dashboard service's service account, if Terraform serves one."""
    hcl = terraform() if hcl is None else hcl
    services = [body for rtype, _, body in _resources(hcl) if rtype == "google_cloud_run_v2_service"]
    return _service_account(_first(services[0]["template"])["service_account"]) if services else None


@dataclass(frozen=True)
class Step:
    """One step of the pipeline workflow that runs stages, and the identity it runs as."""

    name: str
    identity: str  # a service account's Terraform name
    stages: tuple[str, ...]


def workflow_steps(workflow: Path = PIPELINE_WORKFLOW, hcl: dict | None = None) -> list[Step]:
    """The stages GitHub runs (as the account its auth step impersonates) and those the Cloud Run job runs."""
    hcl = terraform() if hcl is None else hcl
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    variables = str(_outputs(hcl).get("github_variables", {}).get("value"))
    steps: list[Step] = []
    for job in data["jobs"].values():
        identity = None
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("google-github-actions/auth"):
                found = re.search(r"vars\.(\w+)", str(step["with"]["service_account"]))
                account = re.search(rf"\b{found.group(1)}\s*=\s*google_service_account\.(\w+)\.email", variables)
                if not account:
                    raise TerraformShapeError(f"github_variables names no service account as {found.group(1)}")
                identity = account.group(1)
            script = str(step.get("run", ""))
            for line in script.splitlines():
                if "gnp run" in line and "--stages" in line:
                    words = shlex.split(line.strip())
                    stages = words[words.index("--stages") + 1].split(",")
                    steps.append(Step(step.get("name", "gnp run"), identity, tuple(stages)))
            if "gcloud run jobs execute" in script and "GNP_STAGES" in script:
                stages = str(data.get("env", {}).get("JOB_STAGES", "")).split(",")
                steps.append(Step(step.get("name", "job"), job_identity(hcl), tuple(s for s in stages if s)))
    return steps
