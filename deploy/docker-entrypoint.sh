#!/bin/sh
# Entry point of the backend image. Each replica of `web` names itself by its container's
# hostname in X-Served-By (every replica would otherwise be "pid-1").
set -eu
KARMAFEED_WORKER_ID="${KARMAFEED_WORKER_ID:-$(hostname)}"
export KARMAFEED_WORKER_ID
exec "$@"
