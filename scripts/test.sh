#!/usr/bin/env bash
# Runs every Sightline test: formatting, lints, unit tests, and the end-to-end tests
# against real peers (Debian's prometheus and prometheus-node-exporter).
# Installs the Debian peers it needs when run as root; otherwise stops and names them.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

command -v cargo >/dev/null || { echo "error: cargo is missing: install the Rust toolchain (https://rustup.rs) and retry" >&2; exit 1; }

# Real peers the end-to-end tests compare against (binary:package).
peers=(prometheus:prometheus promtool:prometheus prometheus-node-exporter:prometheus-node-exporter amtool:prometheus-alertmanager prometheus-alertmanager:prometheus-alertmanager)
missing=()
for p in "${peers[@]}"; do
  command -v "${p%%:*}" >/dev/null || missing+=("${p##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing test peers: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "error: missing test peers: ${missing[*]}" >&2
    echo "       install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

say "cargo test (unit, property, end-to-end)"
mkdir -p target
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
set -e

say "end-to-end tests with the OpenTelemetry Python SDK (pytest)"
command -v python3 >/dev/null || { echo "error: python3 is missing: install python3 and python3-venv" >&2; exit 1; }
if [ ! -x target/pyenv/bin/pytest ] || ! cmp -s tests/py/requirements.txt target/pyenv/requirements.txt; then
  python3 -m venv target/pyenv || { echo "error: python3 venv module missing: apt-get install python3-venv" >&2; exit 1; }
  target/pyenv/bin/pip install -q -r tests/py/requirements.txt
  cp tests/py/requirements.txt target/pyenv/requirements.txt
fi
cargo build -p sightline --quiet
set +e
target/pyenv/bin/python -m pytest -q tests/py 2>&1 | tee target/pytest-output.txt
py_status=${PIPESTATUS[0]}
set -e
[ "$py_status" = 0 ] || status=1

passed=$( (grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' target/test-output.txt || true) | awk '{s+=$4} END {print s+0}')
failed=$( (grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' target/test-output.txt || true) | awk '{s+=$6} END {print s+0}')
py_passed=$( (grep -Eo '[0-9]+ passed' target/pytest-output.txt || true) | tail -1 | awk '{print $1+0}')
py_failed=$( (grep -Eo '[0-9]+ failed' target/pytest-output.txt || true) | tail -1 | awk '{print $1+0}')
passed=$((passed + ${py_passed:-0}))
failed=$((failed + ${py_failed:-0}))
echo "sightline: ${passed} passed, ${failed} failed"
exit "$status"
