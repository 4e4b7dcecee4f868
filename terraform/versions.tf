terraform {
  required_version = ">= 1.9, < 2.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.10"
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
