//! The evaluator: walks the parsed expression and produces per-step results.
//!
//! Every node evaluates over the evaluator's whole step range at once
//! (`start..=end` by `interval`); an instant query is a range of one step. Instant
//! vectors are kept as one [`Elem`] list per step, which is what binary operators,
//! aggregations and functions consume. Range vectors are never materialised for
//! selectors: range functions walk each series' window step by step with a reusable
//! buffer ([`window`]). Subqueries materialise their inner result, as Prometheus does.

pub(crate) mod aggregate;
pub(crate) mod binary;
pub(crate) mod functions;
pub(crate) mod histogram;
pub(crate) mod range_fns;
pub(crate) mod timefns;
pub(crate) mod window;

use crate::error::{exec_err, QueryError};
use crate::storage::SeriesSource;
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};
use sightline_model::{Labels, MatchOp, Matcher, Sample, METRIC_NAME};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub(crate) type Result<T> = std::result::Result<T, QueryError>;

/// One element of an instant vector at one step.
#[derive(Clone, Debug)]
pub(crate) struct Elem {
    pub labels: Arc<Labels>,
    pub v: f64,
    /// Prometheus 3 delayed name removal: `__name__` is dropped at the very end (or
    /// before grouping) when this is set, so `label_replace` can still read it.
    pub drop_name: bool,
}

/// A materialised series (subquery results, range vectors at the top level).
#[derive(Clone, Debug)]
pub(crate) struct RSeries {
    pub labels: Arc<Labels>,
    pub samples: Vec<Sample>,
    pub drop_name: bool,
}

/// The value of a node over all steps.
pub(crate) enum Val {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Vec<Vec<Elem>>),
    Matrix(Vec<RSeries>),
}

impl Val {
    /// Samples this value holds, for the max-samples limit (scalars and strings
    /// count for nothing, as in Prometheus).
    pub fn samples(&self) -> usize {
        match self {
            Val::Scalar(_) | Val::Str(_) => 0,
            Val::Vector(steps) => steps.iter().map(Vec::len).sum(),
            Val::Matrix(series) => series.iter().map(|s| s.samples.len()).sum(),
        }
    }
}

/// Hashes pointer keys (an `Arc<Labels>` address, optionally with a flag) with
/// one multiplication instead of SipHash: per-series lookups on the hot path of
/// aggregations and result assembly run once per point.
#[derive(Default, Clone, Copy)]
pub(crate) struct PtrHasher(u64);

impl std::hash::Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u8(&mut self, n: u8) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by pointers, hashed with [`PtrHasher`].
pub(crate) type PtrMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<PtrHasher>>;

/// Query-wide limits and annotations shared by nested evaluators.
pub(crate) struct Limits {
    pub deadline: Option<Instant>,
    pub cancel: Option<Arc<AtomicBool>>,
    pub max_samples: usize,
    pub samples: Cell<usize>,
    pub warnings: RefCell<Vec<String>>,
    pub infos: RefCell<Vec<String>>,
    /// The query text, used to give annotations a `(line:col)` position.
    pub query: String,
    /// True for range queries (some functions warn that they are ineffective there).
    pub is_range: bool,
    /// String literals that are invalid UTF-8 in Prometheus (see `crate::parse`).
    pub invalid_utf8: Vec<String>,
}

impl Limits {
    /// Fails when the query is cancelled or past its deadline.
    pub fn check(&self) -> Result<()> {
        if let Some(c) = &self.cancel {
            if c.load(Ordering::Relaxed) {
                return Err(QueryError::Canceled);
            }
        }
        if let Some(d) = self.deadline {
            if Instant::now() > d {
                return Err(QueryError::Timeout);
            }
        }
        Ok(())
    }

    /// Checks that `n` more samples (a node's partial output, a window being
    /// read) fit beside those held now. Nothing is recorded: a node's output is
    /// accounted once it is complete, by [`Ev::eval`].
    pub fn check_transient(&self, n: usize) -> Result<()> {
        if self.samples.get().saturating_add(n) > self.max_samples {
            return Err(QueryError::TooManySamples);
        }
        Ok(())
    }

