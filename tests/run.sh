#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run the whole suite.
# Usage: bash tests/run.sh [pytest arguments]
#
# System packages the tests use (Debian names): chromium (browser tests), poppler-utils
# (pdftoppm renders packet pages), libpango-1.0-0 libpangoft2-1.0-0 (WeasyPrint),
# libharfbuzz-subset0 (fast, deterministic font subsetting), fonts-wqy-microhei (Chinese
# names in packets). As root with apt-get they are installed here; otherwise install them.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
  fonts-wqy-microhei)

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "playbook needs Python 3.11 or newer" >&2; exit 1; }

missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: ${SYSTEM_PACKAGES[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${SYSTEM_PACKAGES[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]}. Install them with:" >&2
    echo "  sudo apt-get install ${SYSTEM_PACKAGES[*]}" >&2
    exit 1
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

exec .venv/bin/python -m pytest "$@"
