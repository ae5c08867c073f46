//! Step-wise walking of stored series: the lookback cursor for instant selectors
//! and the sliding window for range selectors, plus the driver that applies a
//! range function to every series' window at every step.

use super::{dur_ms, offset_ms, selector_matchers, unparen, Elem, Ev, RSeries, Result};
use crate::error::exec_err;
use crate::storage::SampleIter;
use promql_parser::parser::Expr;
use sightline_model::{is_stale_nan, Labels, Sample};
use std::collections::VecDeque;
use std::sync::Arc;

/// Walks a series for non-decreasing reference times, answering "the latest sample
/// in `(r - lookback, r]`, unless it is a staleness marker".
pub(crate) struct Cursor<'a> {
    it: Box<dyn SampleIter + 'a>,
    peek: Option<Sample>,
    last: Option<Sample>,
    started: bool,
}

impl<'a> Cursor<'a> {
    pub fn new(it: Box<dyn SampleIter + 'a>) -> Self {
        Cursor {
            it,
            peek: None,
            last: None,
            started: false,
        }
    }

    pub fn at(&mut self, r: i64, lookback: i64) -> Option<Sample> {
        let lo = r - lookback;
        if !self.started {
            self.started = true;
            self.peek = self.it.seek(lo + 1);
        } else if matches!(self.peek, Some(p) if p.t <= lo) {
            self.last = None;
            self.peek = self.it.seek(lo + 1);
        }
        while let Some(p) = self.peek {
            if p.t > r {
                break;
            }
            self.last = Some(p);
            self.peek = self.it.next();
        }
        match self.last {
            Some(s) if s.t > lo && !is_stale_nan(s.v) => Some(s),
            _ => None,
        }
    }
}

/// A sliding `(lo, hi]` window over a series for non-decreasing bounds, with
/// staleness markers dropped. The buffer is reused across steps.
pub(crate) struct Window<'a> {
    it: Box<dyn SampleIter + 'a>,
    peek: Option<Sample>,
    started: bool,
    buf: VecDeque<Sample>,
}

impl<'a> Window<'a> {
    pub fn new(it: Box<dyn SampleIter + 'a>) -> Self {
        Window {
            it,
            peek: None,
            started: false,
            buf: VecDeque::new(),
        }
    }

    pub fn advance(&mut self, lo: i64, hi: i64) -> &[Sample] {
        while matches!(self.buf.front(), Some(s) if s.t <= lo) {
            self.buf.pop_front();
        }
        if !self.started {
            self.started = true;
            self.peek = self.it.seek(lo + 1);
        } else if self.buf.is_empty() && matches!(self.peek, Some(p) if p.t <= lo) {
            self.peek = self.it.seek(lo + 1);
        }
        while let Some(p) = self.peek {
            if p.t > hi {
                break;
            }
            if p.t > lo && !is_stale_nan(p.v) {
                self.buf.push_back(p);
            }
            self.peek = self.it.next();
        }
        self.buf.make_contiguous()
    }
}

/// What a range function sees for one series at one step.
pub(crate) struct WinCtx<'l> {
    pub step: usize,
    /// The outer step's evaluation time.
    pub t: i64,
    /// The window is `(range_end - range, range_end]`.
    pub range_end: i64,
    pub range: i64,
    pub labels: &'l Labels,
}

