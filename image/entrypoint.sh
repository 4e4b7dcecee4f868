#!/bin/sh
# Entrypoint of both images.
#   pipeline  (default) run the notebooks for DATE_FROM..DATE_TO with the params
#             in GNP_PARAMS; executed notebooks and the manifest go where the
#             params' storage.artifacts says (a gs:// bucket in the cloud).
#             Both dates default to yesterday in Athens, where the tests happen.
#             GNP_STAGES, if set, limits the run to those stages; GNP_RUN_ID,
#             if set, is the run's id.
#   dashboard serve the dashboard notebook with Voila on $PORT.
#   anything else is run as a command (a shell for debugging).
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
*)
  exec "$@"
  ;;
esac
