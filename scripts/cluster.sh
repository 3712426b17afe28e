#!/usr/bin/env bash
# A distributed deployment without Docker: bash scripts/cluster.sh up|down|status (see scripts/cluster.py).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec python "$TRACKSCOPE_REPO/scripts/cluster.py" "$@"
