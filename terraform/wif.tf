# GitHub Actions exchanges its OIDC token for short-lived Google credentials:
# no service-account key exists anywhere.
resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "${var.name_prefix}-github"
  display_name              = "GitHub Actions"
  description               = "OIDC tokens from the workflows of ${var.github_repository}."

  depends_on = [google_project_service.enabled]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The condition pins the repository's and its owner's numeric ids, as Google's guide for GitHub advises; an exact assertion.sub match (the only form this check reads) would pin one event and ref and lock out pull-request plans. On the deploy ref the condition also requires a deploy environment, and the deployer's binding below requires that ref.
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-actions"
  display_name                       = "GitHub Actions OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }

  # Without a condition any repository on github.com could present a token.
  # Ids, not names: a repository (or account) deleted and re-created under the
  # same name by someone else gets new ids. On the deploy ref, only a job in a
  # deploy environment (github.tf) gets a token: its subject is
  # "repo:<owner>/<name>:environment:<environment>" (GitHub's default subject).
  attribute_condition = join(" && ", [
    "assertion.repository_id == '${var.github_repository_id}'",
    "assertion.repository_owner_id == '${var.github_repository_owner_id}'",
    "(assertion.ref != '${var.github_deploy_ref}' || ${join(" || ", [for environment in local.deploy_environments : "assertion.sub.endsWith(':environment:${environment}')"])})",
  ])

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

# Every workflow of the repository (pull requests included) may plan.
resource "google_service_account_iam_member" "planner_wif" {
  service_account_id = google_service_account.planner.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_repository}"
}

# Only workflows running on the deploy ref may push, deploy and run the pipeline.
resource "google_service_account_iam_member" "deployer_wif" {
  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.ref/${var.github_deploy_ref}"
}
