# Sourced by the README commands: installs what is missing (apt, then pip into a venv keyed by
# requirements.txt), then exports the environment every command here runs with.
set -euo pipefail
TRACKSCOPE_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT_PACKAGES=(chromium chromium-driver libfuzzy-dev fonts-noto-cjk)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[bootstrap] apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# One venv, synced whenever requirements.txt changes (the stamp holds the file's hash).
req_hash=$(sha256sum "$TRACKSCOPE_REPO/requirements.txt" | cut -c1-16)
VENV="${TRACKSCOPE_VENV:-$HOME/.cache/trackscope/venv}"
if [ "$(cat "$VENV/.requirements-sha" 2>/dev/null)" != "$req_hash" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    echo "[bootstrap] creating $VENV"
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
  fi
  echo "[bootstrap] pip install -r requirements.txt into $VENV"
  "$VENV/bin/pip" install -q -r "$TRACKSCOPE_REPO/requirements.txt"
  echo "$req_hash" > "$VENV/.requirements-sha"
fi
export PATH="$VENV/bin:$PATH"
export PYTHONPATH="$TRACKSCOPE_REPO${PYTHONPATH:+:$PYTHONPATH}"
export TRACKSCOPE_HOME="${TRACKSCOPE_HOME:-$TRACKSCOPE_REPO/var}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$TRACKSCOPE_HOME/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$TRACKSCOPE_REPO/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$TRACKSCOPE_REPO/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE="${AIRFLOW__CORE__UNIT_TEST_MODE:-False}"
export GX_ANALYTICS_ENABLED=False
export NO_PROXY="localhost,127.0.0.1,::1"
