terraform {
  required_version = ">= 1.9, < 2.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.10"
    }
    # Only for the BigQuery quota override (quota.tf), a beta-only resource.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 7.10"
    }
    # The deploy environments and their reviewers (github.tf).
    github = {
      source  = "integrations/github"
      version = "~> 6.6"
    }
  }

  # The state bucket is created once by hand (see README.md) and named at init:
  # terraform init -backend-config="bucket=<state bucket>"
  backend "gcs" {
    prefix = "greek-net-pulse"
  }
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = local.labels
}

# The token comes from GITHUB_TOKEN (the plan workflow passes the job's own; an
# apply needs a token that may administer the repository's environments).
provider "github" {
  owner = local.github_owner
}
