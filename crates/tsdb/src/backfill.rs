//! [`BlockWriter`]: turns historical samples, given in any order, into complete
//! level-1 blocks aligned to the block range (for `sightline import`, like
//! `promtool tsdb create-blocks-from`). A running database picks them up with
//! `Tsdb::reload_blocks`, a starting one with `Tsdb::open`.

use crate::block::{write_block, BlockMeta};
use crate::compact::encode_chunks;
use crate::error::TsdbError;
use sightline_model::{Labels, Sample};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Buffers samples and writes them as blocks.
pub struct BlockWriter {
    dir: PathBuf,
    range: i64,
    series: HashMap<Labels, Vec<Sample>>,
}

impl BlockWriter {
    /// Writes into data directory `dir` with blocks of `range_ms` (normally the
    /// database's `min_block_duration`).
    pub fn new(dir: &Path, range_ms: i64) -> Self {
        BlockWriter {
            dir: dir.to_path_buf(),
            range: range_ms.max(1),
            series: HashMap::new(),
        }
    }

    /// Adds samples of a series (any order; later duplicates of a timestamp win).
    pub fn add(&mut self, labels: Labels, samples: &[Sample]) {
        self.series
            .entry(labels)
            .or_default()
            .extend_from_slice(samples);
    }

    /// Number of buffered samples.
    pub fn len(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes all buffered data, one block per aligned range holding data.
    pub fn flush(self) -> Result<Vec<BlockMeta>, TsdbError> {
        let mut windows: BTreeMap<i64, Vec<(Labels, Vec<Sample>)>> = BTreeMap::new();
        for (labels, mut samples) in self.series {
            if labels.validate_sorted().is_err() || labels.is_empty() {
                return Err(TsdbError::Config(format!("invalid labels {labels}")));
            }
            // Stable sort keeps insertion order on ties; keep the last of each.
            samples.sort_by_key(|s| s.t);
            let mut dedup: Vec<Sample> = Vec::with_capacity(samples.len());
            for s in samples {
                match dedup.last_mut() {
                    Some(l) if l.t == s.t => *l = s,
                    _ => dedup.push(s),
                }
            }
            let mut i = 0;
            while i < dedup.len() {
                let w = dedup[i].t.div_euclid(self.range);
                let j = i + dedup[i..].partition_point(|s| s.t.div_euclid(self.range) == w);
                windows
                    .entry(w)
                    .or_default()
                    .push((labels.clone(), dedup[i..j].to_vec()));
                i = j;
            }
        }
        let mut out = Vec::new();
        for (w, mut list) in windows {
            list.sort_by(|a, b| a.0.cmp(&b.0));
            let series = list.iter().map(|(l, s)| (l.clone(), encode_chunks(s)));
            let mint = w * self.range;
            if let Some(m) = write_block(&self.dir, series, mint, mint + self.range, 1, Vec::new())?
            {
                out.push(m);
            }
        }
        Ok(out)
    }
}
