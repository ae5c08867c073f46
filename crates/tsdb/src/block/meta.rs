//! `meta.json`: a block's time range, statistics and compaction lineage, plus
//! block id generation (ULID-like: sortable by creation time).

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Statistics stored in `meta.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Samples in the block.
    pub num_samples: u64,
    /// Series in the block.
    pub num_series: u64,
    /// Chunks in the block.
    pub num_chunks: u64,
}

/// Compaction lineage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockCompaction {
    /// 1 for blocks cut from the head or backfilled, +1 per merge.
    pub level: u32,
    /// Ids of the level-1 blocks whose data this block holds.
    pub sources: Vec<String>,
}

/// The content of `meta.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// The block id (also its directory name).
    pub ulid: String,
    /// Inclusive lower bound of sample timestamps (ms).
    pub min_time: i64,
    /// Exclusive upper bound of sample timestamps (ms).
    pub max_time: i64,
    /// Statistics.
    pub stats: BlockStats,
    /// Lineage.
    pub compaction: BlockCompaction,
    /// Format version, 1.
    pub version: u32,
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new 26-character id: 48 bits of milliseconds since the epoch then 80 bits
/// that differ per call within this process, in Crockford base32 (sortable).
pub fn new_ulid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ms = now.as_millis() as u64 & ((1 << 48) - 1);
    let c = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = [now.as_nanos() as u64, std::process::id() as u64, c];
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for s in seed {
        h.update(&s.to_le_bytes());
    }
    let rnd = h.digest128();
    // 128 bits: ms(48) | counter-ish random(80); keep the counter in the top
    // random bits so ids made in the same millisecond still sort by creation.
    let rnd80 = ((c as u128 & 0xffff) << 64) | (rnd & ((1u128 << 64) - 1));
    let v: u128 = ((ms as u128) << 80) | rnd80;
    let mut out = [0u8; 26];
    for (i, o) in out.iter_mut().enumerate() {
        let shift = 125 - 5 * i as i32;
        let idx = if shift >= 0 {
            (v >> shift) & 31
        } else {
            (v << (-shift)) & 31
        };
        *o = CROCKFORD[idx as usize];
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_are_unique_and_sorted() {
        let a = new_ulid();
        let b = new_ulid();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(a < b, "{a} {b}");
    }
}
