//! The query engine: options, limits, and the instant/range query entry points.

use crate::error::QueryError;
use crate::eval::{
    dur_ms, effective_labels, offset_ms, Elem, Ev, Limits, PtrMap, Val, DUP_LABELSET,
};
use crate::parse::{parse, Parsed};
use crate::storage::Queryable;
use crate::value::Value;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{AtModifier, Expr};
use sightline_model::{Labels, Sample};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback_delta: Duration,
    /// Per-query time limit.
    pub timeout: Duration,
    /// Most samples a query may hold in memory at once.
    pub max_samples: usize,
    /// Step of subqueries written without one (`x[5m:]`); Prometheus uses the
    /// global evaluation interval, 1m by default.
    pub default_subquery_step: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: Duration::from_secs(300),
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

/// A handle that cancels the queries it was passed to.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that has not fired.
    pub fn new() -> Self {
        Self::default()
    }
    /// Cancels every query holding this token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// True once [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A query's value with the annotations raised while computing it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// The value.
    pub value: Value,
    /// `PromQL warning: ...` annotations.
    pub warnings: Vec<String>,
    /// `PromQL info: ...` annotations.
    pub infos: Vec<String>,
}

/// Evaluates PromQL against any [`Queryable`].
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

/// Widest time range any selector in `e` may read, for opening the querier.
fn bounds(e: &Expr, start: i64, end: i64, lookback: i64) -> (i64, i64) {
    let mut lo = start;
    let mut hi = end;
    let mut back = lookback;
    let mut fwd = 0i64;
    fn walk(e: &Expr, lo: &mut i64, hi: &mut i64, back: &mut i64, fwd: &mut i64) {
        let mut at = |a: &Option<AtModifier>| {
            if let Some(AtModifier::At(t)) = a {
                let ms = match t.duration_since(std::time::UNIX_EPOCH) {
                    Ok(d) => d.as_millis() as i64,
                    Err(e) => -(e.duration().as_millis() as i64),
                };
                *lo = (*lo).min(ms);
                *hi = (*hi).max(ms);
            }
        };
        match e {
            Expr::VectorSelector(vs) => {
                at(&vs.at);
                let o = offset_ms(&vs.offset);
                *back += o.max(0);
                *fwd += (-o).max(0);
            }
            Expr::MatrixSelector(ms) => {
                at(&ms.vs.at);
                let o = offset_ms(&ms.vs.offset);
                *back += o.max(0) + dur_ms(&ms.range);
                *fwd += (-o).max(0);
            }
            Expr::Subquery(sq) => {
                at(&sq.at);
                let o = offset_ms(&sq.offset);
                *back += o.max(0) + dur_ms(&sq.range);
                *fwd += (-o).max(0);
                walk(&sq.expr, lo, hi, back, fwd);
            }
            Expr::Aggregate(a) => {
                walk(&a.expr, lo, hi, back, fwd);
                if let Some(p) = &a.param {
                    walk(p, lo, hi, back, fwd);
                }
            }
            Expr::Unary(u) => walk(&u.expr, lo, hi, back, fwd),
            Expr::Binary(b) => {
                walk(&b.lhs, lo, hi, back, fwd);
                walk(&b.rhs, lo, hi, back, fwd);
            }
            Expr::Paren(p) => walk(&p.expr, lo, hi, back, fwd),
            Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, lo, hi, back, fwd)),
            _ => {}
        }
    }
    walk(e, &mut lo, &mut hi, &mut back, &mut fwd);
    (lo.saturating_sub(back), hi.saturating_add(fwd))
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}

impl Engine {
    /// An engine with the given options.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `q` at `ts` (ms).
    pub fn instant(&self, db: &dyn Queryable, q: &str, ts: i64) -> Result<Value, QueryError> {
        self.instant_with(db, q, ts, None).map(|r| r.value)
    }

