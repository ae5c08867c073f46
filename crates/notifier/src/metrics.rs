//! The notifier's self-metrics, registered once per process on the default registry.

use once_cell::sync::Lazy;
use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, HistogramVec,
    IntCounterVec, IntGaugeVec,
};

/// Notifications delivered, per integration and receiver.
pub static NOTIFICATIONS: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_notifications_total",
        "Notifications delivered successfully.",
        &["integration", "receiver"]
    )
    .expect("register sightline_notifications_total")
});

/// Notifications that failed, per integration, receiver and reason.
pub static FAILED: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_notifications_failed_total",
        "Notifications that could not be delivered.",
        &["integration", "receiver", "reason"]
    )
    .expect("register sightline_notifications_failed_total")
});

/// Delivery attempts that were retried.
pub static RETRIES: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_notification_retries_total",
        "Notification attempts retried after a retryable failure.",
        &["integration", "receiver"]
    )
    .expect("register sightline_notification_retries_total")
});

/// Time from the first attempt to the final outcome.
pub static LATENCY: Lazy<HistogramVec> = Lazy::new(|| {
    register_histogram_vec!(
        "sightline_notification_latency_seconds",
        "Time to deliver a notification, retries included.",
        &["integration", "receiver"],
        vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]
    )
    .expect("register sightline_notification_latency_seconds")
});

/// Alerts by state (active, suppressed, resolved).
pub static ALERTS: Lazy<IntGaugeVec> = Lazy::new(|| {
    register_int_gauge_vec!(
        "sightline_alerts",
        "Alerts known to the notifier by state.",
        &["state"]
    )
    .expect("register sightline_alerts")
});

/// Silences by state (active, pending, expired).
pub static SILENCES: Lazy<IntGaugeVec> = Lazy::new(|| {
    register_int_gauge_vec!("sightline_silences", "Silences by state.", &["state"])
        .expect("register sightline_silences")
});
