//! Interned label strings shared by every head series, so that a label name or
//! value used by a million series is stored once and each series holds only a pair
//! of 32-bit ids per label. Strings are reference-counted by the series using
//! them and freed (their ids reused) when the last such series is removed, so
//! series churn does not grow the table forever.

use std::collections::HashMap;
use std::sync::Arc;

/// A reference-counted string interner.
#[derive(Default)]
pub struct Symbols {
    map: HashMap<Arc<str>, u32>,
    strs: Vec<Option<Arc<str>>>,
    counts: Vec<u32>,
    free: Vec<u32>,
    bytes: usize,
}

impl Symbols {
    /// The id of `s`, if interned.
    #[inline]
    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }

    /// Interns `s` for one more user, returning its id.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            self.counts[id as usize] += 1;
            return id;
        }
        let a: Arc<str> = Arc::from(s);
        self.bytes += s.len();
        let id = match self.free.pop() {
            Some(id) => {
                self.strs[id as usize] = Some(a.clone());
                self.counts[id as usize] = 1;
                id
            }
            None => {
                self.strs.push(Some(a.clone()));
                self.counts.push(1);
                (self.strs.len() - 1) as u32
            }
        };
        self.map.insert(a, id);
        id
    }

    /// Drops one user of `id`, freeing the string when none is left.
    pub fn release(&mut self, id: u32) {
        let i = id as usize;
        let Some(c) = self.counts.get_mut(i) else {
            return;
        };
        if *c == 0 {
            return;
        }
        *c -= 1;
        if *c == 0 {
            if let Some(s) = self.strs[i].take() {
                self.bytes -= s.len();
                self.map.remove(&*s);
            }
            self.free.push(id);
        }
    }

    /// The string of `id` ("" for a freed or unknown id, which no live series uses).
    #[inline]
    pub fn get(&self, id: u32) -> &str {
        self.strs
            .get(id as usize)
            .and_then(|s| s.as_deref())
            .unwrap_or("")
    }

    /// Number of live strings.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes of string data held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refcounts_free_and_reuse_ids() {
        let mut s = Symbols::default();
        let a = s.intern("job");
        assert_eq!(s.intern("job"), a);
        let b = s.intern("node");
        s.release(a);
        assert_eq!(s.lookup("job"), Some(a));
        s.release(a);
        assert_eq!(s.lookup("job"), None);
        assert_eq!(s.get(a), "");
        assert_eq!(s.len(), 1);
        let c = s.intern("other");
        assert_eq!(c, a, "freed id reused");
        assert_eq!(s.get(b), "node");
        assert_eq!(s.bytes(), "node".len() + "other".len());
    }
}