    /// Evaluates `q` at `ts` (ms) with annotations and an optional cancel token.
    pub fn instant_with(
        &self,
        db: &dyn Queryable,
        q: &str,
        ts: i64,
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult, QueryError> {
        let p = parse(q)?;
        self.run(db, q, &p, (ts, ts, 0), cancel)
    }

    /// Evaluates `q` from `start` to `end` every `step` (all ms).
    pub fn range(
        &self,
        db: &dyn Queryable,
        q: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, QueryError> {
        self.range_with(db, q, start, end, step, None)
            .map(|r| r.value)
    }

    /// Range query with annotations and an optional cancel token.
    pub fn range_with(
        &self,
        db: &dyn Queryable,
        q: &str,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult, QueryError> {
        if step <= 0 {
            return Err(QueryError::Parse(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end < start {
            return Err(QueryError::Parse(
                "end timestamp must not be before start time".into(),
            ));
        }
        let p = parse(q)?;
        let t = p.expr.value_type();
        if t != ValueType::Vector && t != ValueType::Scalar {
            return Err(QueryError::Parse(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                type_name(t)
            )));
        }
        self.run(db, q, &p, (start, end, step), cancel)
    }

    fn run(
        &self,
        db: &dyn Queryable,
        query: &str,
        parsed: &Parsed,
        (start, end, step): (i64, i64, i64),
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult, QueryError> {
        let e = &parsed.expr;
        let lookback = self.opts.lookback_delta.as_millis() as i64;
        let (mint, maxt) = bounds(e, start, end, lookback);
        let src = db.querier(mint, maxt)?;
        let lim = Limits {
            deadline: Instant::now().checked_add(self.opts.timeout),
            cancel: cancel.map(|c| c.0.clone()),
            max_samples: self.opts.max_samples,
            samples: Default::default(),
            warnings: Default::default(),
            infos: Default::default(),
            query: query.to_string(),
            invalid_utf8: parsed.invalid_utf8.clone(),
            is_range: step != 0,
        };
        let ev = Ev {
            src: &*src,
            lim: &lim,
            start,
            end,
            interval: step,
            qstart: start,
            qend: end,
            qstep: step,
            lookback,
            subquery_step: self.opts.default_subquery_step.as_millis().max(1) as i64,
        };
        let val = ev.eval(e)?;
        let value = if step == 0 {
            match val {
                Val::Scalar(v) => Value::Scalar {
                    t: start,
                    v: v.first().copied().unwrap_or(f64::NAN),
                },
                Val::Str(s) => Value::String { t: start, v: s },
                Val::Vector(mut steps) => {
                    Value::Vector(finish_vector(steps.pop().unwrap_or_default(), start)?)
                }
                Val::Matrix(series) => {
                    let mut out: Vec<(Labels, Vec<Sample>)> = Vec::with_capacity(series.len());
                    for s in series {
                        let l = if s.drop_name {
                            crate::eval::without_name(&s.labels)
                        } else {
                            (*s.labels).clone()
                        };
                        out.push((l, s.samples));
                    }
                    check_unique(out.iter().map(|x| &x.0))?;
                    Value::Matrix(out)
                }
            }
        } else {
            match val {
                Val::Scalar(v) => Value::Matrix(vec![(
                    Labels::empty(),
                    v.iter()
                        .enumerate()
                        .map(|(i, x)| Sample::new(ev.ts(i), *x))
                        .collect(),
                )]),
                Val::Vector(steps) => Value::Matrix(finish_matrix(&ev, steps)?),
                _ => {
                    return Err(QueryError::Execution(
                        "invalid expression type for range query".into(),
                    ))
                }
            }
        };
        Ok(QueryResult {
            value,
            warnings: lim.warnings.into_inner(),
            infos: lim.infos.into_inner(),
        })
    }
}

fn check_unique<'a>(labels: impl Iterator<Item = &'a Labels>) -> Result<(), QueryError> {
    let mut seen = std::collections::HashSet::new();
    for l in labels {
        if !seen.insert(l) {
            return Err(QueryError::Execution(DUP_LABELSET.into()));
        }
    }
    Ok(())
}

fn finish_vector(step: Vec<Elem>, t: i64) -> Result<Vec<(Labels, i64, f64)>, QueryError> {
    let out: Vec<(Labels, i64, f64)> = step.iter().map(|e| (effective_labels(e), t, e.v)).collect();
    check_unique(out.iter().map(|x| &x.0))?;
    Ok(out)
}

fn finish_matrix(ev: &Ev, steps: Vec<Vec<Elem>>) -> Result<Vec<(Labels, Vec<Sample>)>, QueryError> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    // Elements of one series share their `Arc<Labels>` across steps: resolve
    // the output series once per (labels, drop_name), not once per point.
    let mut by_ptr: PtrMap<(*const Labels, bool), usize> = PtrMap::default();
    let mut out: Vec<(Labels, Vec<Sample>)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let t = ev.ts(i);
        for e in step {
            let pk = (Arc::as_ptr(&e.labels), e.drop_name);
            let idx = match by_ptr.get(&pk) {
                Some(&x) => x,
                None => {
                    let l = effective_labels(e);
                    let x = match index.get(&l) {
                        Some(&x) => x,
                        None => {
                            index.insert(l.clone(), out.len());
                            out.push((l, Vec::new()));
                            out.len() - 1
                        }
                    };
                    by_ptr.insert(pk, x);
                    x
                }
            };
            let samples = &mut out[idx].1;
            if samples.last().is_some_and(|s| s.t == t) {
                return Err(QueryError::Execution(DUP_LABELSET.into()));
            }
            samples.push(Sample::new(t, e.v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemStorage;

    fn db() -> MemStorage {
        let mut m = MemStorage::new();
        for (job, k) in [("a", 1.0), ("b", 2.0)] {
            let l = Labels::from_pairs([("__name__", "req_total"), ("job", job)]);
            m.add(
                l,
                (0..=10).map(|i| Sample::new(i * 60_000, k * i as f64 * 60.0)),
            );
        }
        m
    }

    fn vector(v: Value) -> Vec<(String, f64)> {
        match v {
            Value::Vector(v) => {
                let mut o: Vec<(String, f64)> =
                    v.into_iter().map(|(l, _, x)| (l.to_string(), x)).collect();
                o.sort_by(|a, b| a.0.cmp(&b.0));
                o
            }
            other => panic!("not a vector: {other:?}"),
        }
    }

    #[test]
    fn selectors_operators_aggregations_by_hand() {
        let e = Engine::default();
        let d = db();
        // Values at 5m: a = 300, b = 600.
        assert_eq!(
            vector(e.instant(&d, "sum(req_total)", 300_000).unwrap()),
            vec![("{}".into(), 900.0)]
        );
        assert_eq!(
            vector(e.instant(&d, "req_total > 400", 300_000).unwrap()),
            vec![("req_total{job=\"b\"}".into(), 600.0)]
        );
        assert_eq!(
            vector(
                e.instant(&d, "req_total / on(job) req_total", 300_000)
                    .unwrap()
            ),
            vec![("{job=\"a\"}".into(), 1.0), ("{job=\"b\"}".into(), 1.0)]
        );
        // Counter growing 1/s (a) and 2/s (b).
        assert_eq!(
            vector(e.instant(&d, "rate(req_total[5m])", 600_000).unwrap()),
            vec![("{job=\"a\"}".into(), 1.0), ("{job=\"b\"}".into(), 2.0)]
        );
        // Lookback: 5m after the last sample the series is gone.
        assert_eq!(vector(e.instant(&d, "req_total", 900_000).unwrap()), vec![]);
        assert_eq!(
            e.instant(&d, "scalar(sum(req_total)) * 2", 60_000).unwrap(),
            Value::Scalar {
                t: 60_000,
                v: 360.0
            }
        );
    }

    #[test]
    fn range_query_and_timestamp_steps() {
        let e = Engine::default();
        let d = db();
        let v = e
            .range(&d, "timestamp(req_total{job=\"a\"})", 0, 61_000, 1_000)
            .unwrap();
        let Value::Matrix(m) = v else {
            panic!("not a matrix")
        };
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].1.len(), 62);
        assert_eq!(m[0].1[59].v, 0.0);
        assert_eq!(m[0].1[60].v, 60.0);
    }

    /// The limit applies to the peak of samples held at once: a node's output
    /// counts together with its inputs, and the inputs are released afterwards.
    #[test]
    fn max_samples_is_a_peak_with_release() {
        let d = db();
        let run = |max: usize, q: &str| {
            Engine::new(EngineOptions {
                max_samples: max,
                ..Default::default()
            })
            .range(&d, q, 0, 600_000, 60_000)
        };
        // 2 series × 11 steps.
        assert!(run(22, "req_total").is_ok());
        assert_eq!(
            run(21, "req_total").unwrap_err(),
            QueryError::TooManySamples
        );
        // Selector (22) and its sum (11) are held together at the peak.
        assert!(run(33, "sum(req_total)").is_ok());
        assert!(run(32, "sum(req_total)").is_err());
        // Left side settles at 11 before the right side peaks at 33: 44, not
        // 22 + 11 + 22 + 11 + 11 as a never-released count would have it.
        let q = "sum(req_total) + sum(req_total)";
        assert!(run(44, q).is_ok());
        let err = run(43, q).unwrap_err();
        assert_eq!(
            err.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
        // Windows of a range function count while they are read: 2 series with
        // 6 points per 5m window at the last step, plus the outputs so far.
        assert!(run(1_000, "rate(req_total[5m])").is_ok());
        assert!(run(5, "rate(req_total[5m])").is_err());
    }

    #[test]
    fn errors_are_typed() {
        let e = Engine::new(EngineOptions {
            max_samples: 3,
            ..Default::default()
        });
        let d = db();
        let err = e.range(&d, "req_total", 0, 600_000, 60_000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
        assert_eq!(
            Engine::default().instant(&d, "sum(", 0).unwrap_err().kind(),
            crate::ErrorKind::BadData
        );
        let tok = CancelToken::new();
        tok.cancel();
        let err = Engine::default()
            .instant_with(&d, "req_total", 0, Some(&tok))
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Canceled);
    }
}
