//! The storage interface the engine reads through, and an in-memory implementation.
//!
//! The TSDB crate implements these traits with a thin adapter; the engine never
//! depends on it directly. Staleness markers are ordinary samples whose value has
//! the `STALE_NAN` bit pattern ([`sightline_model::is_stale_nan`]).

use crate::error::StorageError;
use sightline_model::{Labels, Matcher, Sample};

/// Something the engine can open a querier on for a time range.
pub trait Queryable: Send + Sync {
    /// Opens a view of the data with samples in `[mint, maxt]` (ms, inclusive).
    /// Samples outside may be returned; the engine filters them.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn SeriesSource + '_>, StorageError>;
}

/// A view of stored series, as returned by [`Queryable::querier`].
pub trait SeriesSource {
    /// All series whose labels satisfy every matcher, sorted by labels.
    fn select(&self, matchers: &[Matcher])
        -> Result<Vec<Box<dyn StoredSeries + '_>>, StorageError>;
}

/// One selected series.
pub trait StoredSeries {
    /// The series' labels.
    fn labels(&self) -> &Labels;
    /// A fresh iterator over the series' samples in time order.
    fn iter(&self) -> Box<dyn SampleIter + '_>;
}

/// A forward-only cursor over a series' samples.
pub trait SampleIter {
    /// The next sample, or `None` at the end.
    fn next(&mut self) -> Option<Sample>;
    /// Advances to the first sample with timestamp `>= t` and returns it; the
    /// following `next()` returns the sample after it. Never moves backwards: if the
    /// current position is already past `t`, returns the next sample.
    fn seek(&mut self, t: i64) -> Option<Sample>;
}

/// An in-memory store used by tests and the conformance runner.
#[derive(Default, Debug, Clone)]
pub struct MemStorage {
    series: Vec<(Labels, Vec<Sample>)>,
}

impl MemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends samples to the series with `labels` (created if absent). Samples must
    /// be appended in time order; out-of-order or duplicate timestamps replace the
    /// value at that timestamp.
    pub fn add(&mut self, labels: Labels, samples: impl IntoIterator<Item = Sample>) {
        let idx = match self.series.binary_search_by(|(l, _)| l.cmp(&labels)) {
            Ok(i) => i,
            Err(i) => {
                self.series.insert(i, (labels, Vec::new()));
                i
            }
        };
        let buf = &mut self.series[idx].1;
        for s in samples {
            match buf.last() {
                Some(last) if last.t >= s.t => match buf.binary_search_by(|x| x.t.cmp(&s.t)) {
                    Ok(i) => buf[i] = s,
                    Err(i) => buf.insert(i, s),
                },
                _ => buf.push(s),
            }
        }
    }

    /// Removes every series.
    pub fn clear(&mut self) {
        self.series.clear();
    }

    /// Number of series held.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when no series are held.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

/// A series backed by a sorted slice of samples: the [`StoredSeries`] of
/// in-memory stores ([`MemStorage`] and others outside this crate).
pub struct SliceSeries<'a> {
    labels: &'a Labels,
    samples: &'a [Sample],
}

impl<'a> SliceSeries<'a> {
    /// Wraps `samples`, which must be sorted by timestamp.
    pub fn new(labels: &'a Labels, samples: &'a [Sample]) -> Self {
        SliceSeries { labels, samples }
    }
}

struct SliceIter<'a> {
    samples: &'a [Sample],
    pos: usize,
}

impl SampleIter for SliceIter<'_> {
    fn next(&mut self) -> Option<Sample> {
        let s = self.samples.get(self.pos).copied();
        if s.is_some() {
            self.pos += 1;
        }
        s
    }

    fn seek(&mut self, t: i64) -> Option<Sample> {
        let rest = &self.samples[self.pos..];
        self.pos += rest.partition_point(|s| s.t < t);
        self.next()
    }
}

impl StoredSeries for SliceSeries<'_> {
    fn labels(&self) -> &Labels {
        self.labels
    }
    fn iter(&self) -> Box<dyn SampleIter + '_> {
        Box::new(SliceIter {
            samples: self.samples,
            pos: 0,
        })
    }
}

struct MemQuerier<'a> {
    store: &'a MemStorage,
    mint: i64,
    maxt: i64,
}

impl SeriesSource for MemQuerier<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn StoredSeries + '_>>, StorageError> {
        let mut out: Vec<Box<dyn StoredSeries + '_>> = Vec::new();
        for (labels, samples) in &self.store.series {
            if !matchers
                .iter()
                .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
            {
                continue;
            }
            let lo = samples.partition_point(|s| s.t < self.mint);
            let hi = samples.partition_point(|s| s.t <= self.maxt);
            if lo >= hi {
                continue;
            }
            out.push(Box::new(SliceSeries {
                labels,
                samples: &samples[lo..hi],
            }));
        }
        Ok(out)
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn SeriesSource + '_>, StorageError> {
        Ok(Box::new(MemQuerier {
            store: self,
            mint,
            maxt,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_and_seek() {
        let mut m = MemStorage::new();
        let l = Labels::from_pairs([("__name__", "a"), ("x", "1")]);
        m.add(l.clone(), (0..10).map(|i| Sample::new(i * 10, i as f64)));
        m.add(
            Labels::from_pairs([("__name__", "b")]),
            [Sample::new(0, 1.0)],
        );
        let q = m.querier(i64::MIN, i64::MAX).unwrap();
        let s = q.select(&[Matcher::equal("__name__", "a")]).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels(), &l);
        let mut it = s[0].iter();
        assert_eq!(it.seek(35).map(|s| s.t), Some(40));
        assert_eq!(it.next().map(|s| s.t), Some(50));
        assert_eq!(it.seek(0).map(|s| s.t), Some(60));
        assert!(it.seek(1000).is_none());
    }
}
