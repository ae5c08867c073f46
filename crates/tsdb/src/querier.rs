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

/// Merges two label-sorted lists without duplicate labels into one, consuming
/// both: the second list's chunks come after the first's for the same series, and
/// its copy of the labels is dropped as soon as it is matched. Merging source by
/// source keeps at most two sources' series alive instead of all of them.
fn merge_two(a: Vec<Series>, b: Vec<Series>, mint: i64, maxt: i64) -> Vec<Series> {
    let sorted = |l: &[Series]| l.windows(2).all(|w| w[0].labels < w[1].labels);
    if !sorted(&a) || !sorted(&b) {
        return merge_series(vec![a, b], mint, maxt);
    }
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => match x.labels.cmp(&y.labels) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => {
                    let (Some(x), Some(y)) = (a.next(), b.next()) else {
                        break;
                    };
                    let (labels, mut chunks) = x.into_parts();
                    let more = y.into_parts().1;
                    chunks.reserve_exact(more.len());
                    chunks.extend(more);
                    out.push(Series::new(labels, chunks, mint, maxt));
                    continue;
                }
            },
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_a { a.next() } else { b.next() };
        if let Some(s) = next {
            let (labels, chunks) = s.into_parts();
            out.push(Series::new(labels, chunks, mint, maxt));
        }
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
        // Sources are merged one at a time, so that only the merged result and
        // one source's series are held at once.
        let (mint, maxt) = (self.mint, self.maxt);
        let mut acc: Vec<Series> = Vec::new();
        for b in &self.inner.blocks_in(mint, maxt) {
            acc = merge_two(acc, b.select(matchers, mint, maxt)?, mint, maxt);
        }
        let head = self.inner.head.select(matchers, mint, maxt);
        Ok(merge_two(acc, head, mint, maxt))
    }

    /// Labels of the series [`Querier::select`] returns, sorted and unique, without
    /// reading or copying any chunk: for callers that list series (such as
    /// `/api/v1/series`), so they hold one label set per series and touch no
    /// chunk data.
    pub fn select_labels(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, TsdbError> {
        let (mint, maxt) = (self.mint, self.maxt);
        let mut acc: Vec<Labels> = Vec::new();
        let mut add = |mut list: Vec<Labels>| {
            if acc.is_empty() {
                acc = list;
            } else {
                acc.append(&mut list);
                acc.sort_unstable();
                acc.dedup();
            }
        };
        for b in &self.inner.blocks_in(mint, maxt) {
            add(b.select_labels(matchers, mint, maxt)?);
        }
        add(self.inner.head.select_labels(matchers, mint, maxt));
        Ok(acc)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::encode_chunks;
    use sightline_model::Sample;

    fn series(name: &str, ts: &[i64]) -> Series {
        let samples: Vec<Sample> = ts.iter().map(|&t| Sample::new(t, t as f64)).collect();
        Series::new(
            Labels::from_pairs([("__name__", name)]),
            encode_chunks(&samples),
            0,
            1000,
        )
    }

    fn flat(l: &[Series]) -> Vec<(Labels, Vec<Sample>)> {
        l.iter().map(|s| (s.labels.clone(), s.samples())).collect()
    }

    #[test]
    fn pairwise_merge_equals_merging_all_sources_at_once() {
        let a = || vec![series("a", &[1, 2]), series("c", &[5]), series("d", &[7])];
        let b = || vec![series("b", &[3]), series("c", &[6]), series("e", &[9])];
        let c = || vec![series("a", &[2, 3]), series("e", &[8])];
        let want = merge_series(vec![a(), b(), c()], 0, 1000);
        let got = merge_two(
            merge_two(merge_two(Vec::new(), a(), 0, 1000), b(), 0, 1000),
            c(),
            0,
            1000,
        );
        assert_eq!(flat(&got), flat(&want));
        assert_eq!(got.len(), 5);
        assert_eq!(got[0].samples().len(), 3, "a: 1, 2 and 3 once");
        // An unsorted input still merges correctly.
        let unsorted = vec![series("z", &[1]), series("b", &[2])];
        let got = merge_two(a(), unsorted.clone(), 0, 1000);
        assert_eq!(
            flat(&got),
            flat(&merge_series(vec![a(), unsorted], 0, 1000))
        );
    }
}
