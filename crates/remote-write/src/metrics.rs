//! Self-metrics of the remote_write receiver, registered once per process.

use once_cell::sync::Lazy;
use prometheus::{
    register_histogram, register_int_counter, register_int_counter_vec, Histogram, IntCounter,
    IntCounterVec,
};

/// Requests by HTTP status code.
pub static REQUESTS: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_remote_write_requests_total",
        "remote_write requests received, by HTTP status code of the answer.",
        &["code"]
    )
    .expect("metric registered once")
});

/// Float samples decoded from valid requests.
pub static SAMPLES_RECEIVED: Lazy<IntCounter> = Lazy::new(|| {
    register_int_counter!(
        "sightline_remote_write_samples_received_total",
        "Float samples decoded from valid remote_write requests."
    )
    .expect("metric registered once")
});

/// Samples not stored, by reason.
pub static SAMPLES_REJECTED: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_remote_write_samples_rejected_total",
        "Samples not stored, by reason (out_of_order, too_old, conflicting, native_histogram).",
        &["reason"]
    )
    .expect("metric registered once")
});

/// Time from request start to answer.
pub static DURATION: Lazy<Histogram> = Lazy::new(|| {
    register_histogram!(
        "sightline_remote_write_request_duration_seconds",
        "Time to decode, store and answer one remote_write request.",
        vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
    )
    .expect("metric registered once")
});

/// Decompressed protobuf bytes decoded.
pub static DECODE_BYTES: Lazy<IntCounter> = Lazy::new(|| {
    register_int_counter!(
        "sightline_remote_write_decode_bytes_total",
        "Bytes of decompressed protobuf decoded from remote_write requests."
    )
    .expect("metric registered once")
});
