//! Silences: matchers plus a time window that mute matching alerts. Created,
//! updated and expired through the API (and `amtool`), identified by UUID strings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sightline_model::{Labels, MatchOp, Matcher};

/// A matcher as the silence API writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceMatcher {
    /// Label name.
    pub name: String,
    /// Value or regex.
    pub value: String,
    /// `=~`/`!~` rather than `=`/`!=`.
    pub is_regex: bool,
    /// `=`/`=~` rather than `!=`/`!~` (default true).
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl SilenceMatcher {
    /// Compiles into a label matcher.
    pub fn compile(&self) -> Result<Matcher, String> {
        let op = match (self.is_regex, self.is_equal) {
            (false, true) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::RegexMatch,
            (true, false) => MatchOp::RegexNoMatch,
        };
        Matcher::new(op, self.name.clone(), self.value.clone()).map_err(|e| e.to_string())
    }
}

/// One silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Silence {
    /// UUID; empty when creating.
    #[serde(default)]
    pub id: String,
    /// All must match for an alert to be silenced.
    pub matchers: Vec<SilenceMatcher>,
    /// Start of the window.
    pub starts_at: DateTime<Utc>,
    /// End of the window.
    pub ends_at: DateTime<Utc>,
    /// Last change.
    #[serde(default = "Utc::now")]
    pub updated_at: DateTime<Utc>,
    /// Author.
    #[serde(default)]
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

/// Lifecycle state at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    /// Starts in the future.
    Pending,
    /// Muting now.
    Active,
    /// Over.
    Expired,
}

impl SilenceState {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    /// The state at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        if self.ends_at <= now {
            SilenceState::Expired
        } else if self.starts_at > now {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }
}

/// Why a silence operation failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SilenceError {
    /// Unknown id.
    #[error("silence {0} not found")]
    NotFound(String),
    /// Invalid content.
    #[error("{0}")]
    Invalid(String),
}

struct Entry {
    silence: Silence,
    matchers: Vec<Matcher>,
}

/// All silences, including expired ones until garbage-collected.
#[derive(Default)]
pub struct Silences {
    map: HashMap<String, Entry>,
}

/// A random version-4 UUID string.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn compile_all(s: &Silence) -> Result<Vec<Matcher>, SilenceError> {
    if s.matchers.is_empty() {
        return Err(SilenceError::Invalid("silence has no matchers".into()));
    }
    let ms = s
        .matchers
        .iter()
        .map(|m| m.compile().map_err(SilenceError::Invalid))
        .collect::<Result<Vec<_>, _>>()?;
    if ms.iter().all(|m| m.matches("")) {
        return Err(SilenceError::Invalid(
            "at least one matcher must not match the empty string".into(),
        ));
    }
    Ok(ms)
}

impl Silences {
    /// No silences.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a silence (empty id) or updates one. As in Alertmanager, an update that
    /// changes the matchers, or touches an expired silence, expires the old one and
    /// creates a new id. Returns the resulting id.
    pub fn upsert(&mut self, mut s: Silence, now: DateTime<Utc>) -> Result<String, SilenceError> {
        let matchers = compile_all(&s)?;
        if s.ends_at <= s.starts_at {
            return Err(SilenceError::Invalid(
                "end time must not be before or equal to start time".into(),
            ));
        }
        if s.ends_at <= now {
            return Err(SilenceError::Invalid(
                "end time can't be in the past".into(),
            ));
        }
        if s.starts_at < now {
            s.starts_at = now;
        }
        s.updated_at = now;
        if !s.id.is_empty() {
            let Some(old) = self.map.get_mut(&s.id) else {
                return Err(SilenceError::NotFound(s.id));
            };
            let st = old.silence.state(now);
            if st != SilenceState::Expired && old.silence.matchers == s.matchers {
                if st == SilenceState::Active {
                    s.starts_at = old.silence.starts_at;
                }
                old.silence = s.clone();
                old.matchers = matchers;
                return Ok(s.id);
            }
            if st != SilenceState::Expired {
                expire_entry(old, now);
            }
        }
        s.id = new_uuid();
        let id = s.id.clone();
        self.map.insert(
            id.clone(),
            Entry {
                silence: s,
                matchers,
            },
        );
        Ok(id)
    }

