locals {
  labels = merge({ app = "greek-net-pulse", managed-by = "terraform" }, var.labels)

  bucket_names = {
    bronze    = "${var.project_id}-${var.name_prefix}-bronze"
    lake      = "${var.project_id}-${var.name_prefix}-lake"
    artifacts = "${var.project_id}-${var.name_prefix}-artifacts"
    releases  = "${var.project_id}-${var.name_prefix}-releases"
  }

  image_repository = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}
