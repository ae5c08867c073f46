//! Queriers: a view over the blocks and the head for one time range, merging the
//! same series from every source into one [`Series`].

use crate::db::Inner;
use crate::error::TsdbError;
use crate::series::{ChunkSlice, Series};
use sightline_model::{Labels, Matcher};
use std::sync::Arc;

/// Reads `[mint, maxt]` across blocks and head; each call takes a fresh
/// snapshot of the block list.
pub struct Querier {
    pub(crate) inner: Arc<Inner>,
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
}

/// Merges per-source sorted series lists into one sorted list; chunks of later
/// sources come later (and win on equal timestamps).
pub fn merge_series(lists: Vec<Vec<Series>>, mint: i64, maxt: i64) -> Vec<Series> {
    if lists.len() == 1 {
        return lists.into_iter().next().unwrap_or_default();
    }
    let mut all: Vec<(usize, Series)> = lists
        .into_iter()
        .enumerate()
        .flat_map(|(i, l)| l.into_iter().map(move |s| (i, s)))
        .collect();
    all.sort_by(|a, b| a.1.labels.cmp(&b.1.labels).then(a.0.cmp(&b.0)));
    let mut out: Vec<Series> = Vec::new();
    let mut cur: Option<(Labels, Vec<ChunkSlice>)> = None;
    for (_, s) in all {
        match &mut cur {
            Some((l, chunks)) if *l == s.labels => chunks.extend_from_slice(s.chunks()),
            _ => {
                if let Some((l, c)) = cur.take() {
                    out.push(Series::new(l, c, mint, maxt));
                }
                let chunks = s.chunks().to_vec();
                cur = Some((s.labels, chunks));
            }
        }
    }
    if let Some((l, c)) = cur {
        out.push(Series::new(l, c, mint, maxt));
    }
    out
}

impl Querier {
    /// The queried range.
    pub fn range(&self) -> (i64, i64) {
        (self.mint, self.maxt)
    }

    /// Series matching all `matchers`, sorted by labels, with samples merged
    /// across blocks and head, de-duplicated, within `[mint, maxt]`.
    pub fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>, TsdbError> {
        // Head last: a sample both in a fresh block and not yet truncated from
        // the head is identical, and later sources win ties anyway.
        let blocks = self.inner.blocks_in(self.mint, self.maxt);
        let mut lists = Vec::with_capacity(blocks.len() + 1);
        for b in &blocks {
            lists.push(b.select(matchers, self.mint, self.maxt)?);
        }
        lists.push(self.inner.head.select(matchers, self.mint, self.maxt));
        Ok(merge_series(lists, self.mint, self.maxt))
    }

    /// Label names of matching series, sorted and unique.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, TsdbError> {
        let mut out = self.inner.head.label_names(matchers);
        for b in self.inner.blocks_in(self.mint, self.maxt) {
            out.extend(b.label_names(matchers)?);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Values of label `name` among matching series, sorted and unique.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, TsdbError> {
        let mut out = self.inner.head.label_values(name, matchers);
        for b in self.inner.blocks_in(self.mint, self.maxt) {
            out.extend(b.label_values(name, matchers)?);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}
