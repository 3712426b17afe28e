#!/usr/bin/env bash
# The main job of the README: every pipeline end to end through Airflow on the embedded default
# (SQLite metadata DB, local lake under var/, bundled sample inputs). Steps live in scripts/demo.d/.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$TRACKSCOPE_REPO"
export TRACKSCOPE_LAKE_URI="${TRACKSCOPE_LAKE_URI:-file://$TRACKSCOPE_HOME/lake}"
mkdir -p "$AIRFLOW_HOME"
echo "[demo] Airflow home $AIRFLOW_HOME, lake $TRACKSCOPE_LAKE_URI"
airflow db migrate >/dev/null
for step in scripts/demo.d/*.sh; do
  echo "[demo] ── $(basename "$step")"
  bash "$step"
done
echo "[demo] done. Outputs:"
cat "$TRACKSCOPE_HOME"/demo-outputs.txt 2>/dev/null || true
