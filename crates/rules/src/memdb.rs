//! An in-memory store that is both a [`SampleSink`] and a [`Queryable`].
//!
//! Rule evaluation reads what earlier rules wrote, so tests and dry runs (for
//! example replaying SLO rules over sample data) need one store for both sides.
//! `sightline_promql::MemStorage` only offers the read side; this wraps the same
//! idea behind a lock so rule groups can write through it.

use parking_lot::{RwLock, RwLockReadGuard};
use sightline_model::{AppendError, AppendReport, Labels, Matcher, Sample, SampleSink, WriteBatch};
use sightline_promql::storage::SliceSeries;
use sightline_promql::{Queryable, SeriesSource, StorageError, StoredSeries};
use std::collections::BTreeMap;

/// Series kept in label order; samples in time order.
#[derive(Default, Debug)]
pub struct MemDb {
    series: RwLock<BTreeMap<Labels, Vec<Sample>>>,
}

impl MemDb {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds samples (any order; equal timestamps are replaced).
    pub fn add(&self, labels: Labels, samples: impl IntoIterator<Item = Sample>) {
        let mut g = self.series.write();
        let buf = g.entry(labels).or_default();
        for s in samples {
            match buf.binary_search_by(|x| x.t.cmp(&s.t)) {
                Ok(i) => buf[i] = s,
                Err(i) => buf.insert(i, s),
            }
        }
    }

    /// The samples of the series with exactly `labels`.
    pub fn samples(&self, labels: &Labels) -> Vec<Sample> {
        self.series.read().get(labels).cloned().unwrap_or_default()
    }

    /// All series whose metric name is `name`, with their samples.
    pub fn series_named(&self, name: &str) -> Vec<(Labels, Vec<Sample>)> {
        self.series
            .read()
            .iter()
            .filter(|(l, _)| l.metric_name() == Some(name))
            .map(|(l, s)| (l.clone(), s.clone()))
            .collect()
    }
}

impl SampleSink for MemDb {
    fn append(&self, batch: WriteBatch) -> Result<AppendReport, AppendError> {
        let mut rep = AppendReport::default();
        for ts in batch.series {
            ts.labels.validate_sorted().map_err(AppendError::Invalid)?;
            rep.accepted += ts.samples.len() as u64;
            self.add(ts.labels, ts.samples);
        }
        Ok(rep)
    }
}

struct Snapshot<'a> {
    guard: RwLockReadGuard<'a, BTreeMap<Labels, Vec<Sample>>>,
    mint: i64,
    maxt: i64,
}

impl SeriesSource for Snapshot<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn StoredSeries + '_>>, StorageError> {
        let mut out: Vec<Box<dyn StoredSeries + '_>> = Vec::new();
        for (labels, samples) in self.guard.iter() {
            if !matchers
                .iter()
                .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
            {
                continue;
            }
            let lo = samples.partition_point(|s| s.t < self.mint);
            let hi = samples.partition_point(|s| s.t <= self.maxt);
            if lo < hi {
                out.push(Box::new(SliceSeries::new(labels, &samples[lo..hi])));
            }
        }
        Ok(out)
    }
}

impl Queryable for MemDb {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn SeriesSource + '_>, StorageError> {
        Ok(Box::new(Snapshot {
            guard: self.series.read(),
            mint,
            maxt,
        }))
    }
}
