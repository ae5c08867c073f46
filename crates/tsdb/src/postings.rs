//! Postings (sorted series-id lists) and the matcher-to-postings algorithm shared
//! by the head and by on-disk blocks.
//!
//! Each index exposes the postings of a `name=value` pair, the values of a label
//! name and the list of all series; [`select`] turns a set of matchers into the
//! sorted ids of matching series the way Prometheus does: intersect the postings of
//! matchers that cannot match an absent label, then subtract, for each matcher that
//! matches the empty string, the postings of the values it rejects.

use sightline_model::Matcher;

/// What an index must offer for [`select`].
pub trait PostingsIndex {
    /// All series ids, ascending.
    fn all_postings(&self) -> Vec<u32>;
    /// The ids of series with `name="value"`, ascending (empty when unknown).
    fn postings(&self, name: &str, value: &str) -> Vec<u32>;
    /// Calls `f` with every value of label `name` (any order).
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str));
    /// The values of `name` starting with `prefix`. The default scans all values;
    /// indexes with sorted values override it with a binary search.
    fn values_with_prefix(&self, name: &str, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_value(name, &mut |v| {
            if v.starts_with(prefix) {
                out.push(v.to_string());
            }
        });
        out
    }
}

/// Intersects two ascending lists.
pub fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Removes the ids of `b` from `a` (both ascending).
pub fn subtract(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j < b.len() && b[j] == x {
            continue;
        }
        out.push(x);
    }
    out
}

/// Unions many ascending lists.
pub fn union(mut lists: Vec<Vec<u32>>) -> Vec<u32> {
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut out: Vec<u32> = lists.concat();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

/// The postings of every value of `m.name` that `m` accepts (or, with `invert`,
/// rejects), using the set and prefix fast paths when possible.
fn matching_postings<I: PostingsIndex + ?Sized>(idx: &I, m: &Matcher, invert: bool) -> Vec<u32> {
    if !invert {
        if let Some(set) = m.set_matches() {
            return union(set.iter().map(|v| idx.postings(&m.name, v)).collect());
        }
        if let Some(p) = m.prefix() {
            let vals = idx.values_with_prefix(&m.name, p);
            return union(vals.iter().map(|v| idx.postings(&m.name, v)).collect());
        }
    }
    let mut vals = Vec::new();
    idx.for_each_value(&m.name, &mut |v| {
        if m.matches(v) != invert {
            vals.push(v.to_string());
        }
    });
    union(vals.iter().map(|v| idx.postings(&m.name, v)).collect())
}

/// The ascending ids of series matching all `matchers`. An empty matcher list
/// selects every series.
pub fn select<I: PostingsIndex + ?Sized>(idx: &I, matchers: &[Matcher]) -> Vec<u32> {
    let (positive, empty_ok): (Vec<&Matcher>, Vec<&Matcher>) =
        matchers.iter().partition(|m| !m.matches_empty());
    // Most selective-looking first: `=` before regexes.
    let mut positive = positive;
    positive.sort_by_key(|m| m.set_matches().map(|s| s.len()).unwrap_or(usize::MAX));
    let mut result: Option<Vec<u32>> = None;
    for m in positive {
        let p = matching_postings(idx, m, false);
        result = Some(match result {
            None => p,
            Some(r) => intersect(&r, &p),
        });
        if result.as_ref().is_some_and(Vec::is_empty) {
            return Vec::new();
        }
    }
    let mut result = match result {
        Some(r) => r,
        None => idx.all_postings(),
    };
    for m in empty_ok {
        // Keep series without the label and those whose value the matcher accepts:
        // drop the ones whose value it rejects.
        let rejected = matching_postings(idx, m, true);
        if !rejected.is_empty() {
            result = subtract(&result, &rejected);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_model::MatchOp;
    use std::collections::BTreeMap;

    struct Fake(Vec<Vec<(&'static str, &'static str)>>);

    impl PostingsIndex for Fake {
        fn all_postings(&self) -> Vec<u32> {
            (0..self.0.len() as u32).collect()
        }
        fn postings(&self, name: &str, value: &str) -> Vec<u32> {
            (0..self.0.len() as u32)
                .filter(|&i| self.0[i as usize].contains(&(name, value)))
                .collect()
        }
        fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
            let mut vals = BTreeMap::new();
            for s in &self.0 {
                for (n, v) in s {
                    if *n == name {
                        vals.insert(*v, ());
                    }
                }
            }
            for v in vals.keys() {
                f(v);
            }
        }
    }

    fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
        Matcher::new(op, n, v).unwrap()
    }

    #[test]
    fn matchers_like_prometheus() {
        let idx = Fake(vec![
            vec![("job", "a"), ("env", "prod")],
            vec![("job", "a")],
            vec![("job", "b"), ("env", "dev")],
            vec![("job", "api_x")],
        ]);
        assert_eq!(select(&idx, &[m(MatchOp::Equal, "job", "a")]), vec![0, 1]);
        assert_eq!(
            select(&idx, &[m(MatchOp::NotEqual, "env", "prod")]),
            vec![1, 2, 3]
        );
        assert_eq!(select(&idx, &[m(MatchOp::Equal, "env", "")]), vec![1, 3]);
        assert_eq!(
            select(&idx, &[m(MatchOp::RegexMatch, "env", "prod|")]),
            vec![0, 1, 3]
        );
        assert_eq!(
            select(&idx, &[m(MatchOp::RegexMatch, "env", ".+")]),
            vec![0, 2]
        );
        assert_eq!(
            select(&idx, &[m(MatchOp::RegexMatch, "job", "api_.*")]),
            vec![3]
        );
        assert_eq!(
            select(&idx, &[m(MatchOp::RegexNoMatch, "job", "a|b")]),
            vec![3]
        );
        assert_eq!(
            select(
                &idx,
                &[
                    m(MatchOp::Equal, "job", "a"),
                    m(MatchOp::RegexNoMatch, "env", "p.*")
                ]
            ),
            vec![1]
        );
        assert_eq!(select(&idx, &[]), vec![0, 1, 2, 3]);
    }

    #[test]
    fn set_ops() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 7]), vec![3, 7]);
        assert_eq!(subtract(&[1, 3, 5, 7], &[3, 4, 7]), vec![1, 5]);
        assert_eq!(union(vec![vec![1, 5], vec![2, 5, 9]]), vec![1, 2, 5, 9]);
    }
}