/// Applies `f` to the window of every series selected by the matrix argument `arg`
/// (a range selector or a subquery) at every step. `keep_name` says whether the
/// output keeps `__name__` (only `last_over_time`-like functions do).
pub(crate) fn eval_windows(
    ev: &Ev,
    arg: &Expr,
    keep_name: bool,
    mut f: impl FnMut(&WinCtx, &[Sample]) -> Result<Option<f64>>,
) -> Result<Vec<Vec<Elem>>> {
    let mut out = ev.empty_steps();
    let n = ev.steps();
    // Output points so far, counted with the current window against the limit.
    let mut produced = 0usize;
    match unparen(arg) {
        Expr::MatrixSelector(ms) => {
            let vs = &ms.vs;
            let range = dur_ms(&ms.range);
            let at = ev.at_ms(&vs.at);
            let off = offset_ms(&vs.offset);
            let series = ev.src.select(&selector_matchers(vs)?)?;
            // Most series yield a point at most steps: size the step vectors once.
            for step in out.iter_mut() {
                step.reserve(series.len());
            }
            for s in series {
                ev.lim.check()?;
                let labels = Arc::new(s.labels().clone());
                let mut w = Window::new(s.iter());
                for (i, step) in out.iter_mut().enumerate().take(n) {
                    let t = ev.ts(i);
                    let r = at.unwrap_or(t) - off;
                    let samples = w.advance(r - range, r);
                    ev.lim.check_transient(produced + samples.len())?;
                    let ctx = WinCtx {
                        step: i,
                        t,
                        range_end: r,
                        range,
                        labels: &labels,
                    };
                    if let Some(v) = f(&ctx, samples)? {
                        produced += 1;
                        step.push(Elem {
                            labels: labels.clone(),
                            v,
                            drop_name: !keep_name,
                        });
                    }
                }
            }
        }
        Expr::Subquery(sq) => {
            let range = dur_ms(&sq.range);
            let series: Vec<RSeries> = ev.subquery(sq)?;
            for s in series {
                ev.lim.check()?;
                for (i, step) in out.iter_mut().enumerate().take(n) {
                    let t = ev.ts(i);
                    let r = ev.ref_time(&sq.at, &sq.offset, t);
                    let lo = s.samples.partition_point(|x| x.t <= r - range);
                    let hi = s.samples.partition_point(|x| x.t <= r);
                    let ctx = WinCtx {
                        step: i,
                        t,
                        range_end: r,
                        range,
                        labels: &s.labels,
                    };
                    if let Some(v) = f(&ctx, &s.samples[lo..hi.max(lo)])? {
                        step.push(Elem {
                            labels: s.labels.clone(),
                            v,
                            drop_name: if keep_name { s.drop_name } else { true },
                        });
                    }
                }
            }
        }
        _ => return Err(exec_err!("expected range vector argument")),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{MemStorage, Queryable};
    use sightline_model::{Matcher, STALE_NAN};

    fn store() -> MemStorage {
        let mut m = MemStorage::new();
        let mut v: Vec<Sample> = (0..10).map(|i| Sample::new(i * 10, i as f64)).collect();
        v[5].v = STALE_NAN;
        m.add(Labels::from_pairs([("__name__", "a")]), v);
        m
    }

    #[test]
    fn cursor_lookback_and_staleness() {
        let m = store();
        let q = m.querier(i64::MIN, i64::MAX).unwrap();
        let s = q.select(&[Matcher::equal("__name__", "a")]).unwrap();
        let mut c = Cursor::new(s[0].iter());
        assert_eq!(c.at(5, 100).map(|s| s.v), Some(0.0));
        assert_eq!(c.at(40, 100).map(|s| s.v), Some(4.0));
        // The sample at 50 is a staleness marker.
        assert_eq!(c.at(55, 100), None);
        assert_eq!(c.at(60, 100).map(|s| s.v), Some(6.0));
        // Lookback is left-open: at 100 with lookback 10, the sample at 90 is out.
        assert_eq!(c.at(100, 10), None);
    }

    #[test]
    fn window_is_left_open_and_skips_stale() {
        let m = store();
        let q = m.querier(i64::MIN, i64::MAX).unwrap();
        let s = q.select(&[Matcher::equal("__name__", "a")]).unwrap();
        let mut w = Window::new(s[0].iter());
        let ts: Vec<i64> = w.advance(10, 40).iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![20, 30, 40]);
        let ts: Vec<i64> = w.advance(30, 60).iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![40, 60]);
        let ts: Vec<i64> = w.advance(80, 200).iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![90]);
    }
}
