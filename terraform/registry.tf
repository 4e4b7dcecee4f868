resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption; the images hold only open-source code and no data.
  repository_id = var.name_prefix
  location      = var.region
  format        = "DOCKER"
  description   = "Greek Net Pulse pipeline and dashboard images, tagged by commit."

  # A tag is a commit SHA: it must never point at other bytes later.
  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "7776000s"
    }
  }

  depends_on = [google_project_service.enabled]
}
