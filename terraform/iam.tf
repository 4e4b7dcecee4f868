# Four identities, each with only what its work needs. Bindings sit on the
# bucket, dataset, secret, job or service they are about; the two project-level
# ones (BigQuery jobs are project-scoped) are marked below.

resource "google_service_account" "pipeline" {
  account_id   = "${var.name_prefix}-pipeline"
  display_name = "Greek Net Pulse pipeline job"
  description  = "Runs the notebooks in the Cloud Run job: reads and writes the lake, loads BigQuery."
}

resource "google_service_account" "dashboard" {
  account_id   = "${var.name_prefix}-dashboard"
  display_name = "Greek Net Pulse dashboard"
  description  = "Serves the Voila dashboard: reads Gold in BigQuery, nothing else."
}

resource "google_service_account" "deployer" {
  account_id   = "${var.name_prefix}-deployer"
  display_name = "Greek Net Pulse GitHub deployer"
  description  = "Impersonated by GitHub Actions on the deploy ref: pushes images, runs ingest, deploys and executes the job."
}

resource "google_service_account" "planner" {
  account_id   = "${var.name_prefix}-planner"
  display_name = "Greek Net Pulse GitHub planner"
  description  = "Impersonated by GitHub Actions on pull requests: read-only, for terraform plan."
}

# --- pipeline job ----------------------------------------------------------

# Append-only Bronze: create and read, never overwrite or delete.
resource "google_storage_bucket_iam_member" "pipeline_bronze" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.objectViewer"])
  bucket   = google_storage_bucket.bronze.name
  role     = each.value
  member   = google_service_account.pipeline.member
}

# Silver and Gold partitions are replaced on every run, so delete is needed.
resource "google_storage_bucket_iam_member" "pipeline_lake" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectUser"
  member = google_service_account.pipeline.member
}

# A run's artifacts are written once and kept: no delete.
resource "google_storage_bucket_iam_member" "pipeline_artifacts" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.objectViewer"])
  bucket   = google_storage_bucket.artifacts.name
  role     = each.value
  member   = google_service_account.pipeline.member
}

# Releases are written once (gnp release creates each object only if absent) and kept: no delete.
resource "google_storage_bucket_iam_member" "pipeline_releases" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.objectViewer"])
  bucket   = google_storage_bucket.releases.name
  role     = each.value
  member   = google_service_account.pipeline.member
}

# Only with release_public: the open data are then readable by URL by anyone.
resource "google_storage_bucket_iam_member" "releases_public" {
  #checkov:skip=CKV_GCP_28:Public on purpose and only when release_public is true: the bucket holds open data (suppressed aggregates) and nothing else.
  count  = var.release_public ? 1 : 0
  bucket = google_storage_bucket.releases.name
  role   = "roles/storage.objectViewer"
  member = "allUsers"
}

resource "google_bigquery_dataset_iam_member" "pipeline_editor" {
  for_each   = { silver = google_bigquery_dataset.silver.dataset_id, gold = google_bigquery_dataset.gold.dataset_id }
  dataset_id = each.value
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.pipeline.member
}

# Project-level by necessity: load and query jobs belong to a project, not a dataset.
resource "google_project_iam_member" "pipeline_bigquery_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.pipeline.member
}

resource "google_secret_manager_secret_iam_member" "pipeline_secrets" {
  for_each = merge(
    { pseudonym_key = google_secret_manager_secret.pseudonym_key.id },
    { for secret in google_secret_manager_secret.hyperion_token : "hyperion_token" => secret.id },
  )
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.pipeline.member
}

# --- dashboard: read-only ----------------------------------------------------

resource "google_bigquery_dataset_iam_member" "dashboard_gold" {
  dataset_id = google_bigquery_dataset.gold.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.dashboard.member
}

# Project-level by necessity: a query runs as a job in a project.
resource "google_project_iam_member" "dashboard_bigquery_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.dashboard.member
}

# --- deployer (GitHub Actions on the deploy ref) ------------------------------

resource "google_artifact_registry_repository_iam_member" "deployer_push" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.deployer.member
}

resource "google_cloud_run_v2_job_iam_member" "deployer_job" {
  location = google_cloud_run_v2_job.pipeline.location
  name     = google_cloud_run_v2_job.pipeline.name
  role     = "roles/run.developer"
  member   = google_service_account.deployer.member
}

resource "google_cloud_run_v2_service_iam_member" "deployer_dashboard" {
  location = google_cloud_run_v2_service.dashboard.location
  name     = google_cloud_run_v2_service.dashboard.name
  role     = "roles/run.developer"
  member   = google_service_account.deployer.member
}

# Deploying a new image to the job or the service acts as its service account.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = {
    pipeline  = google_service_account.pipeline.name
    dashboard = google_service_account.dashboard.name
  }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}

# The ingest stage runs on the GitHub runner: it appends to Bronze, writes its
# artifacts and reads the API token when there is one, like the job does for those steps.
resource "google_storage_bucket_iam_member" "deployer_ingest" {
  for_each = {
    bronze-create    = { bucket = google_storage_bucket.bronze.name, role = "roles/storage.objectCreator" }
    bronze-read      = { bucket = google_storage_bucket.bronze.name, role = "roles/storage.objectViewer" }
    artifacts-create = { bucket = google_storage_bucket.artifacts.name, role = "roles/storage.objectCreator" }
    artifacts-read   = { bucket = google_storage_bucket.artifacts.name, role = "roles/storage.objectViewer" }
  }
  bucket = each.value.bucket
  role   = each.value.role
  member = google_service_account.deployer.member
}

resource "google_secret_manager_secret_iam_member" "deployer_token" {
  count     = var.hyperion_token_enabled ? 1 : 0
  secret_id = google_secret_manager_secret.hyperion_token[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.deployer.member
}

# --- planner (GitHub Actions on pull requests): metadata only -----------------

# Predefined viewer roles instead of the basic roles/viewer: the basic role
# would also let the planner read table data through BigQuery's projectReaders.
resource "google_project_iam_member" "planner" {
  for_each = toset([
    "roles/artifactregistry.reader",
    "roles/bigquery.metadataViewer",
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.workloadIdentityPoolViewer",
    "roles/run.viewer",
    "roles/secretmanager.viewer",
    "roles/serviceusage.serviceUsageViewer",
  ])
  project = var.project_id
  role    = each.value
  member  = google_service_account.planner.member
}

# Bucket metadata and object listing, without reading any object's content.
resource "google_storage_bucket_iam_member" "planner_buckets" {
  for_each = {
    bronze    = google_storage_bucket.bronze.name
    lake      = google_storage_bucket.lake.name
    artifacts = google_storage_bucket.artifacts.name
    releases  = google_storage_bucket.releases.name
  }
  bucket = each.value
  role   = "roles/storage.legacyBucketReader"
  member = google_service_account.planner.member
}

# The state itself: plan reads it (and runs with -lock=false, so never writes).
resource "google_storage_bucket_iam_member" "planner_state" {
  bucket = var.state_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.planner.member
}
