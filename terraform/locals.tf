locals {
  labels = merge({ app = "greek-net-pulse", managed-by = "terraform" }, var.labels)

  bucket_names = {
    bronze    = "${var.project_id}-${var.name_prefix}-bronze"
    lake      = "${var.project_id}-${var.name_prefix}-lake"
    artifacts = "${var.project_id}-${var.name_prefix}-artifacts"
    releases  = "${var.project_id}-${var.name_prefix}-releases"
  }

  github_owner = split("/", var.github_repository)[0]
  github_name  = split("/", var.github_repository)[1]

  # The environments whose jobs may impersonate the deployer on the deploy ref (wif.tf, github.tf).
  deploy_environments = [var.github_deploy_environment, var.github_pipeline_environment]

  image_repository = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}
