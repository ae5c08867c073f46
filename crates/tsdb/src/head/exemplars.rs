//! Exemplar storage: one ring buffer of fixed capacity shared by all series
//! (oldest exemplars are overwritten), with per-series de-duplication of repeated
//! exemplars and rejection of exemplars older than the series' newest.

use sightline_model::Exemplar;
use std::collections::{HashMap, HashSet};

/// Ring buffer of `(series ref, exemplar)`.
#[derive(Default)]
pub struct ExemplarStore {
    cap: usize,
    ring: Vec<(u32, Exemplar)>,
    next: usize,
    last: HashMap<u32, (i64, u64)>,
}

/// Result of adding one exemplar.
#[derive(Debug, PartialEq, Eq)]
pub enum ExemplarOutcome {
    /// Stored.
    Added,
    /// Identical to the series' newest exemplar: ignored.
    Duplicate,
    /// Older than the series' newest exemplar, or storage disabled.
    Rejected,
}

impl ExemplarStore {
    /// A store holding at most `cap` exemplars (0 disables storage).
    pub fn new(cap: usize) -> Self {
        ExemplarStore {
            cap,
            ..Default::default()
        }
    }

    /// Changes the capacity, keeping the newest exemplars.
    pub fn resize(&mut self, cap: usize) {
        if cap == self.cap {
            return;
        }
        let mut all = std::mem::take(&mut self.ring);
        let n = self.next.min(all.len());
        all.rotate_left(n);
        if all.len() > cap {
            all.drain(..all.len() - cap);
        }
        self.next = if all.len() == cap { 0 } else { all.len() };
        self.ring = all;
        self.cap = cap;
    }

    /// Adds an exemplar for series `r`.
    pub fn add(&mut self, r: u32, e: &Exemplar) -> ExemplarOutcome {
        if self.cap == 0 {
            return ExemplarOutcome::Rejected;
        }
        let key = (e.t, e.value.to_bits());
        if let Some(&(t, bits)) = self.last.get(&r) {
            if (t, bits) == key {
                return ExemplarOutcome::Duplicate;
            }
            if e.t < t {
                return ExemplarOutcome::Rejected;
            }
        }
        self.last.insert(r, key);
        if self.ring.len() < self.cap {
            self.ring.push((r, e.clone()));
            self.next = self.ring.len() % self.cap;
        } else {
            self.ring[self.next] = (r, e.clone());
            self.next = (self.next + 1) % self.cap;
        }
        ExemplarOutcome::Added
    }

    /// Exemplars of the given series within `[mint, maxt]`, oldest first per series.
    pub fn query(&self, refs: &HashSet<u32>, mint: i64, maxt: i64) -> HashMap<u32, Vec<Exemplar>> {
        let mut out: HashMap<u32, Vec<Exemplar>> = HashMap::new();
        for (r, e) in &self.ring {
            if e.t >= mint && e.t <= maxt && refs.contains(r) {
                out.entry(*r).or_default().push(e.clone());
            }
        }
        for v in out.values_mut() {
            v.sort_by_key(|e| e.t);
        }
        out
    }

    /// Every stored exemplar, oldest first (for WAL checkpoints).
    pub fn all(&self) -> Vec<(u32, Exemplar)> {
        let mut v = self.ring.clone();
        if self.ring.len() == self.cap {
            v.rotate_left(self.next);
        }
        v
    }

    /// Forgets series that no longer exist.
    pub fn forget(&mut self, r: u32) {
        self.last.remove(&r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_model::Labels;

    fn ex(t: i64, v: f64) -> Exemplar {
        Exemplar {
            labels: Labels::from_pairs([("trace_id", "x")]),
            value: v,
            t,
        }
    }

    #[test]
    fn ring_dedup_and_overwrite() {
        let mut s = ExemplarStore::new(2);
        assert_eq!(s.add(1, &ex(1, 1.0)), ExemplarOutcome::Added);
        assert_eq!(s.add(1, &ex(1, 1.0)), ExemplarOutcome::Duplicate);
        assert_eq!(s.add(1, &ex(0, 1.0)), ExemplarOutcome::Rejected);
        assert_eq!(s.add(1, &ex(2, 2.0)), ExemplarOutcome::Added);
        assert_eq!(s.add(1, &ex(3, 3.0)), ExemplarOutcome::Added);
        let q = s.query(&[1].into_iter().collect(), 0, 10);
        let ts: Vec<i64> = q[&1].iter().map(|e| e.t).collect();
        assert_eq!(ts, vec![2, 3]);
        s.resize(1);
        let q = s.query(&[1].into_iter().collect(), 0, 10);
        assert_eq!(q[&1].len(), 1);
        assert_eq!(q[&1][0].t, 3);
    }
}
