#!/usr/bin/env bash
# Runs the ingest benchmark: Sightline vs Prometheus vs VictoriaMetrics on the same
# remote_write load. Usage: bench/run.sh [--hosts N] [--duration 3h] [other bench-ingest flags]
# Defaults (100 hosts, 3h of 15 s scrapes, ~38M samples per server) take about
# 10-15 minutes on a 2-core machine. Results: a table on stdout, a dated section
# appended to bench/RESULTS.md, details in bench/out/<timestamp>/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { # need <binary> <debian package>
    if command -v "$1" >/dev/null 2>&1; then return 0; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "run.sh: $1 missing, installing Debian package $2" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
        # The Debian packages start a service on the default port; the benchmark
        # runs its own instances, so stop those when systemd manages them.
        if command -v systemctl >/dev/null 2>&1; then systemctl stop "$2" >/dev/null 2>&1 || true; fi
    fi
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "run.sh: '$1' is not installed and cannot be installed here (not root or no apt-get)." >&2
        echo "run.sh: install the Debian package '$2' (apt-get install $2) and re-run." >&2
        exit 1
    fi
}
need prometheus prometheus
need victoria-metrics victoria-metrics

echo "run.sh: building release binaries (sightline, bench-ingest)…" >&2
cargo build --release --bin sightline
cargo build --release -p sightline-bench --bin bench-ingest

./target/release/bench-ingest \
    --prometheus-bin "$(command -v prometheus)" \
    --victoria-metrics-bin "$(command -v victoria-metrics)" \
    --sightline-bin target/release/sightline \
    "$@"
echo "run.sh: table above; section appended to bench/RESULTS.md (unless --no-append); details in bench/out/<timestamp>/results.json" >&2
