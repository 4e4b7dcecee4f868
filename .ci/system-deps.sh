#!/usr/bin/env bash
# System packages the project needs beyond Python: Java 17 for Spark, Maven
# for Spark's extra jars, and Debian's Chromium for the dashboard's browser tests. Installs what is
# missing when it can (root with apt-get), else says what to install.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)  # fetches the Delta and GCS connector jars (image/jars/pom.xml)
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]} (install them with your package manager, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
