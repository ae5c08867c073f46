//! Self-metrics of every WAL in the process, labelled `wal=<name>`.
//!
//! The metric vectors are registered once per process on the default registry; each
//! [`crate::Wal`] resolves its label once at open and keeps the children, so the hot
//! path only touches atomics.

use once_cell::sync::Lazy;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge};
use prometheus::{IntGaugeVec, Opts};

/// Registers `c` on the default registry, keeping it usable even if registration
/// fails (for example when another component registered the same name first).
fn registered<C: prometheus::core::Collector + Clone + 'static>(c: C) -> C {
    if let Err(e) = prometheus::register(Box::new(c.clone())) {
        tracing::debug!(error = %e, "wal metric not registered");
    }
    c
}

fn counter(name: &str, help: &str) -> IntCounterVec {
    // Static, valid names and labels: construction cannot fail.
    registered(IntCounterVec::new(Opts::new(name, help), &["wal"]).expect("valid metric"))
}

fn gauge(name: &str, help: &str) -> IntGaugeVec {
    registered(IntGaugeVec::new(Opts::new(name, help), &["wal"]).expect("valid metric"))
}

static FSYNCS: Lazy<IntCounterVec> =
    Lazy::new(|| counter("sightline_wal_fsyncs_total", "fsync calls made by the WAL."));
static FSYNC_DURATION: Lazy<HistogramVec> = Lazy::new(|| {
    let opts = HistogramOpts::new(
        "sightline_wal_fsync_duration_seconds",
        "Time spent in WAL fsync calls.",
    )
    .buckets(vec![
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ]);
    registered(HistogramVec::new(opts, &["wal"]).expect("valid metric"))
});
static RECORDS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter(
        "sightline_wal_records_appended_total",
        "Records appended to the WAL.",
    )
});
static BYTES: Lazy<IntCounterVec> = Lazy::new(|| {
    counter(
        "sightline_wal_bytes_appended_total",
        "Bytes appended to the WAL, framing included.",
    )
});
static CORRUPTIONS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter(
        "sightline_wal_corruptions_total",
        "Corrupt or torn WAL data found during replay.",
    )
});
static TRUNCATED: Lazy<IntCounterVec> = Lazy::new(|| {
    counter(
        "sightline_wal_truncated_bytes_total",
        "Bytes discarded from the WAL while repairing corruption.",
    )
});
static SEGMENTS: Lazy<IntGaugeVec> = Lazy::new(|| {
    gauge(
        "sightline_wal_segments",
        "Segment files currently in the WAL.",
    )
});
static SIZE: Lazy<IntGaugeVec> = Lazy::new(|| {
    gauge(
        "sightline_wal_size_bytes",
        "Bytes on disk used by the WAL (segments and checkpoint).",
    )
});
static CHECKPOINTS: Lazy<IntCounterVec> = Lazy::new(|| {
    counter(
        "sightline_wal_checkpoints_total",
        "Checkpoints written by the WAL.",
    )
});

/// The metric children of one WAL.
#[derive(Clone)]
pub struct WalMetrics {
    /// `sightline_wal_fsyncs_total`.
    pub fsyncs: IntCounter,
    /// `sightline_wal_fsync_duration_seconds`.
    pub fsync_duration: Histogram,
    /// `sightline_wal_records_appended_total`.
    pub records: IntCounter,
    /// `sightline_wal_bytes_appended_total`.
    pub bytes: IntCounter,
    /// `sightline_wal_corruptions_total`.
    pub corruptions: IntCounter,
    /// `sightline_wal_truncated_bytes_total`.
    pub truncated: IntCounter,
    /// `sightline_wal_segments`.
    pub segments: IntGauge,
    /// `sightline_wal_size_bytes`.
    pub size: IntGauge,
    /// `sightline_wal_checkpoints_total`.
    pub checkpoints: IntCounter,
}

impl WalMetrics {
    /// The children for the WAL named `name`.
    pub fn new(name: &str) -> Self {
        let l = &[name];
        WalMetrics {
            fsyncs: FSYNCS.with_label_values(l),
            fsync_duration: FSYNC_DURATION.with_label_values(l),
            records: RECORDS.with_label_values(l),
            bytes: BYTES.with_label_values(l),
            corruptions: CORRUPTIONS.with_label_values(l),
            truncated: TRUNCATED.with_label_values(l),
            segments: SEGMENTS.with_label_values(l),
            size: SIZE.with_label_values(l),
            checkpoints: CHECKPOINTS.with_label_values(l),
        }
    }
}
