# The GitHub environments that deploys and pipeline runs go through. A job that
# names an environment gets an OIDC token whose subject ends in
# ":environment:<name>", and wif.tf lets a job on the deploy ref impersonate the
# deployer only with such a token: a deploy therefore waits for a reviewer of
# the deploy environment, and runs only from the deploy branch.

resource "github_repository_environment" "deploy" {
  repository          = local.github_name
  environment         = var.github_deploy_environment
  prevent_self_review = true
  can_admins_bypass   = false

  reviewers {
    users = var.github_deploy_reviewers.users
    teams = var.github_deploy_reviewers.teams
  }

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

resource "github_repository_environment" "pipeline" {
  repository          = local.github_name
  environment         = var.github_pipeline_environment
  prevent_self_review = true

  # No reviewers by default: the daily run must not wait for a person.
  dynamic "reviewers" {
    for_each = length(var.github_pipeline_reviewers.users) + length(var.github_pipeline_reviewers.teams) > 0 ? [var.github_pipeline_reviewers] : []
    content {
      users = reviewers.value.users
      teams = reviewers.value.teams
    }
  }

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

# Each environment admits only the deploy branch.
resource "github_repository_environment_deployment_policy" "deploy_branch" {
  for_each = {
    deploy   = github_repository_environment.deploy.environment
    pipeline = github_repository_environment.pipeline.environment
  }

  repository     = local.github_name
  environment    = each.value
  branch_pattern = trimprefix(var.github_deploy_ref, "refs/heads/")
}
