#!/usr/bin/env bash
# The test command of the README: installs what is missing, then runs the whole suite.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
cd "$TRACKSCOPE_REPO"
export TRACKSCOPE_HOME="$(mktemp -d /tmp/trackscope-test.XXXXXX)"
export AIRFLOW_HOME="$TRACKSCOPE_HOME/airflow"
export TRACKSCOPE_LAKE_URI="file://$TRACKSCOPE_HOME/lake"
# two xdist workers: most slow tests wait on Airflow, browsers or sockets, so two overlap well on 2 cores
python -m pytest -q -p no:cacheprovider -n "${TRACKSCOPE_TEST_WORKERS:-2}" "$@" tests
