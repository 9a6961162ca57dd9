#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's end-to-end tests: Playwright drives
# /usr/bin/chromium (its own browser download cannot reach its CDN here). Needs root, as CI runs;
# idempotent: returns at once when Chromium is there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium \
  || { apt-get update && apt-get install -y --no-install-recommends chromium; }
/usr/bin/chromium --version
