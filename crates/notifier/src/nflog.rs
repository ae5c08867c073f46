//! The notification log: for each aggregation group and integration, which alerts
//! were last notified as firing and as resolved, and when. It decides whether a
//! flush has anything new to say, so repeats, retries and restarts never page twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::Fingerprint;

/// What was last sent for one group to one integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The aggregation group key.
    pub group_key: String,
    /// The integration id (`receiver/kind/index`).
    pub integration: String,
    /// Alerts notified as firing, sorted.
    pub firing: Vec<Fingerprint>,
    /// Alerts notified as resolved, sorted.
    pub resolved: Vec<Fingerprint>,
    /// When the notification was delivered.
    pub timestamp: DateTime<Utc>,
}

impl Entry {
    /// True when `fp` was last notified as firing.
    pub fn was_firing(&self, fp: Fingerprint) -> bool {
        self.firing.binary_search(&fp).is_ok()
    }

    /// True when `fp` was last notified as resolved.
    pub fn was_resolved(&self, fp: Fingerprint) -> bool {
        self.resolved.binary_search(&fp).is_ok()
    }
}

/// Decides whether a notification is due, following Alertmanager's rules: new firing
/// alerts, everything resolved, new resolutions (when sent), or the repeat interval.
pub fn needs_update(
    entry: Option<&Entry>,
    firing: &[Fingerprint],
    resolved: &[Fingerprint],
    send_resolved: bool,
    repeat: std::time::Duration,
    now: DateTime<Utc>,
) -> bool {
    let Some(e) = entry else {
        return !firing.is_empty();
    };
    if firing.iter().any(|f| !e.was_firing(*f)) {
        return true;
    }
    if firing.is_empty() {
        return !e.firing.is_empty();
    }
    if send_resolved && resolved.iter().any(|r| !e.was_resolved(*r)) {
        return true;
    }
    chrono::Duration::from_std(repeat)
        .ok()
        .and_then(|d| e.timestamp.checked_add_signed(d))
        .is_some_and(|due| due <= now)
}

/// All entries, keyed by group and integration.
#[derive(Debug, Default)]
pub struct NfLog {
    map: HashMap<(String, String), Entry>,
}

impl NfLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry for a group and integration.
    pub fn get(&self, group_key: &str, integration: &str) -> Option<&Entry> {
        self.map
            .get(&(group_key.to_string(), integration.to_string()))
    }

    /// Records a delivered notification.
    pub fn set(&mut self, mut e: Entry) {
        e.firing.sort();
        e.firing.dedup();
        e.resolved.sort();
        e.resolved.dedup();
        self.map
            .insert((e.group_key.clone(), e.integration.clone()), e);
    }

    /// Forgets every entry of a group (the group is gone).
    pub fn remove_group(&mut self, group_key: &str) {
        self.map.retain(|(g, _), _| g != group_key);
    }

    /// All entries.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.map.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn update_rules() {
        let now = Utc::now();
        let (a, b) = (Fingerprint(1), Fingerprint(2));
        let h = Duration::from_secs(3600);
        assert!(needs_update(None, &[a], &[], true, h, now));
        assert!(!needs_update(None, &[], &[a], true, h, now));
        let e = Entry {
            group_key: "g".into(),
            integration: "i".into(),
            firing: vec![a],
            resolved: vec![],
            timestamp: now,
        };
        assert!(!needs_update(Some(&e), &[a], &[], true, h, now));
        assert!(
            needs_update(Some(&e), &[a, b], &[], true, h, now),
            "new alert joins"
        );
        assert!(
            needs_update(Some(&e), &[], &[a], false, h, now),
            "all resolved"
        );
        assert!(
            needs_update(
                Some(&e),
                &[a],
                &[],
                true,
                h,
                now + chrono::Duration::hours(1)
            ),
            "repeat"
        );
    }
}
