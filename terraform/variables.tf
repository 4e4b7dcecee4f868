variable "project_id" {
  description = "Google Cloud project that holds everything (buckets, datasets, job, dashboard)."
  type        = string
}

variable "region" {
  description = "Region for Cloud Run, Artifact Registry and the buckets."
  type        = string
  default     = "europe-west1"
}

variable "bigquery_location" {
  description = "BigQuery location of the silver and gold datasets; must match warehouse.location in params/gcp.yaml."
  type        = string
  default     = "EU"
}

variable "name_prefix" {
  description = "Short prefix for resource names; bucket names are <project_id>-<name_prefix>-<purpose>."
  type        = string
  default     = "gnp"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,11}$", var.name_prefix))
    error_message = "name_prefix must be 2-12 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "labels" {
  description = "Extra labels added to every resource that takes labels."
  type        = map(string)
  default     = {}
}

variable "github_repository" {
  description = "The only GitHub repository (owner/name) whose workflows may authenticate through Workload Identity Federation."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_repository_id" {
  description = "Numeric id of github_repository (`gh api repos/OWNER/NAME --jq .id`; in a workflow, github.repository_id). Workload Identity trusts this id, which a deleted and re-created repository of the same name does not get."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.github_repository_id))
    error_message = "github_repository_id must be the repository's numeric id."
  }
}

variable "github_repository_owner_id" {
  description = "Numeric id of the repository's owner (`gh api users/OWNER --jq .id`; in a workflow, github.repository_owner_id). Workload Identity trusts this id, which a re-registered account of the same name does not get."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.github_repository_owner_id))
    error_message = "github_repository_owner_id must be the owner's numeric id."
  }
}

variable "github_deploy_ref" {
  description = "Git ref whose workflows may impersonate the deployer (push images, update and execute the job), and then only from the deploy environments. Other refs of the repository, pull requests included, only get the read-only planner."
  type        = string
  default     = "refs/heads/main"

  validation {
    condition     = startswith(var.github_deploy_ref, "refs/heads/")
    error_message = "github_deploy_ref must be a branch (refs/heads/...): the deploy environments allow only that branch."
  }
}

variable "github_deploy_environment" {
  description = "GitHub environment of the image workflow's publish job (it deploys): its jobs wait for one of github_deploy_reviewers."
  type        = string
  default     = "production"
}

variable "github_deploy_reviewers" {
  description = "Who approves a deploy: GitHub user ids and team ids (numbers, `gh api users/NAME --jq .id`), 1 to 6 in all. GitHub requires each to have access to the repository."
  type = object({
    users = optional(list(number), [])
    teams = optional(list(number), [])
  })

  validation {
    condition     = length(var.github_deploy_reviewers.users) + length(var.github_deploy_reviewers.teams) >= 1 && length(var.github_deploy_reviewers.users) + length(var.github_deploy_reviewers.teams) <= 6
    error_message = "github_deploy_reviewers must name 1 to 6 users or teams: a deploy environment without a reviewer approves itself."
  }
}

variable "github_pipeline_environment" {
  description = "GitHub environment of the daily pipeline job (it runs the Cloud Run job as the deployer)."
  type        = string
  default     = "pipeline"
}

variable "github_pipeline_reviewers" {
  description = "Who approves a pipeline run (user and team ids, at most 6). Empty by default: the daily run starts unattended, and the environment still limits it to the deploy branch."
  type = object({
    users = optional(list(number), [])
    teams = optional(list(number), [])
  })
  default = {}

  validation {
    condition     = length(var.github_pipeline_reviewers.users) + length(var.github_pipeline_reviewers.teams) <= 6
    error_message = "github_pipeline_reviewers may name at most 6 users or teams."
  }
}

variable "state_bucket" {
  description = "Name of the bucket holding this configuration's remote state (created by hand before the first init); the planner gets read access to it."
  type        = string
}

variable "bronze_nearline_after_days" {
  description = "Age in days after which Bronze objects move to the Nearline storage class."
  type        = number
  default     = 30
}

variable "bronze_coldline_after_days" {
  description = "Age in days after which Bronze objects move to the Coldline storage class."
  type        = number
  default     = 365
}

variable "bronze_delete_after_days" {
  description = "Age in days after which Bronze objects (raw answers, which hold truncated client IPs) are deleted; 0 keeps them. Silver can only be rebuilt for days still in Bronze."
  type        = number
  default     = 0
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept in the versioned buckets before it is deleted."
  type        = number
  default     = 30
}

