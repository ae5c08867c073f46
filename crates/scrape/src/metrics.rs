//! Self-metrics of the scrape subsystem, registered once per process on the default
//! registry (tests create many managers in one process).

use once_cell::sync::Lazy;
use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, HistogramVec,
    IntCounterVec, IntGaugeVec,
};

/// Time taken by each scrape, per job.
pub static SCRAPE_DURATION: Lazy<HistogramVec> = Lazy::new(|| {
    register_histogram_vec!(
        "sightline_scrape_duration_seconds",
        "Duration of scrapes, including parsing and writing the samples.",
        &["job"],
        vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
    )
    .expect("sightline_scrape_duration_seconds registers once")
});

/// Scrapes per job and result (`success` or `failure`).
pub static SCRAPES: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_scrapes_total",
        "Scrapes performed, by job and result.",
        &["job", "result"]
    )
    .expect("sightline_scrapes_total registers once")
});

/// Samples written by scrapes (after metric relabelling), per job.
pub static SAMPLES: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_scrape_samples_total",
        "Samples written by scrapes after metric relabelling, by job.",
        &["job"]
    )
    .expect("sightline_scrape_samples_total registers once")
});

/// Active targets per scrape pool.
pub static POOL_TARGETS: Lazy<IntGaugeVec> = Lazy::new(|| {
    register_int_gauge_vec!(
        "sightline_scrape_pool_targets",
        "Active targets per scrape pool (job).",
        &["job"]
    )
    .expect("sightline_scrape_pool_targets registers once")
});
