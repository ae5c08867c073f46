//! Generic webhooks with Alertmanager's version "4" payload, so receivers written
//! for Alertmanager work unchanged.

use std::path::Path;

use serde_json::json;

use super::{read_secret, Notification, Request};
use crate::config::WebhookConfig;

/// A compiled `webhook_configs` entry.
#[derive(Debug)]
pub struct Webhook {
    url: String,
    max_alerts: u64,
}

impl Webhook {
    /// Resolves the URL.
    pub fn compile(c: &WebhookConfig, base: Option<&Path>) -> Result<Self, (String, String)> {
        let url = match (&c.url, &c.url_file) {
            (Some(u), _) => u.clone(),
            (None, Some(f)) => read_secret(f, base).map_err(|e| ("url_file".to_string(), e))?,
            _ => return Err(("webhook_configs".into(), "url is required".into())),
        };
        Ok(Webhook {
            url,
            max_alerts: c.max_alerts,
        })
    }

    /// The payload for a notification.
    pub fn requests(&self, n: &Notification) -> Result<Vec<Request>, String> {
        Ok(vec![Request {
            url: self.url.clone(),
            body: serde_json::to_vec(&payload(n, self.max_alerts)).map_err(|e| e.to_string())?,
        }])
    }
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Alertmanager's webhook payload (version 4).
pub fn payload(n: &Notification, max_alerts: u64) -> serde_json::Value {
    let mut alerts = Vec::new();
    for (a, status) in n
        .firing
        .iter()
        .map(|a| (a, "firing"))
        .chain(n.resolved.iter().map(|a| (a, "resolved")))
    {
        let ends = if status == "resolved" {
            ts(a.ends_at.filter(|e| *e <= n.now).unwrap_or(n.now))
        } else {
            "0001-01-01T00:00:00Z".to_string()
        };
        alerts.push(json!({
            "status": status,
            "labels": crate::alert::labels_map::serialize(&a.labels, serde_json::value::Serializer).unwrap_or_default(),
            "annotations": a.annotations,
            "startsAt": ts(a.starts_at),
            "endsAt": ends,
            "generatorURL": a.generator_url,
            "fingerprint": a.fingerprint().to_string(),
        }));
    }
    let total = alerts.len() as u64;
    let truncated = if max_alerts > 0 && total > max_alerts {
        alerts.truncate(max_alerts as usize);
        total - max_alerts
    } else {
        0
    };
    json!({
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": truncated,
        "status": n.status(),
        "receiver": n.receiver,
        "groupLabels": crate::alert::labels_map::serialize(&n.group_labels, serde_json::value::Serializer).unwrap_or_default(),
        "commonLabels": n.common_labels(),
        "commonAnnotations": n.common_annotations(),
        "externalURL": n.external_url,
        "alerts": alerts,
    })
}
