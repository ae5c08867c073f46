//! One shard of the head's label-hash → series map. Almost every hash belongs to
//! exactly one series, so the series is stored directly in the map and only real
//! hash collisions go to a side table: no per-series vector allocation.

use super::memseries::MemSeries;
use std::collections::HashMap;
use std::sync::Arc;

/// Series by `Labels::stable_hash`, with collisions kept apart.
#[derive(Default)]
pub struct HashShard {
    first: HashMap<u64, Arc<MemSeries>>,
    more: HashMap<u64, Vec<Arc<MemSeries>>>,
}

impl HashShard {
    /// The series with `hash` for which `is` holds.
    pub fn find(&self, hash: u64, is: impl Fn(&MemSeries) -> bool) -> Option<&Arc<MemSeries>> {
        let s = self.first.get(&hash)?;
        if is(s) {
            return Some(s);
        }
        self.more.get(&hash)?.iter().find(|s| is(s))
    }

    /// Adds a series (the caller checked it is not present).
    pub fn insert(&mut self, s: Arc<MemSeries>) {
        use std::collections::hash_map::Entry;
        match self.first.entry(s.hash) {
            Entry::Vacant(e) => {
                e.insert(s);
            }
            Entry::Occupied(_) => self.more.entry(s.hash).or_default().push(s),
        }
    }

    /// Removes exactly this series, if present.
    pub fn remove(&mut self, s: &Arc<MemSeries>) {
        let h = s.hash;
        if self.first.get(&h).is_some_and(|x| Arc::ptr_eq(x, s)) {
            self.first.remove(&h);
            if let Some(list) = self.more.get_mut(&h) {
                if let Some(next) = list.pop() {
                    self.first.insert(h, next);
                }
                if list.is_empty() {
                    self.more.remove(&h);
                }
            }
        } else if let Some(list) = self.more.get_mut(&h) {
            list.retain(|x| !Arc::ptr_eq(x, s));
            if list.is_empty() {
                self.more.remove(&h);
            }
        }
    }

    /// Number of series held.
    pub fn len(&self) -> usize {
        self.first.len() + self.more.values().map(Vec::len).sum::<usize>()
    }

    /// True when no series is held.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::memseries::SeriesData;
    use parking_lot::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicU32};

    fn series(r: u32, hash: u64) -> Arc<MemSeries> {
        Arc::new(MemSeries {
            r,
            hash,
            labels: Box::new([]),
            logged: AtomicBool::new(false),
            pending: AtomicU32::new(0),
            data: Mutex::new(SeriesData::new()),
        })
    }

    #[test]
    fn colliding_hashes_are_all_found_and_removed_one_by_one() {
        let mut sh = HashShard::default();
        let (a, b, c, d) = (series(1, 7), series(2, 7), series(3, 7), series(4, 9));
        for s in [&a, &b, &c, &d] {
            sh.insert(s.clone());
        }
        assert_eq!(sh.len(), 4);
        for s in [&a, &b, &c, &d] {
            assert!(Arc::ptr_eq(sh.find(s.hash, |x| x.r == s.r).unwrap(), s));
        }
        assert!(sh.find(7, |x| x.r == 4).is_none());
        sh.remove(&a);
        assert!(sh.find(7, |x| x.r == 1).is_none());
        assert!(sh.find(7, |x| x.r == 2).is_some());
        assert!(sh.find(7, |x| x.r == 3).is_some());
        sh.remove(&c);
        sh.remove(&b);
        assert!(sh.find(7, |_| true).is_none());
        assert_eq!(sh.len(), 1);
        sh.remove(&d);
        assert!(sh.is_empty());
        assert!(sh.more.is_empty());
    }
}
