//! Interned label strings shared by every head series, so that a label name or
//! value used by a million series is stored once and each series holds only a pair
//! of 32-bit ids per label.

use std::collections::HashMap;
use std::sync::Arc;

/// A string interner; ids are dense and never reused while the head lives.
#[derive(Default)]
pub struct Symbols {
    map: HashMap<Arc<str>, u32>,
    strs: Vec<Arc<str>>,
    bytes: usize,
}

impl Symbols {
    /// The id of `s`, if interned.
    #[inline]
    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }

    /// Interns `s`, returning its id.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let a: Arc<str> = Arc::from(s);
        let id = self.strs.len() as u32;
        self.bytes += s.len();
        self.strs.push(a.clone());
        self.map.insert(a, id);
        id
    }

    /// The string of `id` ("" for an unknown id, which cannot come from this table).
    #[inline]
    pub fn get(&self, id: u32) -> &str {
        self.strs.get(id as usize).map(|s| &**s).unwrap_or("")
    }

    /// Number of interned strings.
    pub fn len(&self) -> usize {
        self.strs.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.strs.is_empty()
    }

    /// Bytes of string data held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}