    /// Accounts a finished node: its `out` samples were built while its inputs
    /// were still held (the peak, checked here); then the inputs are released,
    /// leaving `before` (what was held when the node started) plus `out`.
    fn settle(&self, before: usize, out: usize) -> Result<()> {
        self.check_transient(out)?;
        self.samples.set(before + out);
        Ok(())
    }

    /// ` (line:col)` of the first occurrence of `needle` in the query, or "".
    /// Workaround: promql-parser keeps no source positions, so annotation positions
    /// are recovered by searching the query text.
    pub fn pos_of(&self, needle: &str) -> String {
        let Some(off) = self.query.find(needle) else {
            return String::new();
        };
        let before = &self.query[..off];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        format!(" ({line}:{col})")
    }

    /// Whether `s` is a valid label name: non-empty and, in Prometheus' terms,
    /// valid UTF-8 (a literal like `"\xff"` is not).
    pub fn label_name_ok(&self, s: &str) -> bool {
        !s.is_empty() && !self.invalid_utf8.iter().any(|x| x == s)
    }

    pub fn warn(&self, msg: String) {
        let mut w = self.warnings.borrow_mut();
        if !w.contains(&msg) {
            w.push(msg);
        }
    }

    pub fn info(&self, msg: String) {
        let mut w = self.infos.borrow_mut();
        if !w.contains(&msg) {
            w.push(msg);
        }
    }
}

/// Evaluates expressions over one step range.
pub(crate) struct Ev<'a> {
    pub src: &'a dyn SeriesSource,
    pub lim: &'a Limits,
    pub start: i64,
    pub end: i64,
    pub interval: i64,
    /// The outermost query's start/end, which `start()`/`end()` refer to.
    pub qstart: i64,
    pub qend: i64,
    /// The outermost query's step (0 for instant queries), for `step()`.
    pub qstep: i64,
    pub lookback: i64,
    pub subquery_step: i64,
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

pub(crate) fn dur_ms(d: &std::time::Duration) -> i64 {
    d.as_millis() as i64
}

/// Unwraps parentheses.
pub(crate) fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// Translates the parser's matchers into the model's. The parser keeps the metric
/// name apart from the matchers; it becomes an `__name__` equality matcher here.
/// Workaround: the parser's `or` alternatives inside braces (an experimental
/// Prometheus syntax) are not supported and are rejected here.
pub(crate) fn selector_matchers(vs: &VectorSelector) -> Result<Vec<Matcher>> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(QueryError::Parse(
            "'or' inside label matchers is not supported".into(),
        ));
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(n) = &vs.name {
        out.push(Matcher::equal(METRIC_NAME, n.clone()));
    }
    for m in &vs.matchers.matchers {
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::RegexMatch,
            PMatchOp::NotRe(_) => MatchOp::RegexNoMatch,
        };
        let mm = Matcher::new(op, m.name.clone(), m.value.clone())
            .map_err(|e| QueryError::Parse(e.to_string()))?;
        out.push(mm);
    }
    Ok(out)
}

/// Removes `__name__` from labels.
pub(crate) fn without_name(l: &Labels) -> Labels {
    if l.get(METRIC_NAME).is_none() {
        return l.clone();
    }
    Labels::from_sorted_unchecked(
        l.iter()
            .filter(|x| x.name != METRIC_NAME)
            .cloned()
            .collect(),
    )
}

/// The labels an element finally carries (name removed if flagged).
pub(crate) fn effective_labels(e: &Elem) -> Labels {
    if e.drop_name {
        without_name(&e.labels)
    } else {
        (*e.labels).clone()
    }
}

pub(crate) const DUP_LABELSET: &str = "vector cannot contain metrics with the same labelset";

