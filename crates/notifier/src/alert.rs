//! The alert as Alertmanager knows it: labels identify it (its fingerprint),
//! `ends_at` in the past makes it resolved.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sightline_model::Labels;

/// The identity of an alert: a stable 64-bit hash of its label set, shown as 16 hex
/// digits like Alertmanager's fingerprints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// The fingerprint of a label set.
    pub fn of(labels: &Labels) -> Self {
        Fingerprint(labels.stable_hash())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// One alert, as posted by a rule engine or by Prometheus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Identifying labels (never empty once accepted).
    #[serde(with = "labels_map")]
    pub labels: Labels,
    /// Descriptive annotations (summary, description, runbook_url…).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When the alert started firing.
    pub starts_at: DateTime<Utc>,
    /// When it ends (resolved once this is in the past). `None` on submission means
    /// "until further notice": the store then applies `resolve_timeout`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Link back to the rule that produced the alert.
    #[serde(default)]
    pub generator_url: String,
    /// Last time the alert was received or changed.
    pub updated_at: DateTime<Utc>,
    /// True when `ends_at` was set by the store from `resolve_timeout` rather than by
    /// the sender, so a later explicit end wins on merge.
    #[serde(default)]
    pub timeout: bool,
}

impl Alert {
    /// A firing alert with these labels starting now, as a rule engine would build it.
    pub fn new(labels: Labels) -> Self {
        let now = Utc::now();
        Alert {
            labels,
            annotations: BTreeMap::new(),
            starts_at: now,
            ends_at: None,
            generator_url: String::new(),
            updated_at: now,
            timeout: false,
        }
    }

    /// The alert's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.labels)
    }

    /// True when the alert has ended at `now`.
    pub fn resolved_at(&self, now: DateTime<Utc>) -> bool {
        self.ends_at.is_some_and(|e| e <= now)
    }

    /// The alert name (`alertname` label), or "" when absent.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").unwrap_or("")
    }

    /// Checks what Alertmanager checks on ingestion: labels present and well formed,
    /// and the end not before the start.
    pub fn validate(&self) -> Result<(), String> {
        if self.labels.is_empty() {
            return Err("alert has no labels".into());
        }
        for l in self.labels.iter() {
            if !valid_label_name(&l.name) {
                return Err(format!("invalid label name {:?}", l.name));
            }
        }
        if let Some(e) = self.ends_at {
            if e < self.starts_at {
                return Err(format!(
                    "alert {}: endsAt {} is before startsAt {}",
                    self.labels, e, self.starts_at
                ));
            }
        }
        Ok(())
    }

    /// Merges a newer copy `newer` of the same alert into `self` following
    /// Alertmanager's rules: the earliest start wins, an explicit end wins over a
    /// timeout-derived one, and between two resolutions the latest end wins.
    pub fn merge(&self, newer: &Alert) -> Alert {
        let (old, new) = if newer.updated_at < self.updated_at {
            (newer, self)
        } else {
            (self, newer)
        };
        let mut res = new.clone();
        if old.starts_at < new.starts_at {
            res.starts_at = old.starts_at;
        }
        let now = Utc::now();
        if let (Some(oe), Some(ne)) = (old.ends_at, new.ends_at) {
            if new.resolved_at(now) {
                // Between two resolutions the latest end wins.
                if old.resolved_at(now) && oe > ne {
                    res.ends_at = Some(oe);
                }
            } else if oe > ne && !old.timeout {
                // An explicit end that is later than the refresh still rules.
                res.ends_at = Some(oe);
                res.timeout = false;
            }
        }
        res
    }
}

/// Label names as Prometheus and Alertmanager's classic mode allow them:
/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Serialises [`Labels`] as a JSON/YAML object.
pub mod labels_map {
    use super::*;
    use serde::{Deserializer, Serializer};

    /// Writes labels as a map.
    pub fn serialize<S: Serializer>(l: &Labels, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(l.iter().map(|l| (&l.name, &l.value)))
    }

    /// Reads labels from a map (empty values dropped).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        let m = BTreeMap::<String, String>::deserialize(d)?;
        Ok(Labels::from_pairs(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn fingerprint_is_stable_and_label_based() {
        let a = Alert::new(Labels::from_pairs([("alertname", "X"), ("a", "1")]));
        let mut b = Alert::new(Labels::from_pairs([("a", "1"), ("alertname", "X")]));
        b.annotations.insert("summary".into(), "s".into());
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().to_string().len(), 16);
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_end() {
        let now = Utc::now();
        let mut old = Alert::new(Labels::from_pairs([("alertname", "X")]));
        old.starts_at = now - Duration::minutes(10);
        old.ends_at = Some(now - Duration::minutes(1));
        old.updated_at = now - Duration::minutes(1);
        let mut new = old.clone();
        new.starts_at = now - Duration::minutes(2);
        new.ends_at = Some(now + Duration::minutes(5));
        new.timeout = true;
        new.updated_at = now;
        let m = old.merge(&new);
        assert_eq!(m.starts_at, old.starts_at);
        // The explicit resolution is older than the refresh: the refresh re-fires it.
        assert_eq!(m.ends_at, new.ends_at);
        let mut resolved = new.clone();
        resolved.ends_at = Some(now - Duration::seconds(1));
        resolved.timeout = false;
        resolved.updated_at = now + Duration::seconds(1);
        assert!(new.merge(&resolved).resolved_at(now));
    }
}
