# A ceiling on what the public dashboard can cost in BigQuery. Every visitor's
# kernel queries Gold as the dashboard's identity; the kernel cap bounds how many
# do so at once, this bounds the bytes they scan in a day. BigQuery has no
# per-identity quota, only "query usage per day per user", which applies to each
# identity of the project separately: the dashboard's is one of them, the
# pipeline's (whose publish uses load jobs, which do not count) another.
# Units are MiB (BigQuery's default for this limit is unlimited).
resource "google_service_usage_consumer_quota_override" "bigquery_query_per_user_per_day" {
  provider       = google-beta
  project        = var.project_id
  service        = "bigquery.googleapis.com"
  metric         = urlencode("bigquery.googleapis.com/quota/query/usage")
  limit          = urlencode("/d/project/user")
  override_value = tostring(var.bigquery_query_mib_per_user_per_day)
  # Lowering a quota below current use needs force; the override only ever lowers it.
  force = true

  depends_on = [google_project_service.enabled]
}
