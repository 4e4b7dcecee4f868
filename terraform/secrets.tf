# Only the secrets' containers live here. Their values never pass through
# Terraform (they would land in the state): add them with
# `gcloud secrets versions add` as README.md shows.

# The data.gov.gr token is optional (the portal appears to need none since
# mid-2025): its secret, and every grant on it, exist only when enabled.
resource "google_secret_manager_secret" "hyperion_token" {
  count     = var.hyperion_token_enabled ? 1 : 0
  secret_id = var.hyperion_token_secret_id

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret" "pseudonym_key" {
  secret_id = var.pseudonym_key_secret_id

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}
