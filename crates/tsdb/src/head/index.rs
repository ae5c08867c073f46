//! The head's inverted index: for each interned `(name, value)` pair, the sorted
//! refs of the series carrying it, plus the list of all refs.

use super::symbols::Symbols;
use crate::postings::PostingsIndex;
use std::collections::HashMap;

/// Postings by name id, then value id.
#[derive(Default)]
pub struct MemPostings {
    /// `name id -> value id -> sorted refs`.
    pub by_name: HashMap<u32, HashMap<u32, Vec<u32>>>,
    /// All refs, sorted.
    pub all: Vec<u32>,
}

fn insert_sorted(v: &mut Vec<u32>, r: u32) {
    match v.last() {
        Some(&l) if l >= r => {
            if let Err(i) = v.binary_search(&r) {
                v.insert(i, r);
            }
        }
        _ => v.push(r),
    }
}

fn remove_sorted(v: &mut Vec<u32>, r: u32) {
    if let Ok(i) = v.binary_search(&r) {
        v.remove(i);
    }
}

impl MemPostings {
    /// Adds series `r` with the given label ids.
    pub fn add(&mut self, r: u32, labels: &[(u32, u32)]) {
        insert_sorted(&mut self.all, r);
        for &(n, v) in labels {
            insert_sorted(self.by_name.entry(n).or_default().entry(v).or_default(), r);
        }
    }

    /// Removes series `r`.
    pub fn remove(&mut self, r: u32, labels: &[(u32, u32)]) {
        remove_sorted(&mut self.all, r);
        for &(n, v) in labels {
            if let Some(vals) = self.by_name.get_mut(&n) {
                if let Some(list) = vals.get_mut(&v) {
                    remove_sorted(list, r);
                    if list.is_empty() {
                        vals.remove(&v);
                    }
                }
                if vals.is_empty() {
                    self.by_name.remove(&n);
                }
            }
        }
    }
}

/// A read view resolving strings through the symbol table.
pub struct HeadIndexView<'a> {
    /// The postings.
    pub postings: &'a MemPostings,
    /// The symbols.
    pub symbols: &'a Symbols,
}

impl PostingsIndex for HeadIndexView<'_> {
    fn all_postings(&self) -> Vec<u32> {
        self.postings.all.clone()
    }

    fn postings(&self, name: &str, value: &str) -> Vec<u32> {
        let (Some(n), Some(v)) = (self.symbols.lookup(name), self.symbols.lookup(value)) else {
            return Vec::new();
        };
        self.postings
            .by_name
            .get(&n)
            .and_then(|m| m.get(&v))
            .cloned()
            .unwrap_or_default()
    }

    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        let Some(n) = self.symbols.lookup(name) else {
            return;
        };
        if let Some(m) = self.postings.by_name.get(&n) {
            for v in m.keys() {
                f(self.symbols.get(*v));
            }
        }
    }
}
