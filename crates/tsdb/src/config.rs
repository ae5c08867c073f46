//! The `storage.tsdb` configuration section (Prometheus flag names in snake_case).

use serde::Deserialize;
use sightline_model::{ByteSize, PromDuration};
use sightline_wal::FsyncPolicy;
use std::time::Duration;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Storage settings.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// How long to keep data, relative to the newest block (default 15d).
    pub retention_time: PromDuration,
    /// Delete oldest blocks while blocks + WAL exceed this size.
    pub retention_size: Option<ByteSize>,
    /// WAL fsync policy (default `always`, with group commit).
    pub wal_fsync: FsyncPolicy,
    /// WAL segment size (default 128MB).
    pub wal_segment_size: ByteSize,
    /// Accept samples this much older than the newest (default 0: rejected).
    pub out_of_order_time_window: PromDuration,
    /// Head block range and smallest block (default 2h).
    pub min_block_duration: PromDuration,
    /// Largest compacted block (default 10% of retention, at most 31d).
    pub max_block_duration: Option<PromDuration>,
    /// Exemplar ring buffer capacity (default 100000).
    pub max_exemplars: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            retention_time: PromDuration(Duration::from_secs(15 * 86400)),
            retention_size: None,
            wal_fsync: FsyncPolicy::Always,
            wal_segment_size: ByteSize(128 << 20),
            out_of_order_time_window: PromDuration(Duration::ZERO),
            min_block_duration: PromDuration(Duration::from_secs(2 * 3600)),
            max_block_duration: None,
            max_exemplars: 100_000,
        }
    }
}

impl StorageConfig {
    /// Checks values that would make the database misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_block_duration.as_millis() <= 0 {
            return Err("min_block_duration must be positive".into());
        }
        if self.wal_segment_size.0 < 64 << 10 || self.wal_segment_size.0 > u32::MAX as u64 {
            return Err("wal_segment_size must be between 64KB and 4GB".into());
        }
        Ok(())
    }

    /// The head/block range in ms.
    pub fn block_range(&self) -> i64 {
        self.min_block_duration.as_millis().max(1)
    }

    /// The largest compacted block range in ms.
    pub fn max_block_range(&self) -> i64 {
        let v = match self.max_block_duration {
            Some(d) => d.as_millis(),
            None => (self.retention_time.as_millis() / 10).min(31 * DAY_MS),
        };
        v.max(self.block_range())
    }

    /// Compaction ranges: the block range times 1, 3, 9, ... up to the maximum.
    pub fn ranges(&self) -> Vec<i64> {
        let mut out = vec![self.block_range()];
        while let Some(&last) = out.last() {
            let next = last.saturating_mul(3);
            if next > self.max_block_range() || out.len() >= 10 {
                break;
            }
            out.push(next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_defaults_and_ranges() {
        let c: StorageConfig =
            serde_yaml::from_str("retention_time: 30d\nwal_fsync: 1s\n").unwrap();
        assert_eq!(c.retention_time.as_millis(), 30 * DAY_MS);
        assert_eq!(c.wal_fsync, FsyncPolicy::Interval(Duration::from_secs(1)));
        assert_eq!(c.block_range(), 2 * 3600 * 1000);
        let h = 3600 * 1000;
        assert_eq!(c.ranges(), vec![2 * h, 6 * h, 18 * h, 54 * h]);
        assert!(serde_yaml::from_str::<StorageConfig>("bogus: 1").is_err());
    }
}
