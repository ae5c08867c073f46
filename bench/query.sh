#!/usr/bin/env bash
# Runs the query benchmark (issue 3 §4): loads the same remote_write dataset into
# Sightline and Prometheus, runs the PromQL query set through both
# /api/v1/query_range APIs and compares latency, peak RSS growth and answers.
# Usage: bench/query.sh [--hosts 20] [--duration 3h] [--long-hosts 2] [--long-duration 7d] [other bench-query flags]
# Defaults take about 2-5 minutes on a 2-core machine (plus the builds). Results: a table on stdout, a
# dated section appended to bench/RESULTS.md (unless --no-append), details in
# bench/out/query-<timestamp>/query-results.json.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "query.sh: prometheus missing, installing the Debian package" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >&2
        if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
    else
        echo "query.sh: install the Debian package 'prometheus' and re-run." >&2
        exit 1
    fi
fi

PROFILE=${PROFILE:-release}
echo "query.sh: building sightline and bench-query ($PROFILE)…" >&2
if [ "$PROFILE" = release ]; then
    cargo build --release --bin sightline
    cargo build --release -p sightline-bench --bin bench-query
    BIN=target/release/bench-query
else
    cargo build -p sightline-bench --bin bench-query
    BIN=target/debug/bench-query
fi

"$BIN" --prometheus-bin "$(command -v prometheus)" --sightline-bin target/release/sightline "$@"
