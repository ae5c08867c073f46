//! Self-metrics of the rule engine, registered once per process.

use once_cell::sync::Lazy;
use prometheus::{
    register_counter_vec, register_gauge_vec, register_histogram_vec, register_int_counter,
    register_int_counter_vec, CounterVec, GaugeVec, HistogramVec, IntCounter, IntCounterVec,
};

/// Rule evaluations, by `rule_group` (`file;name`).
pub static EVALUATIONS: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_rule_evaluations_total",
        "Rule evaluations.",
        &["rule_group"]
    )
    .expect("register sightline_rule_evaluations_total")
});

/// Failed rule evaluations, by `rule_group`.
pub static EVALUATION_FAILURES: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_rule_evaluation_failures_total",
        "Rule evaluations that failed.",
        &["rule_group"]
    )
    .expect("register sightline_rule_evaluation_failures_total")
});

/// Duration of the last evaluation of each group.
pub static GROUP_LAST_DURATION: Lazy<GaugeVec> = Lazy::new(|| {
    register_gauge_vec!(
        "sightline_rule_group_last_duration_seconds",
        "Duration of the last rule group evaluation.",
        &["rule_group"]
    )
    .expect("register sightline_rule_group_last_duration_seconds")
});

/// Evaluations skipped because the previous one ran late.
pub static ITERATIONS_MISSED: Lazy<CounterVec> = Lazy::new(|| {
    register_counter_vec!(
        "sightline_rule_group_iterations_missed_total",
        "Rule group evaluations missed due to slow evaluation.",
        &["rule_group"]
    )
    .expect("register sightline_rule_group_iterations_missed_total")
});

/// Alerts delivered to an Alertmanager, by `alertmanager` URL.
pub static ALERTS_SENT: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_alerts_sent_total",
        "Alerts successfully sent to an Alertmanager.",
        &["alertmanager"]
    )
    .expect("register sightline_alerts_sent_total")
});

/// Alerts whose POST failed, by `alertmanager` URL.
pub static NOTIFY_ERRORS: Lazy<IntCounterVec> = Lazy::new(|| {
    register_int_counter_vec!(
        "sightline_alert_notification_errors_total",
        "Alerts that could not be sent to an Alertmanager.",
        &["alertmanager"]
    )
    .expect("register sightline_alert_notification_errors_total")
});

/// Alerts dropped because the send queue was full.
pub static ALERTS_DROPPED: Lazy<IntCounter> = Lazy::new(|| {
    register_int_counter!(
        "sightline_alerts_dropped_total",
        "Alerts dropped because the Alertmanager send queue was full."
    )
    .expect("register sightline_alerts_dropped_total")
});

/// Latency of POSTs to each Alertmanager.
pub static NOTIFY_LATENCY: Lazy<HistogramVec> = Lazy::new(|| {
    register_histogram_vec!(
        "sightline_alert_notification_latency_seconds",
        "Latency of sending alerts to an Alertmanager.",
        &["alertmanager"]
    )
    .expect("register sightline_alert_notification_latency_seconds")
});
