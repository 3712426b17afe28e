#!/usr/bin/env bash
# Session-replay survey on the bundled fixture web: crawl → extraction → detection → report.
set -euo pipefail
crawl_id="demo-$(date -u +%Y-%m-%d)"
rules="$TRACKSCOPE_HOME/fixture_web.rules"
rm -f "$rules"
python -m transforms.survey.fixture_web --rules-file "$rules" > "$TRACKSCOPE_HOME/fixture_web.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$rules" ] && break; sleep 0.2; done
[ -s "$rules" ] || { echo "fixture web did not start:"; cat "$TRACKSCOPE_HOME/fixture_web.log"; exit 1; }

export TRACKSCOPE_HOST_RESOLVER_RULES="$(cat "$rules")"
export TRACKSCOPE_CHROMIUM_EXTRA_ARGS="--ignore-certificate-errors"
export TRACKSCOPE_PAGE_LOAD_TIMEOUT_S="${TRACKSCOPE_PAGE_LOAD_TIMEOUT_S:-20}"
export TRACKSCOPE_JS_HEAP_LIMIT_MB="${TRACKSCOPE_JS_HEAP_LIMIT_MB:-256}"  # the memory-hog fixture page crashes fast
conf="{\"crawl_id\": \"$crawl_id\"}"
echo "[survey] crawling the fixture web as crawl $crawl_id"
airflow dags test survey_crawl -c "$conf" > "$TRACKSCOPE_HOME/survey_crawl.log" 2>&1 \
  || { tail -50 "$TRACKSCOPE_HOME/survey_crawl.log"; exit 1; }
grep -oE "crawl $crawl_id: [0-9]+ sites selected[^[]*|crawl $crawl_id: [0-9]+/[0-9]+ sites, [0-9]+ sites/hour" \
  "$TRACKSCOPE_HOME/survey_crawl.log" | sed 's/^/[survey]   /' || true
echo "[survey] analysing crawl $crawl_id"
airflow dags test survey_analysis -c "$conf" > "$TRACKSCOPE_HOME/survey_analysis.log" 2>&1 \
  || { tail -50 "$TRACKSCOPE_HOME/survey_analysis.log"; exit 1; }
report="$(python -m transforms.common.lakectl resolve "reports/survey/crawl_id=$crawl_id")/index.html"
[ -f "$report" ] || { echo "no report at $report"; exit 1; }
echo "survey report: $report" | tee -a "$TRACKSCOPE_HOME/demo-outputs.txt"
