#!/usr/bin/env bash
# Builds Sightline and runs it with the built-in demo workload on the default ports:
#   http://localhost:9090  Prometheus API, remote_write (/api/v1/write), /metrics
#   localhost:4317 / 4318  OTLP gRPC / HTTP
# Extra arguments go to `sightline serve`, e.g. --config sightline.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "error: cargo is missing: install the Rust toolchain (https://rustup.rs) and retry" >&2; exit 1; }
echo "==> building sightline (release; the first build takes a few minutes)"
cargo build --release --bin sightline
exec ./target/release/sightline serve --demo --data-dir "${SIGHTLINE_DATA_DIR:-data}" "$@"