variable "artifacts_nearline_after_days" {
  description = "Age in days after which run artifacts (executed notebooks, manifests) move to Nearline."
  type        = number
  default     = 30
}

variable "release_public" {
  description = "Whether the open-data releases bucket is readable by anyone (allUsers get objectViewer, public access prevention is lifted); false keeps it private."
  type        = bool
  default     = false
}

variable "silver_dataset" {
  description = "BigQuery dataset for Silver tables; must match warehouse.silver_dataset in params/gcp.yaml."
  type        = string
  default     = "silver"
}

variable "gold_dataset" {
  description = "BigQuery dataset for Gold tables; must match warehouse.gold_dataset in params/gcp.yaml."
  type        = string
  default     = "gold"
}

variable "hyperion_token_enabled" {
  description = "Whether the pipeline sends a data.gov.gr API token: creates its secret, lets the job and the ingest workflow read it. data.gov.gr appears to need none since mid-2025; set true if it answers 401/403."
  type        = bool
  default     = false
}

variable "hyperion_token_secret_id" {
  description = "Secret Manager secret id that holds the data.gov.gr API token, when hyperion_token_enabled (the value is added outside Terraform)."
  type        = string
  default     = "hyperion-token"
}

variable "pseudonym_key_secret_id" {
  description = "Secret Manager secret id that holds the HMAC key for IP pseudonyms (the value is added outside Terraform)."
  type        = string
  default     = "gnp-pseudonym-key"
}

variable "params_file" {
  description = "Params file, relative to the image's working directory, that the job and the dashboard load (GNP_PARAMS)."
  type        = string
  default     = "params/gcp.yaml"
}

variable "pipeline_image" {
  description = "Image of the pipeline job at creation. The image workflow then deploys each commit's tag, and Terraform leaves the image alone."
  type        = string
  default     = "us-docker.pkg.dev/cloudrun/container/job:latest"
}

variable "dashboard_image" {
  description = "Image of the dashboard service at creation. The image workflow then deploys each commit's tag, and Terraform leaves the image alone."
  type        = string
  default     = "us-docker.pkg.dev/cloudrun/container/hello:latest"
}

variable "job_cpu" {
  description = "vCPUs of the pipeline job task (Spark local mode uses them all)."
  type        = string
  default     = "4"
}

variable "job_memory" {
  description = "Memory of the pipeline job task. Cloud Run's /tmp is in memory, so Spark's shuffle and spill files count against it too."
  type        = string
  default     = "16Gi"
}

variable "job_timeout" {
  description = "Longest a pipeline task may run, as a duration in seconds (\"3600s\")."
  type        = string
  default     = "3600s"
}

variable "job_max_retries" {
  description = "Retries of a failed pipeline task; 0 makes a failure visible at once in the workflow that waits for it."
  type        = number
  default     = 0
}

variable "dashboard_cpu" {
  description = "vCPUs of one dashboard instance."
  type        = string
  default     = "1"
}

variable "dashboard_memory" {
  description = "Memory of one dashboard instance (each visitor gets a Voila kernel)."
  type        = string
  default     = "2Gi"
}

variable "dashboard_min_instances" {
  description = "Dashboard instances kept running. 0 (default): scales to zero, and the first visitor after an idle spell waits for a cold start (container, Voila, the kernel pool). 1: no cold start, for about USD 20 a month per instance at 1 vCPU and 2 GiB idle (see the README)."
  type        = number
  default     = 0

  validation {
    condition     = var.dashboard_min_instances >= 0
    error_message = "dashboard_min_instances must be 0 or more (and at most dashboard_max_instances)."
  }
}

variable "dashboard_max_instances" {
  description = "Upper bound on dashboard instances (dashboard_min_instances is the lower bound)."
  type        = number
  default     = 2
}

variable "bigquery_query_mib_per_user_per_day" {
  description = "BigQuery's custom quota 'query usage per day per user', in MiB (10240 = 10 GiB), for every identity of the project: the dashboard's included, so a flood of visitors stops at this many bytes scanned a day (queries then fail until midnight Pacific time) instead of running up the bill. Load jobs (publish) do not count."
  type        = number
  default     = 10240

  validation {
    condition     = var.bigquery_query_mib_per_user_per_day >= 1
    error_message = "bigquery_query_mib_per_user_per_day must be at least 1 MiB."
  }
}

variable "dashboard_invokers" {
  description = "Members allowed to open the dashboard, e.g. [\"allUsers\"] for a public page (Gold holds only k-anonymous aggregates) or [\"group:analysts@example.org\"]."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Protect the Cloud Run job and service from terraform destroy."
  type        = bool
  default     = true
}
