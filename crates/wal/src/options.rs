//! Configuration of a WAL: segment size, fsync policy and the metric label.

use std::fmt;
use std::time::Duration;

use serde::de::Error as _;
use sightline_model::PromDuration;

/// When appended data is forced to stable storage.
///
/// In YAML it is written `always`, `never`, or a Prometheus duration such as `1s`
/// (an interval).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// [`crate::Wal::sync`] returns once the record is fsync'd; concurrent callers share
    /// one fsync (group commit).
    #[default]
    Always,
    /// A background thread fsyncs at this interval; `sync` returns at once. Data is
    /// written to the OS before `append` returns, so it survives a process crash but
    /// up to one interval can be lost on power failure.
    Interval(Duration),
    /// Never fsync explicitly (except when a segment is cut or the WAL is closed);
    /// the OS writes back when it likes.
    Never,
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncPolicy::Always => f.write_str("always"),
            FsyncPolicy::Never => f.write_str("never"),
            FsyncPolicy::Interval(d) => write!(f, "{}", PromDuration(*d)),
        }
    }
}

impl FsyncPolicy {
    /// Parses `always`, `never` or a positive Prometheus duration.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            other => {
                let d = PromDuration::parse(other).map_err(|e| {
                    format!("fsync policy must be \"always\", \"never\" or a duration: {e}")
                })?;
                if d.get().is_zero() {
                    return Err("fsync interval must be greater than zero".into());
                }
                Ok(FsyncPolicy::Interval(d.get()))
            }
        }
    }
}

impl serde::Serialize for FsyncPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for FsyncPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        FsyncPolicy::parse(&s).map_err(D::Error::custom)
    }
}

/// How a WAL is laid out and made durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// Size at which a segment is closed and the next started (default 128 MiB).
    /// Clamped to 64 B ..= 4 GiB - 1. A record larger than this gets a segment alone.
    pub segment_size: u64,
    /// When appended data is fsync'd.
    pub fsync: FsyncPolicy,
    /// Value of the `wal` label on this WAL's self-metrics, e.g. `metrics`.
    pub name: String,
}

/// The default segment size: 128 MiB, as in Prometheus.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            fsync: FsyncPolicy::Always,
            name: "default".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_policy_yaml() {
        let p: FsyncPolicy = serde_yaml::from_str("always").unwrap();
        assert_eq!(p, FsyncPolicy::Always);
        let p: FsyncPolicy = serde_yaml::from_str("never").unwrap();
        assert_eq!(p, FsyncPolicy::Never);
        let p: FsyncPolicy = serde_yaml::from_str("1s").unwrap();
        assert_eq!(p, FsyncPolicy::Interval(Duration::from_secs(1)));
        let p: FsyncPolicy = serde_yaml::from_str("1m30s").unwrap();
        assert_eq!(p, FsyncPolicy::Interval(Duration::from_secs(90)));
        assert!(serde_yaml::from_str::<FsyncPolicy>("0s").is_err());
        assert!(serde_yaml::from_str::<FsyncPolicy>("sometimes").is_err());
        assert_eq!(
            serde_yaml::to_string(&FsyncPolicy::Always).unwrap().trim(),
            "always"
        );
        assert_eq!(
            serde_yaml::to_string(&FsyncPolicy::Interval(Duration::from_millis(1500)))
                .unwrap()
                .trim(),
            "1s500ms"
        );
        assert_eq!(FsyncPolicy::default(), FsyncPolicy::Always);
        assert_eq!(WalOptions::default().segment_size, 128 << 20);
    }
}
