output "buckets" {
  description = "gs:// URIs of the Bronze, lake (Silver/Gold) and artifacts buckets, for params/gcp.yaml, and of the open-data releases bucket."
  value = {
    bronze    = "gs://${google_storage_bucket.bronze.name}"
    lake      = "gs://${google_storage_bucket.lake.name}"
    artifacts = "gs://${google_storage_bucket.artifacts.name}"
    releases  = "gs://${google_storage_bucket.releases.name}"
  }
}

output "bigquery_datasets" {
  description = "Fully qualified BigQuery datasets for Silver and Gold."
  value = {
    silver = "${var.project_id}.${google_bigquery_dataset.silver.dataset_id}"
    gold   = "${var.project_id}.${google_bigquery_dataset.gold.dataset_id}"
  }
}

output "image_repository" {
  description = "Artifact Registry path that images are pushed to (<path>/pipeline:<sha>, <path>/dashboard:<sha>)."
  value       = local.image_repository
}

output "pipeline_job" {
  description = "Name of the Cloud Run job that runs the pipeline."
  value       = google_cloud_run_v2_job.pipeline.name
}

output "dashboard_url" {
  description = "URL of the Voila dashboard service."
  value       = google_cloud_run_v2_service.dashboard.uri
}

output "service_accounts" {
  description = "E-mail of each service account."
  value = {
    pipeline  = google_service_account.pipeline.email
    dashboard = google_service_account.dashboard.email
    deployer  = google_service_account.deployer.email
    planner   = google_service_account.planner.email
  }
}

output "workload_identity_provider" {
  description = "Full resource name of the GitHub OIDC provider, for google-github-actions/auth."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "github_variables" {
  description = "Repository variables the workflows read: set each with `gh variable set NAME --body VALUE`. GNP_HYPERION_TOKEN_SECRET only when hyperion_token_enabled: without it the ingest workflow sends no token."
  value = merge(
    {
      GCP_PROJECT_ID                 = var.project_id
      GCP_REGION                     = var.region
      GCP_WORKLOAD_IDENTITY_PROVIDER = google_iam_workload_identity_pool_provider.github.name
      GCP_DEPLOYER_SERVICE_ACCOUNT   = google_service_account.deployer.email
      GCP_PLANNER_SERVICE_ACCOUNT    = google_service_account.planner.email
      GCP_TF_STATE_BUCKET            = var.state_bucket
      GNP_IMAGE_REPOSITORY           = local.image_repository
      GNP_PIPELINE_JOB               = google_cloud_run_v2_job.pipeline.name
      GNP_DASHBOARD_SERVICE          = google_cloud_run_v2_service.dashboard.name
      GNP_ARTIFACTS_BUCKET           = google_storage_bucket.artifacts.name
      GNP_RELEASE_BUCKET             = google_storage_bucket.releases.name
    },
    { for secret in google_secret_manager_secret.hyperion_token : "GNP_HYPERION_TOKEN_SECRET" => secret.secret_id },
  )
}