    /// Restores a silence from a snapshot as is.
    pub fn restore(&mut self, s: Silence) {
        if let Ok(matchers) = s.matchers.iter().map(|m| m.compile()).collect() {
            self.map.insert(
                s.id.clone(),
                Entry {
                    silence: s,
                    matchers,
                },
            );
        }
    }

    /// Ends a silence now.
    pub fn expire(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), SilenceError> {
        let e = self
            .map
            .get_mut(id)
            .ok_or_else(|| SilenceError::NotFound(id.to_string()))?;
        if e.silence.state(now) == SilenceState::Expired {
            return Err(SilenceError::Invalid(format!(
                "silence {id} already expired"
            )));
        }
        expire_entry(e, now);
        Ok(())
    }

    /// One silence by id.
    pub fn get(&self, id: &str) -> Option<&Silence> {
        self.map.get(id).map(|e| &e.silence)
    }

    /// All silences.
    pub fn iter(&self) -> impl Iterator<Item = &Silence> {
        self.map.values().map(|e| &e.silence)
    }

    /// Ids of the active silences muting an alert with `labels`, sorted.
    pub fn silenced_by(&self, labels: &Labels, now: DateTime<Utc>) -> Vec<String> {
        let mut ids: Vec<String> = self
            .map
            .values()
            .filter(|e| e.silence.state(now) == SilenceState::Active)
            .filter(|e| {
                e.matchers
                    .iter()
                    .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
            })
            .map(|e| e.silence.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Drops silences expired for longer than `retention`.
    pub fn gc(&mut self, now: DateTime<Utc>, retention: chrono::Duration) -> usize {
        let before = self.map.len();
        self.map.retain(|_, e| {
            e.silence
                .ends_at
                .checked_add_signed(retention)
                .is_none_or(|t| t > now)
        });
        before - self.map.len()
    }

    /// Counts per state (pending, active, expired).
    pub fn counts(&self, now: DateTime<Utc>) -> [usize; 3] {
        let mut c = [0; 3];
        for e in self.map.values() {
            c[e.silence.state(now) as usize] += 1;
        }
        c
    }
}

fn expire_entry(e: &mut Entry, now: DateTime<Utc>) {
    if e.silence.starts_at > now {
        e.silence.starts_at = now;
    }
    e.silence.ends_at = now;
    e.silence.updated_at = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sil(name: &str, value: &str) -> Silence {
        let now = Utc::now();
        Silence {
            id: String::new(),
            matchers: vec![SilenceMatcher {
                name: name.into(),
                value: value.into(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: now - chrono::Duration::seconds(1),
            ends_at: now + chrono::Duration::hours(1),
            updated_at: now,
            created_by: "me".into(),
            comment: "c".into(),
        }
    }

    #[test]
    fn lifecycle() {
        let mut s = Silences::new();
        let now = Utc::now();
        let id = s.upsert(sil("alertname", "A"), now).unwrap();
        assert_eq!(id.len(), 36);
        let l = Labels::from_pairs([("alertname", "A")]);
        assert_eq!(s.silenced_by(&l, now), vec![id.clone()]);
        // Same matchers: updated in place.
        let mut upd = sil("alertname", "A");
        upd.id = id.clone();
        upd.comment = "new".into();
        assert_eq!(s.upsert(upd, now).unwrap(), id);
        // Different matchers: old expired, new id.
        let mut upd = sil("alertname", "B");
        upd.id = id.clone();
        let id2 = s.upsert(upd, now).unwrap();
        assert_ne!(id2, id);
        assert_eq!(s.get(&id).unwrap().state(now), SilenceState::Expired);
        s.expire(&id2, now).unwrap();
        assert!(s
            .silenced_by(&Labels::from_pairs([("alertname", "B")]), now)
            .is_empty());
        assert!(matches!(
            s.expire("nope", now),
            Err(SilenceError::NotFound(_))
        ));
        assert!(s.upsert(sil("alertname", ""), now).is_err());
    }
}
