#!/bin/sh
# Entrypoint of both images.
#   pipeline  (default) run the notebooks for DATE_FROM..DATE_TO with the params
#             in GNP_PARAMS; executed notebooks and the manifest go where the
#             params' storage.artifacts says (a gs:// bucket in the cloud).
#             Both dates default to yesterday in Athens, where the tests happen.
#             GNP_STAGES, if set, limits the run to those stages; GNP_RUN_ID,
#             if set, is the run's id.
#   dashboard serve the dashboard notebook with Voila on $PORT.
#   gnp <subcommand> [args]  a gnp subcommand, e.g. `gnp release ...` (the
#             monthly release step).
# Nothing else: whoever may change the job's arguments must not get a shell
# with the pipeline's identity (and its secrets) in the container.
set -eu

case "${1:-pipeline}" in
pipeline)
  : "${GNP_PARAMS:?GNP_PARAMS must name the params file}"
  yesterday="$(TZ=Europe/Athens date -d yesterday +%F)"
  DATE_FROM="${DATE_FROM:-$yesterday}"
  DATE_TO="${DATE_TO:-$DATE_FROM}"
  set -- run --params "$GNP_PARAMS" --from "$DATE_FROM" --to "$DATE_TO"
  if [ -n "${GNP_STAGES:-}" ]; then set -- "$@" --stages "$GNP_STAGES"; fi
  # The workflow names the run, so it can keep the run's book as a workflow artifact.
  if [ -n "${GNP_RUN_ID:-}" ]; then set -- "$@" --run-id "$GNP_RUN_ID"; fi
  echo "gnp $*"
  exec gnp "$@"
  ;;
dashboard)
  : "${GNP_PARAMS:?GNP_PARAMS must name the params file}"
  exec gnp dashboard --params "$GNP_PARAMS" --ip 0.0.0.0 --port "${PORT:-8080}"
  ;;
gnp)
  shift
  if [ "$#" -eq 0 ]; then
    echo "gnp: the entrypoint needs a gnp subcommand after gnp, e.g. gnp release --params ..." >&2
    exit 2
  fi
  case "$1" in
  -*)
    echo "gnp: the entrypoint runs gnp subcommands only, not gnp $1" >&2
    exit 2
    ;;
  esac
  exec gnp "$@"
  ;;
*)
  echo "gnp: the entrypoint runs only pipeline, dashboard or gnp <subcommand>, not $1" >&2
  exit 2
  ;;
esac