impl<'a> Ev<'a> {
    pub fn steps(&self) -> usize {
        if self.end < self.start {
            0
        } else if self.interval <= 0 {
            1
        } else {
            ((self.end - self.start) / self.interval + 1) as usize
        }
    }

    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.interval
    }

    pub fn at_ms(&self, at: &Option<AtModifier>) -> Option<i64> {
        at.as_ref().map(|a| match a {
            AtModifier::Start => self.qstart,
            AtModifier::End => self.qend,
            AtModifier::At(t) => match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            },
        })
    }

    /// The time a selector with `at`/`offset` reads at for outer step time `t`.
    pub fn ref_time(&self, at: &Option<AtModifier>, off: &Option<Offset>, t: i64) -> i64 {
        self.at_ms(at).unwrap_or(t) - offset_ms(off)
    }

    pub fn empty_steps(&self) -> Vec<Vec<Elem>> {
        (0..self.steps()).map(|_| Vec::new()).collect()
    }

    /// Evaluates `e`, accounting its samples like Prometheus' max-samples limit:
    /// the peak of samples held at once, with a node's inputs released once its
    /// output is complete.
    pub fn eval(&self, e: &Expr) -> Result<Val> {
        self.lim.check()?;
        let before = self.lim.samples.get();
        let v = self.eval_node(e)?;
        self.lim.settle(before, v.samples())?;
        Ok(v)
    }

    fn eval_node(&self, e: &Expr) -> Result<Val> {
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; self.steps()])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => match self.eval(&u.expr)? {
                Val::Scalar(mut v) => {
                    v.iter_mut().for_each(|x| *x = -*x);
                    Ok(Val::Scalar(v))
                }
                Val::Vector(mut steps) => {
                    for el in steps.iter_mut().flatten() {
                        el.v = -el.v;
                        el.drop_name = true;
                    }
                    Ok(Val::Vector(steps))
                }
                _ => Err(exec_err!(
                    "unary expression only allowed on scalars or vectors"
                )),
            },
            Expr::Binary(b) => binary::eval(self, b),
            Expr::Aggregate(a) => aggregate::eval(self, a),
            Expr::Call(c) => functions::eval_call(self, c),
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.vector_selector(vs, false)?)),
            Expr::MatrixSelector(ms) => {
                // Only reachable as a query's top-level value: a range vector at one instant.
                let vs = &ms.vs;
                let t = self.ref_time(&vs.at, &vs.offset, self.start);
                let range = dur_ms(&ms.range);
                let mut out = Vec::new();
                let mut total = 0usize;
                for s in self.src.select(&selector_matchers(vs)?)? {
                    let mut it = s.iter();
                    let mut samples = Vec::new();
                    let mut cur = it.seek(t - range + 1);
                    while let Some(smp) = cur {
                        if smp.t > t {
                            break;
                        }
                        if !sightline_model::is_stale_nan(smp.v) {
                            samples.push(smp);
                        }
                        cur = it.next();
                    }
                    total += samples.len();
                    self.lim.check_transient(total)?;
                    if !samples.is_empty() {
                        out.push(RSeries {
                            labels: Arc::new(s.labels().clone()),
                            samples,
                            drop_name: false,
                        });
                    }
                }
                Ok(Val::Matrix(out))
            }
            Expr::Subquery(sq) => {
                let t = self.ref_time(&sq.at, &sq.offset, self.start);
                let range = dur_ms(&sq.range);
                let mut series = self.subquery(sq)?;
                for s in &mut series {
                    s.samples.retain(|x| x.t > t - range && x.t <= t);
                }
                series.retain(|s| !s.samples.is_empty());
                Ok(Val::Matrix(series))
            }
            Expr::Extension(_) => Err(exec_err!("extension expressions are not supported")),
        }
    }

    /// Evaluates a vector selector at every step with lookback and staleness. With
    /// `sample_time`, values are the sample timestamps in seconds (for `timestamp()`).
    pub fn vector_selector(
        &self,
        vs: &VectorSelector,
        sample_time: bool,
    ) -> Result<Vec<Vec<Elem>>> {
        let matchers = selector_matchers(vs)?;
        let series = self.src.select(&matchers)?;
        let mut out = self.empty_steps();
        let n = self.steps();
        let mut added = 0usize;
        for s in series {
            self.lim.check()?;
            let labels = Arc::new(s.labels().clone());
            let mut cur = window::Cursor::new(s.iter());
            for (i, step) in out.iter_mut().enumerate().take(n) {
                let r = self.ref_time(&vs.at, &vs.offset, self.ts(i));
                if let Some(smp) = cur.at(r, self.lookback) {
                    let v = if sample_time {
                        smp.t as f64 / 1000.0
                    } else {
                        smp.v
                    };
                    step.push(Elem {
                        labels: labels.clone(),
                        v,
                        drop_name: false,
                    });
                    added += 1;
                }
            }
            self.lim.check_transient(added)?;
        }
        Ok(out)
    }

    /// Evaluates a subquery's inner expression over the steps it needs for this
    /// evaluator's range, returning its series.
    pub fn subquery(&self, sq: &SubqueryExpr) -> Result<Vec<RSeries>> {
        let step = sq
            .step
            .as_ref()
            .map(dur_ms)
            .unwrap_or(self.subquery_step)
            .max(1);
        let off = offset_ms(&sq.offset);
        let range = dur_ms(&sq.range);
        let (os, oe) = match self.at_ms(&sq.at) {
            Some(a) => (a, a),
            None => (self.start, self.end),
        };
        let lo = os - off - range;
        let mut new_start = step * (lo / step);
        if new_start <= lo {
            new_start += step;
        }
        let sub = Ev {
            start: new_start,
            end: oe - off,
            interval: step,
            ..*self
        };
        match sub.eval(&sq.expr)? {
            Val::Vector(steps) => sub.group_steps(steps),
            Val::Scalar(vals) => Ok(vec![RSeries {
                labels: Arc::new(Labels::empty()),
                samples: vals
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Sample::new(sub.ts(i), *v))
                    .collect(),
                drop_name: false,
            }]),
            _ => Err(exec_err!(
                "subquery is only allowed on instant vector or scalar"
            )),
        }
    }

    /// Turns per-step vectors into series (labels as carried, name not yet dropped),
    /// rejecting a labelset that appears twice in one step.
    pub fn group_steps(&self, steps: Vec<Vec<Elem>>) -> Result<Vec<RSeries>> {
        let mut index: HashMap<Arc<Labels>, usize> = HashMap::new();
        let mut out: Vec<RSeries> = Vec::new();
        let mut last_step: Vec<usize> = Vec::new();
        for (i, step) in steps.into_iter().enumerate() {
            let t = self.ts(i);
            for el in step {
                let idx = match index.get(&el.labels) {
                    Some(&idx) => {
                        if last_step[idx] == i {
                            return Err(exec_err!("{DUP_LABELSET}"));
                        }
                        idx
                    }
                    None => {
                        index.insert(el.labels.clone(), out.len());
                        out.push(RSeries {
                            labels: el.labels.clone(),
                            samples: Vec::new(),
                            drop_name: el.drop_name,
                        });
                        last_step.push(i);
                        out.len() - 1
                    }
                };
                last_step[idx] = i;
                out[idx].samples.push(Sample::new(t, el.v));
            }
        }
        Ok(out)
    }

    /// Scalar argument values per step (for function and aggregation parameters).
    pub fn scalar_arg(&self, e: &Expr) -> Result<Vec<f64>> {
        match self.eval(e)? {
            Val::Scalar(v) => Ok(v),
            Val::Vector(steps) => Ok(steps
                .into_iter()
                .map(|s| if s.len() == 1 { s[0].v } else { f64::NAN })
                .collect()),
            _ => Err(exec_err!("expected scalar argument")),
        }
    }

    pub fn vector_arg(&self, e: &Expr) -> Result<Vec<Vec<Elem>>> {
        match self.eval(e)? {
            Val::Vector(v) => Ok(v),
            Val::Scalar(_) => Err(exec_err!("expected instant vector argument, got scalar")),
            _ => Err(exec_err!("expected instant vector argument")),
        }
    }

    pub fn string_arg(&self, e: &Expr) -> Result<String> {
        match self.eval(e)? {
            Val::Str(s) => Ok(s),
            _ => Err(exec_err!("expected string argument")),
        }
    }
}
