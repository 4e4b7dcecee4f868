# The pipeline: every stage notebook through papermill, Spark in local mode on
# the task's CPUs. GitHub Actions executes it after ingest and waits for it.
resource "google_cloud_run_v2_job" "pipeline" {
  name                = "${var.name_prefix}-pipeline"
  location            = var.region
  deletion_protection = var.deletion_protection

  template {
    task_count = 1

    template {
      service_account = google_service_account.pipeline.email
      timeout         = var.job_timeout
      max_retries     = var.job_max_retries

      containers {
        image = var.pipeline_image

        resources {
          limits = {
            cpu    = var.job_cpu
            memory = var.job_memory
          }
        }

        env {
          name  = "GNP_PARAMS"
          value = var.params_file
        }

        # Only when var.hyperion_token_enabled: without it the job calls the API with no token.
        dynamic "env" {
          for_each = google_secret_manager_secret.hyperion_token
          content {
            name = "HYPERION_TOKEN"
            value_source {
              secret_key_ref {
                secret  = env.value.secret_id
                version = "latest"
              }
            }
          }
        }

        env {
          name = "GNP_PSEUDONYM_KEY"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.pseudonym_key.secret_id
              version = "latest"
            }
          }
        }
      }
    }
  }

  lifecycle {
    # The image workflow deploys each commit's tag; Terraform must not roll it back.
    ignore_changes = [
      template[0].template[0].containers[0].image,
      client,
      client_version,
    ]
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.pipeline_secrets,
  ]
}

# The dashboard: Voila on $PORT, scaled to zero when nobody looks.
resource "google_cloud_run_v2_service" "dashboard" {
  name                = "${var.name_prefix}-dashboard"
  location            = var.region
  deletion_protection = var.deletion_protection
  ingress             = "INGRESS_TRAFFIC_ALL"

  template {
    service_account = google_service_account.dashboard.email
    # Voila keeps a kernel per visitor behind a websocket: the socket lives at
    # most as long as the request timeout, and every request of a visitor must
    # reach the instance that holds the kernel.
    timeout                          = "3600s"
    session_affinity                 = true
    max_instance_request_concurrency = 10

    scaling {
      min_instance_count = var.dashboard_min_instances
      max_instance_count = var.dashboard_max_instances
    }

    containers {
      image = var.dashboard_image

      ports {
        container_port = 8080
      }

      resources {
        cpu_idle = true
        limits = {
          cpu    = var.dashboard_cpu
          memory = var.dashboard_memory
        }
      }

      env {
        name  = "GNP_PARAMS"
        value = var.params_file
      }

      # Ready once Voila listens. Not an HTTP GET of "/": every page load takes a pre-heated kernel
      # (and the pool then starts another). Voila listens within seconds; its pool heats in the
      # background, so a visitor in the first ~10 s after a cold start waits for a kernel.
      startup_probe {
        period_seconds    = 2
        timeout_seconds   = 2
        failure_threshold = 60
        tcp_socket {
          port = 8080
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [
      template[0].containers[0].image,
      client,
      client_version,
    ]
  }

  depends_on = [google_project_service.enabled]
}

resource "google_cloud_run_v2_service_iam_member" "dashboard_invokers" {
  for_each = toset(var.dashboard_invokers)
  location = google_cloud_run_v2_service.dashboard.location
  name     = google_cloud_run_v2_service.dashboard.name
  role     = "roles/run.invoker"
  member   = each.value
}
