//! Self-metrics of the OTLP receiver, registered once per process.

use once_cell::sync::Lazy;
use prometheus::{register_int_counter, register_int_counter_vec, IntCounter, IntCounterVec};

/// Export requests by signal, transport (`http`/`grpc`) and answer code.
pub static REQUESTS: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_otlp_requests_total",
        "OTLP export requests, by signal, transport and answer code (HTTP status or gRPC code name).",
        &["signal", "transport", "code"]
    )
    .expect("metric registered once")
});

/// Data points received in decodable requests.
pub static POINTS_RECEIVED: Lazy<IntCounter> = Lazy::new(|| {
    register_int_counter!(
        "sightline_otlp_points_received_total",
        "OTLP metric data points received in decodable export requests."
    )
    .expect("metric registered once")
});

/// Data points rejected (unsupported temporality, malformed, refused by storage).
pub static POINTS_REJECTED: Lazy<IntCounter> = Lazy::new(|| {
    register_int_counter!(
        "sightline_otlp_points_rejected_total",
        "OTLP metric data points rejected by conversion or storage."
    )
    .expect("metric registered once")
});
