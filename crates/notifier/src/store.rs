//! The set of known alerts, keyed by fingerprint, with Alertmanager's merge rules:
//! a repeated alert updates the stored one, an alert without `endsAt` gets one
//! `resolve_timeout` after it was last received.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::alert::{Alert, Fingerprint};

/// Active and recently resolved alerts.
#[derive(Debug, Default, Clone)]
pub struct Store {
    alerts: HashMap<Fingerprint, Alert>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or merges `alert` received at `now`; fills a missing start and end
    /// (`ends_at = now + resolve_timeout`, flagged as a timeout). Returns the stored
    /// alert after merge.
    pub fn put(
        &mut self,
        mut alert: Alert,
        now: DateTime<Utc>,
        resolve_timeout: std::time::Duration,
    ) -> &Alert {
        alert.updated_at = now;
        if alert.ends_at.is_none() {
            alert.timeout = true;
            alert.ends_at = Some(
                chrono::Duration::from_std(resolve_timeout)
                    .ok()
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            );
        }
        let fp = alert.fingerprint();
        let merged = match self.alerts.get(&fp) {
            Some(old) if overlaps(old, &alert) => old.merge(&alert),
            _ => alert,
        };
        self.alerts.insert(fp, merged);
        &self.alerts[&fp]
    }

    /// Inserts an alert exactly as given (restoring a snapshot).
    pub fn restore(&mut self, alert: Alert) {
        self.alerts.insert(alert.fingerprint(), alert);
    }

    /// The stored alert with fingerprint `fp`.
    pub fn get(&self, fp: Fingerprint) -> Option<&Alert> {
        self.alerts.get(&fp)
    }

    /// All stored alerts in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    /// Number of stored alerts.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// True when no alert is stored.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Removes resolved alerts for which `still_needed` is false (no aggregation group
    /// still has to notify their resolution). Returns how many were removed.
    pub fn gc(&mut self, now: DateTime<Utc>, still_needed: impl Fn(Fingerprint) -> bool) -> usize {
        let before = self.alerts.len();
        self.alerts
            .retain(|fp, a| !a.resolved_at(now) || still_needed(*fp));
        before - self.alerts.len()
    }
}

/// Alertmanager merges only when the new alert overlaps the stored one in time;
/// otherwise the new one is a fresh occurrence and replaces it.
fn overlaps(old: &Alert, new: &Alert) -> bool {
    let (Some(oe), Some(ne)) = (old.ends_at, new.ends_at) else {
        return true;
    };
    (ne >= old.starts_at && ne <= oe) || (new.starts_at >= old.starts_at && new.starts_at <= oe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_model::Labels;
    use std::time::Duration;

    #[test]
    fn timeout_and_merge() {
        let mut s = Store::new();
        let now = Utc::now();
        let a = Alert::new(Labels::from_pairs([("alertname", "A")]));
        let fp = a.fingerprint();
        s.put(a.clone(), now, Duration::from_secs(300));
        let stored = s.get(fp).unwrap();
        assert!(stored.timeout);
        assert_eq!(stored.ends_at, Some(now + chrono::Duration::seconds(300)));
        // An explicit resolution replaces the timeout.
        let mut r = a.clone();
        r.ends_at = Some(now);
        s.put(
            r,
            now + chrono::Duration::seconds(1),
            Duration::from_secs(300),
        );
        assert!(s
            .get(fp)
            .unwrap()
            .resolved_at(now + chrono::Duration::seconds(1)));
        assert_eq!(s.len(), 1);
        assert_eq!(s.gc(now + chrono::Duration::seconds(2), |_| true), 0);
        assert_eq!(s.gc(now + chrono::Duration::seconds(2), |_| false), 1);
    }
}
