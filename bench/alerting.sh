#!/usr/bin/env bash
# Alerting benchmark (issue 4 §5): detection-to-notification latency and
# /api/v2/alerts ingestion with 10k active alerts, Sightline vs Debian's
# prometheus + prometheus-alertmanager. Usage: bench/alerting.sh [bench-alerting flags]
# (--runs 20 --alerts 10000 --batch 100 --clients 4 --hold 30 --no-append ...).
# Takes about 5 minutes with the defaults. Results: a table on stdout, a dated section
# appended to bench/RESULTS.md, details in bench/out/alerting/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { # need <binary> <debian package>
    if command -v "$1" >/dev/null 2>&1; then return 0; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "alerting.sh: $1 missing, installing Debian package $2" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
        if command -v systemctl >/dev/null 2>&1; then systemctl stop "$2" >/dev/null 2>&1 || true; fi
    fi
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "alerting.sh: '$1' is not installed and cannot be installed here (not root or no apt-get)." >&2
        echo "alerting.sh: install the Debian package '$2' (apt-get install $2) and re-run." >&2
        exit 1
    fi
}
need prometheus prometheus
need prometheus-alertmanager prometheus-alertmanager

echo "alerting.sh: building sightline (release) and bench-alerting…" >&2
cargo build --release --bin sightline
cargo build -p sightline-bench --bin bench-alerting

./target/debug/bench-alerting \
    --sightline-bin target/release/sightline \
    --prometheus-bin "$(command -v prometheus)" \
    --alertmanager-bin "$(command -v prometheus-alertmanager)" \
    "$@"
