# Bronze: the API's answers exactly as received. Append-only is enforced by IAM
# (writers get objectCreator, which cannot overwrite or delete); versioning keeps
# anything an administrator replaces or deletes by mistake. A retention policy
# would lock objects even harder, but GCS refuses one on a versioned bucket.
resource "google_storage_bucket" "bronze" {
  #checkov:skip=CKV_GCP_62:Usage logs are a legacy feature; who read or wrote what is in Cloud Audit Logs.
  name                        = local.bucket_names.bronze
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = var.bronze_nearline_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }

  lifecycle_rule {
    condition {
      age = var.bronze_coldline_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = "COLDLINE"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  # Bronze holds truncated client IPs (personal data): an operator can bound
  # how long they are kept.
  dynamic "lifecycle_rule" {
    for_each = var.bronze_delete_after_days > 0 ? [var.bronze_delete_after_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

# Silver and Gold Parquet. Runs replace whole partitions, so replaced files are
# kept only long enough to undo a bad run.
resource "google_storage_bucket" "lake" {
  #checkov:skip=CKV_GCP_62:Usage logs are a legacy feature; who read or wrote what is in Cloud Audit Logs.
  name                        = local.bucket_names.lake
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# Executed notebooks and run manifests: the audit trail. Written once per run.
resource "google_storage_bucket" "artifacts" {
  #checkov:skip=CKV_GCP_62:Usage logs are a legacy feature; who read or wrote what is in Cloud Audit Logs.
  name                        = local.bucket_names.artifacts
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = var.artifacts_nearline_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# Open-data releases (gnp release): each whole month of Gold as a data package,
# written once per Gold run under <month>/<run id>/ and kept. Private unless
# release_public: then anyone may read (not list) its objects by URL.
resource "google_storage_bucket" "releases" {
  #checkov:skip=CKV_GCP_62:Usage logs are a legacy feature; who read or wrote what is in Cloud Audit Logs.
  name                        = local.bucket_names.releases
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = var.release_public ? "inherited" : "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}
