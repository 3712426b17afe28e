#!/usr/bin/env bash
# Member-ID estimation demo: generate 6 days of hard-world access logs for 2,000 members (+ GeoIP
# City and ASN test databases), ingest every day through Airflow, retrain on the last day, check the API once.
set -euo pipefail
MID="$TRACKSCOPE_HOME/member_id"
mkdir -p "$MID"
export TRACKSCOPE_MID_LOG_DIR="$MID/logs" TRACKSCOPE_MID_CITY_MMDB="$MID/geo/City.mmdb" \
       TRACKSCOPE_MID_ISP_MMDB="$MID/geo/ASN.mmdb" TRACKSCOPE_MID_API_DB_URL="sqlite:///$MID/api.sqlite"
export TRACKSCOPE_MID_TRAIN_DAYS="${TRACKSCOPE_MID_TRAIN_DAYS:-4}" TRACKSCOPE_MID_TRAIN_PAIRS="${TRACKSCOPE_MID_TRAIN_PAIRS:-60000}"
export TRACKSCOPE_MID_PAIR_CHUNK=20000 TRACKSCOPE_MID_GBM_MAX_PAIRS=60000 TRACKSCOPE_MID_MAX_CANDIDATES=150 TRACKSCOPE_MID_EVAL_QUERIES=1000
export TRACKSCOPE_MID_MLP_HIDDEN="${TRACKSCOPE_MID_MLP_HIDDEN:-500,500,500,50}" TRACKSCOPE_MID_MLP_EPOCHS=1
START=2026-03-01 DAYS=6

python - <<PY
from datetime import date
from transforms.synthetic.member_id_logs import Generator
gen = Generator(n_members=2000, days=$DAYS, start=date.fromisoformat("$START"), seed=7)
# City + ASN: what the free GeoLite2 package offers (an ISP database is optional)
gen.write_geo("$TRACKSCOPE_MID_CITY_MMDB", asn_path="$TRACKSCOPE_MID_ISP_MMDB")
counts = gen.write_logs("$TRACKSCOPE_MID_LOG_DIR")
print("[member_id] generated", sum(counts.values()), "log lines over", len(counts), "days")
PY

for k in $(seq 0 $((DAYS - 1))); do
  day=$(date -u -d "$START + $k day" +%F)
  echo "[member_id] airflow dags test member_id_ingest $day"
  airflow dags test member_id_ingest "$day" > "$MID/airflow-ingest-$day.log" 2>&1 \
    || { tail -50 "$MID/airflow-ingest-$day.log"; exit 1; }
done
LAST=$(date -u -d "$START + $((DAYS - 1)) day" +%F)
echo "[member_id] airflow dags test member_id_retrain $LAST"
airflow dags test member_id_retrain "$LAST" > "$MID/airflow-retrain-$LAST.log" 2>&1 \
  || { tail -80 "$MID/airflow-retrain-$LAST.log"; exit 1; }

LAKE="${TRACKSCOPE_LAKE_URI#file://}"
python - <<PY
# one estimation through the API app (in process, SQLite) with a freshly created key
import time
from fastapi.testclient import TestClient
from transforms.member_id.api import db
from transforms.member_id.api.app import create_app_from_settings
app = create_app_from_settings()
key = db.create_key(app.state.engine, f"demo-{time.time_ns()}")
with TestClient(app) as client:
    body = {"ip": "23.0.0.1", "access_time": "${LAST}T12:00:00Z", "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.6000.0 Safari/537.36"}
    accepted = client.post("/v1/estimations", json=body, headers={"X-API-Key": key}).json()
    for _ in range(200):
        result = client.get(accepted["result_url"], headers={"X-API-Key": key}).json()
        if result["status"] != "processing":
            break
        time.sleep(0.1)
    print("[member_id] API round trip:", result)
PY
cat "$LAKE/reports/member_id/ds=$LAST/report.md" | head -30
{
  echo "member_id: report $LAKE/reports/member_id/ds=$LAST/report.md (metrics.json beside it)"
  echo "member_id: tables $LAKE/mid_accesses, $LAKE/mid_enriched, quarantine $LAKE/quarantine_mid_accesses; models $LAKE/models/member_id"
  echo "member_id: generated logs $TRACKSCOPE_MID_LOG_DIR, GeoIP test databases $MID/geo; API DB $MID/api.sqlite"
} >> "$TRACKSCOPE_HOME/demo-outputs.txt"
