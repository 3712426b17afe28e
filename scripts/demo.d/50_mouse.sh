#!/usr/bin/env bash
# Mouse dynamics (docs/mouse.md): synthetic Balabit-layout logs for 8 users over 3 days and a
# real-browser recording (headless Chromium + recorder + collector) of 4 users over 2 days, each
# run through the daily feature DAG and the nightly retraining DAG in Airflow.
set -euo pipefail
INBOX="$TRACKSCOPE_HOME/mouse_inbox"
export TRACKSCOPE_MOUSE_INBOX="$INBOX"
SYNTH_DAYS=(2026-10-01 2026-10-02 2026-10-03)
BROWSER_DAYS=(2026-10-11 2026-10-12)
started=$(date +%s)
dag_test() {  # airflow dags test, quiet unless it fails
  local log; log=$(mktemp)
  if ! airflow dags test "$@" >"$log" 2>&1; then tail -60 "$log"; echo "[mouse] airflow dags test $* failed"; exit 1; fi
  grep -q "state=success" "$log" || { tail -60 "$log"; echo "[mouse] $* did not succeed"; exit 1; }
  rm -f "$log"
}

echo "[mouse] generating synthetic Balabit-layout logs in $INBOX"
python -m transforms.synthetic.mouse_sessions "$INBOX" --start "${SYNTH_DAYS[0]}" --days ${#SYNTH_DAYS[@]} --users 8 \
  --browse-actions 20 --labelled-tests 2
for day in "${SYNTH_DAYS[@]}"; do
  echo "[mouse] mouse_features $day"; dag_test mouse_features "$day"
done
echo "[mouse] mouse_training ${SYNTH_DAYS[-1]} (train 2 days, test 1)"
dag_test mouse_training "${SYNTH_DAYS[-1]}" -c '{"train_days": 2, "test_days": 1}'

echo "[mouse] recording 4 simulated users in headless Chromium"
python -m transforms.synthetic.mouse_browser "${BROWSER_DAYS[@]}" --users 4 --star-sessions 1 --browse-sessions 1 \
  --browse-actions 4 --pause-scale 0.25 2>&1 | grep -v "^#"
# browser sessions are short (a few actions each): evaluate windows of 1, 3 and 5 actions
export TRACKSCOPE_MOUSE_WINDOW_SIZES="1,3,5" TRACKSCOPE_MOUSE_GATE_WINDOW=5
for day in "${BROWSER_DAYS[@]}"; do
  echo "[mouse] mouse_features $day"; dag_test mouse_features "$day"
done
echo "[mouse] mouse_training ${BROWSER_DAYS[-1]} (train 1 day, test 1)"
dag_test mouse_training "${BROWSER_DAYS[-1]}" -c '{"train_days": 1, "test_days": 1}'

LAKE="${TRACKSCOPE_LAKE_URI#file://}"
{
  echo "mouse: synthetic-users report   $LAKE/reports/mouse/ds=${SYNTH_DAYS[-1]}/report.md"
  echo "mouse: browser-demo report      $LAKE/reports/mouse/ds=${BROWSER_DAYS[-1]}/report.md"
  echo "mouse: tables                   $LAKE/mouse_events, mouse_session_features, mouse_actions, quarantine_mouse_events"
  echo "mouse: models                   $LAKE/models/mouse_identification (history.jsonl: gate decisions)"
} >> "$TRACKSCOPE_HOME/demo-outputs.txt"
echo "[mouse] done in $(( $(date +%s) - started )) s"
