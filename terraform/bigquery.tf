resource "google_bigquery_dataset" "silver" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption; the data is public open data with IPs already pseudonymised, and a customer key adds a KMS key to run without reducing a risk here.
  dataset_id                 = var.silver_dataset
  friendly_name              = "Greek Net Pulse silver"
  description                = "Typed, cleaned, deduplicated Hyperion measurements, quarantine and sessions (IPs pseudonymised)."
  location                   = var.bigquery_location
  delete_contents_on_destroy = false

  depends_on = [google_project_service.enabled]
}

resource "google_bigquery_dataset" "gold" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption; Gold holds only k-anonymous aggregates of public open data.
  dataset_id                 = var.gold_dataset
  friendly_name              = "Greek Net Pulse gold"
  description                = "Business aggregates of internet quality in Greece; the only dataset the dashboard reads."
  location                   = var.bigquery_location
  delete_contents_on_destroy = false

  depends_on = [google_project_service.enabled]
}
