//! Connects the rule engine to the notifier (and to external Alertmanagers).
//!
//! The rule engine speaks in `OutgoingAlert`s, exactly what Prometheus posts to an
//! Alertmanager; the notifier accepts `Alert`s. Neither crate knows the other: this
//! bridge converts and delivers in-process, with no HTTP hop, and also forwards to
//! the Alertmanagers listed in `alerting.alertmanagers` when a team keeps its own.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use sightline_model::Labels;
use sightline_notifier::{Alert, Notifier};
use sightline_rules::alert::{AlertSender, HttpAlertSender, OutgoingAlert};

/// Delivers rule alerts to the built-in notifier and any external Alertmanagers.
pub struct AlertBridge {
    notifier: Arc<Notifier>,
    forward: Option<HttpAlertSender>,
}

impl AlertBridge {
    /// A bridge to `notifier`, forwarding also through `forward` when given.
    pub fn new(notifier: Arc<Notifier>, forward: Option<HttpAlertSender>) -> Self {
        AlertBridge { notifier, forward }
    }
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(Utc::now)
}

/// Converts one rule alert into the notifier's form.
pub fn to_notifier_alert(a: &OutgoingAlert) -> Alert {
    let mut alert = Alert::new(Labels::from_pairs(
        a.labels.iter().map(|(k, v)| (k.clone(), v.clone())),
    ));
    alert.annotations = a.annotations.clone();
    alert.starts_at = time(a.starts_at);
    alert.ends_at = Some(time(a.ends_at));
    alert.generator_url = a.generator_url.clone();
    alert.updated_at = Utc::now();
    alert
}

impl AlertSender for AlertBridge {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        if alerts.is_empty() {
            return;
        }
        let converted: Vec<Alert> = alerts.iter().map(to_notifier_alert).collect();
        if let Err(e) = self.notifier.submit(converted) {
            tracing::warn!(error = %e, "some rule alerts were refused by the notifier");
        }
        if let Some(f) = &self.forward {
            f.send(alerts);
        }
    }
}
