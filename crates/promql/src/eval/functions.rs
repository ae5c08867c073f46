//! Function calls: dispatch to range functions, element-wise math, label
//! manipulation, sorting, `absent`, time functions and classic histograms.

use super::histogram::{bucket_fraction, bucket_quantile, Bucket};
use super::window::eval_windows;
use super::{effective_labels, unparen, Elem, Ev, Result, Val};
use crate::error::exec_err;
use crate::value::format_value;
use promql_parser::parser::{Call, Expr};
use sightline_model::{Labels, MatchOp, METRIC_NAME};
use std::collections::HashMap;
use std::sync::Arc;

const RANGE_FNS: &[&str] = &[
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "deriv",
    "predict_linear",
    "resets",
    "changes",
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "mad_over_time",
    "ts_of_last_over_time",
    "ts_of_first_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
    "double_exponential_smoothing",
    "holt_winters",
];

fn simple(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => |v: f64| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        },
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v: f64| v * 180.0 / std::f64::consts::PI,
        "rad" => |v: f64| v * std::f64::consts::PI / 180.0,
        _ => return None,
    })
}

fn map_vec(steps: Vec<Vec<Elem>>, mut f: impl FnMut(usize, f64) -> f64) -> Val {
    Val::Vector(
        steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.into_iter()
                    .map(|mut e| {
                        e.v = f(i, e.v);
                        e.drop_name = true;
                        e
                    })
                    .collect()
            })
            .collect(),
    )
}

fn arg(c: &Call, i: usize) -> Result<&Expr> {
    c.args
        .args
        .get(i)
        .map(|b| b.as_ref())
        .ok_or_else(|| exec_err!("missing argument {} to {}", i + 1, c.func.name))
}

fn scalar_or(ev: &Ev, c: &Call, i: usize, default: f64) -> Result<Vec<f64>> {
    match c.args.args.get(i) {
        Some(e) => ev.scalar_arg(e),
        None => Ok(vec![default; ev.steps()]),
    }
}

pub(crate) fn eval_call(ev: &Ev, c: &Call) -> Result<Val> {
    let name = c.func.name;
    if RANGE_FNS.contains(&name) {
        return range_call(ev, c);
    }
    if let Some(f) = simple(name) {
        return Ok(map_vec(ev.vector_arg(arg(c, 0)?)?, |_, v| f(v)));
    }
    let n = ev.steps();
    match name {
        "time" => Ok(Val::Scalar(
            (0..n).map(|i| ev.ts(i) as f64 / 1000.0).collect(),
        )),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
        "vector" => {
            let s = ev.scalar_arg(arg(c, 0)?)?;
            let l = Arc::new(Labels::empty());
            Ok(Val::Vector(
                s.into_iter()
                    .map(|v| {
                        vec![Elem {
                            labels: l.clone(),
                            v,
                            drop_name: false,
                        }]
                    })
                    .collect(),
            ))
        }
        "scalar" => Ok(Val::Scalar(
            ev.vector_arg(arg(c, 0)?)?
                .into_iter()
                .map(|s| if s.len() == 1 { s[0].v } else { f64::NAN })
                .collect(),
        )),
        "round" => {
            let to = scalar_or(ev, c, 1, 1.0)?;
            Ok(map_vec(ev.vector_arg(arg(c, 0)?)?, |i, v| {
                let inv = 1.0 / to[i];
                (v * inv + 0.5).floor() / inv
            }))
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let v = ev.vector_arg(arg(c, 0)?)?;
            let (lo, hi) = match name {
                "clamp" => (ev.scalar_arg(arg(c, 1)?)?, ev.scalar_arg(arg(c, 2)?)?),
                "clamp_min" => (ev.scalar_arg(arg(c, 1)?)?, vec![f64::NAN; n]),
                _ => (vec![f64::NAN; n], ev.scalar_arg(arg(c, 1)?)?),
            };
            let mut out = Vec::with_capacity(n);
            for (i, step) in v.into_iter().enumerate() {
                let (mn, mx) = (lo[i], hi[i]);
                if name == "clamp" && mx < mn {
                    out.push(Vec::new());
                    continue;
                }
                out.push(
                    step.into_iter()
                        .map(|mut e| {
                            e.v = match name {
                                "clamp" => go_max(mn, go_min(mx, e.v)),
                                "clamp_min" => go_max(mn, e.v),
                                _ => go_min(mx, e.v),
                            };
                            e.drop_name = true;
                            e
                        })
                        .collect(),
                );
            }
            Ok(Val::Vector(out))
        }
        "timestamp" => {
            let a = unparen(arg(c, 0)?);
            let steps = match a {
                Expr::VectorSelector(vs) => ev.vector_selector(vs, true)?,
                _ => {
                    let s = ev.vector_arg(a)?;
                    s.into_iter()
                        .enumerate()
                        .map(|(i, st)| {
                            st.into_iter()
                                .map(|mut e| {
                                    e.v = ev.ts(i) as f64 / 1000.0;
                                    e
                                })
                                .collect()
                        })
                        .collect()
                }
            };
            Ok(map_vec(steps, |_, v| v))
        }
        "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year" | "days_in_month"
        | "month" | "year" => {
            if c.args.args.is_empty() {
                let l = Arc::new(Labels::empty());
                return Ok(Val::Vector(
                    (0..n)
                        .map(|i| {
                            let v = super::timefns::apply(name, ev.ts(i) as f64 / 1000.0)
                                .unwrap_or(f64::NAN);
                            vec![Elem {
                                labels: l.clone(),
                                v,
                                drop_name: false,
                            }]
                        })
                        .collect(),
                ));
            }
            Ok(map_vec(ev.vector_arg(arg(c, 0)?)?, |_, v| {
                super::timefns::apply(name, v).unwrap_or(f64::NAN)
            }))
        }
        "absent" => {
            let v = ev.vector_arg(arg(c, 0)?)?;
            let l = Arc::new(absent_labels(arg(c, 0)?));
            Ok(Val::Vector(
                v.into_iter()
                    .map(|s| {
                        if s.is_empty() {
                            vec![Elem {
                                labels: l.clone(),
                                v: 1.0,
                                drop_name: false,
                            }]
                        } else {
                            Vec::new()
                        }
                    })
                    .collect(),
            ))
        }
        "absent_over_time" => {
            let v = eval_windows(ev, arg(c, 0)?, false, |_, s| {
                Ok((!s.is_empty()).then_some(1.0))
            })?;
            let l = Arc::new(absent_labels(arg(c, 0)?));
            Ok(Val::Vector(
                v.into_iter()
                    .map(|s| {
                        if s.is_empty() {
                            vec![Elem {
                                labels: l.clone(),
                                v: 1.0,
                                drop_name: false,
                            }]
                        } else {
                            Vec::new()
                        }
                    })
                    .collect(),
            ))
        }
        "label_replace" => label_replace(ev, c),
        "label_join" => label_join(ev, c),
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" if ev.lim.is_range => {
            ev.lim.warn(format!(
                "PromQL warning: sort is ineffective for range queries since results are always ordered by labels{}",
                ev.lim.pos_of(&format!("{name}("))
            ));
            Ok(Val::Vector(ev.vector_arg(arg(c, 0)?)?))
        }
        "step" => Ok(Val::Scalar(vec![ev.qstep as f64 / 1000.0; n])),
        "range" => Ok(Val::Scalar(vec![(ev.qend - ev.qstart) as f64 / 1000.0; n])),
        "start" => Ok(Val::Scalar(vec![ev.qstart as f64 / 1000.0; n])),
        "end" => Ok(Val::Scalar(vec![ev.qend as f64 / 1000.0; n])),
        "min_of" | "max_of" => {
            let a = ev.scalar_arg(arg(c, 0)?)?;
            let b = ev.scalar_arg(arg(c, 1)?)?;
            let f = if name == "min_of" { go_min } else { go_max };
            Ok(Val::Scalar(
                a.iter().zip(b.iter()).map(|(x, y)| f(*x, *y)).collect(),
            ))
        }
        "sort" | "sort_desc" => {
            let desc = name == "sort_desc";
            let mut v = ev.vector_arg(arg(c, 0)?)?;
            for s in &mut v {
                s.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if desc => b.v.partial_cmp(&a.v).unwrap_or(std::cmp::Ordering::Equal),
                    _ => a.v.partial_cmp(&b.v).unwrap_or(std::cmp::Ordering::Equal),
                });
            }
            Ok(Val::Vector(v))
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let desc = name == "sort_by_label_desc";
            let mut names = Vec::new();
            for a in c.args.args.iter().skip(1) {
                names.push(ev.string_arg(a)?);
            }
            let mut v = ev.vector_arg(arg(c, 0)?)?;
            for s in &mut v {
                s.sort_by(|a, b| {
                    let (la, lb) = (effective_labels(a), effective_labels(b));
                    let mut o = std::cmp::Ordering::Equal;
                    for n in &names {
                        o = natural_cmp(la.get(n).unwrap_or(""), lb.get(n).unwrap_or(""));
                        if o != std::cmp::Ordering::Equal {
                            break;
                        }
                    }
                    if o == std::cmp::Ordering::Equal {
                        o = la.cmp(&lb);
                    }
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
            }
            Ok(Val::Vector(v))
        }
        "histogram_quantile" => histogram_quantile(ev, c),
        "histogram_quantiles" => histogram_quantiles(ev, c),
        "histogram_fraction" => histogram_fraction(ev, c),
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            // Native histograms are not supported yet: float samples are ignored.
            ev.vector_arg(arg(c, 0)?)?;
            Ok(Val::Vector(ev.empty_steps()))
        }
        _ => Err(exec_err!("function {name} is not supported")),
    }
}

/// Go's `math.Max`: NaN wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Compares strings with runs of digits compared numerically.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut ai, mut bi) = (a.char_indices().peekable(), b.char_indices().peekable());
    loop {
        match (ai.peek().copied(), bi.peek().copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some((_, ca)), Some((_, cb))) if ca.is_ascii_digit() && cb.is_ascii_digit() => {
                let mut na = String::new();
                while let Some(&(_, c)) = ai.peek() {
                    if !c.is_ascii_digit() {
                        break;
                    }
                    na.push(c);
                    ai.next();
                }
                let mut nb = String::new();
                while let Some(&(_, c)) = bi.peek() {
                    if !c.is_ascii_digit() {
                        break;
                    }
                    nb.push(c);
                    bi.next();
                }
                let ta = na.trim_start_matches('0');
                let tb = nb.trim_start_matches('0');
                let o = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            (Some((_, ca)), Some((_, cb))) => {
                if ca != cb {
                    return ca.cmp(&cb);
                }
                ai.next();
                bi.next();
            }
        }
    }
}

/// The labels `absent()` reports: equality matchers of the selector, except names
/// matched more than once.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match unparen(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let Ok(ms) = super::selector_matchers(vs) else {
        return Labels::empty();
    };
    let mut b = Labels::empty().to_builder();
    let mut has: Vec<&str> = Vec::new();
    for m in &ms {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !has.contains(&m.name.as_str()) {
            b.set(m.name.clone(), m.value.clone());
            has.push(&m.name);
        } else {
            b.del(&m.name);
        }
    }
    b.build()
}

fn range_call(ev: &Ev, c: &Call) -> Result<Val> {
    let name = c.func.name;
    let (mat_idx, p1, p2) = match name {
        "quantile_over_time" => (1, ev.scalar_arg(arg(c, 0)?)?, Vec::new()),
        "predict_linear" => (0, ev.scalar_arg(arg(c, 1)?)?, Vec::new()),
        "double_exponential_smoothing" | "holt_winters" => {
            (0, ev.scalar_arg(arg(c, 1)?)?, ev.scalar_arg(arg(c, 2)?)?)
        }
        _ => (0, Vec::new(), Vec::new()),
    };
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    if name == "quantile_over_time" {
        if let Some(&q) = p1.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            ev.lim.warn(format!(
                "PromQL warning: quantile value should be between 0 and 1, got {}{}",
                format_value(q),
                ev.lim.pos_of(&arg(c, 0)?.to_string())
            ));
        }
    }
    let counter_check = matches!(name, "rate" | "increase" | "irate");
    let lim = ev.lim;
    // The counter-name check runs once per series, not at every step.
    let mut checked: *const Labels = std::ptr::null();
    let out = eval_windows(ev, arg(c, mat_idx)?, keep_name, |ctx, s| {
        if counter_check && !s.is_empty() && !std::ptr::eq(checked, ctx.labels) {
            checked = ctx.labels;
            if let Some(n) = ctx.labels.metric_name() {
                if !["_total", "_sum", "_count", "_bucket"]
                    .iter()
                    .any(|x| n.ends_with(x))
                {
                    lim.info(format!(
                        "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {n:?}"
                    ));
                }
            }
        }
        let a = p1.get(ctx.step).copied().unwrap_or(0.0);
        let b = p2.get(ctx.step).copied().unwrap_or(0.0);
        super::range_fns::apply(name, ctx, s, a, b)
    })?;
    Ok(Val::Vector(out))
}

fn anchored(re: &str) -> Result<regex::Regex> {
    regex::Regex::new(&format!("^(?s:{re})$"))
        .map_err(|e| exec_err!("invalid regular expression in label_replace(): {re}: {e}"))
}

fn label_replace(ev: &Ev, c: &Call) -> Result<Val> {
    let v = ev.vector_arg(arg(c, 0)?)?;
    let dst = ev.string_arg(arg(c, 1)?)?;
    let repl = ev.string_arg(arg(c, 2)?)?;
    let src = ev.string_arg(arg(c, 3)?)?;
    let re = anchored(&ev.string_arg(arg(c, 4)?)?)?;
    if !ev.lim.label_name_ok(&dst) {
        return Err(exec_err!(
            "invalid destination label name in label_replace(): {dst}"
        ));
    }
    let mut cache: HashMap<Arc<Labels>, Arc<Labels>> = HashMap::new();
    let out = v
        .into_iter()
        .map(|s| {
            s.into_iter()
                .map(|mut e| {
                    let nl = cache
                        .entry(e.labels.clone())
                        .or_insert_with(|| {
                            let sv = e.labels.get(&src).unwrap_or("");
                            match re.captures(sv) {
                                Some(caps) => {
                                    let mut res = String::new();
                                    caps.expand(&repl, &mut res);
                                    let mut b = e.labels.to_builder();
                                    b.set(dst.clone(), res);
                                    Arc::new(b.build())
                                }
                                None => e.labels.clone(),
                            }
                        })
                        .clone();
                    if dst == METRIC_NAME && !Arc::ptr_eq(&nl, &e.labels) {
                        e.drop_name = false;
                    }
                    e.labels = nl;
                    e
                })
                .collect()
        })
        .collect();
    Ok(Val::Vector(out))
}

fn label_join(ev: &Ev, c: &Call) -> Result<Val> {
    let v = ev.vector_arg(arg(c, 0)?)?;
    let dst = ev.string_arg(arg(c, 1)?)?;
    let sep = ev.string_arg(arg(c, 2)?)?;
    let mut srcs = Vec::new();
    for a in c.args.args.iter().skip(3) {
        srcs.push(ev.string_arg(a)?);
    }
    if !ev.lim.label_name_ok(&dst) {
        return Err(exec_err!(
            "invalid destination label name in label_join(): {dst}"
        ));
    }
    let out = v
        .into_iter()
        .map(|s| {
            s.into_iter()
                .map(|mut e| {
                    let joined: Vec<&str> =
                        srcs.iter().map(|n| e.labels.get(n).unwrap_or("")).collect();
                    let mut b = e.labels.to_builder();
                    b.set(dst.clone(), joined.join(&sep));
                    e.labels = Arc::new(b.build());
                    if dst == METRIC_NAME {
                        e.drop_name = false;
                    }
                    e
                })
                .collect()
        })
        .collect();
    Ok(Val::Vector(out))
}

/// Groups bucket series by their labels without `le` (and without the name).
fn bucket_groups(ev: &Ev, step: &[Elem], pos: &str) -> Vec<(Labels, Vec<Bucket>)> {
    let mut idx: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<(Labels, Vec<Bucket>)> = Vec::new();
    for e in step {
        let Some(le) = e.labels.get("le") else {
            ev.lim.warn(format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"\" for metric name {:?}{pos}",
                e.labels.metric_name().unwrap_or("")
            ));
            continue;
        };
        let upper = match parse_le(le) {
            Some(u) => u,
            None => {
                ev.lim.warn(format!(
                    "PromQL warning: bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}{pos}",
                    le,
                    e.labels.metric_name().unwrap_or("")
                ));
                continue;
            }
        };
        // Grouped with the name: two histograms that differ only by name end up
        // with the same labelset once the name is dropped, which is an error.
        let key = {
            let mut b = e.labels.to_builder();
            b.del("le");
            b.build()
        };
        let gi = *idx.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[gi].1.push(Bucket { upper, count: e.v });
    }
    groups
}

/// Prometheus' warning for a quantile outside `[0, 1]`; `pos` is ` (line:col)`.
fn quantile_warning(q: f64, pos: &str) -> String {
    format!(
        "PromQL warning: quantile value should be between 0 and 1, got {}{pos}",
        format_value(q)
    )
}

/// Prometheus' info for buckets whose counts had to be made monotonic.
fn monotonicity_info(group: &Labels, pos: &str) -> String {
    format!(
        "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}{pos}",
        group.metric_name().unwrap_or("")
    )
}

fn parse_le(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "+inf" | "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.parse::<f64>().ok(),
    }
}

fn histogram_quantile(ev: &Ev, c: &Call) -> Result<Val> {
    let q = ev.scalar_arg(arg(c, 0)?)?;
    let v = ev.vector_arg(arg(c, 1)?)?;
    let pos = ev.lim.pos_of(&arg(c, 1)?.to_string());
    let qpos = ev.lim.pos_of(&arg(c, 0)?.to_string());
    let mut out = Vec::with_capacity(v.len());
    for (i, step) in v.into_iter().enumerate() {
        let qi = q[i];
        if !(0.0..=1.0).contains(&qi) {
            // Prometheus warns at every step, whether or not there is input.
            ev.lim.warn(quantile_warning(qi, &qpos));
        }
        let mut res = Vec::new();
        for (labels, buckets) in bucket_groups(ev, &step, &pos) {
            let (val, forced) = bucket_quantile(qi, buckets);
            if forced {
                ev.lim.info(monotonicity_info(&labels, &pos));
            }
            res.push(Elem {
                labels: Arc::new(labels),
                v: val,
                drop_name: true,
            });
        }
        out.push(res);
    }
    Ok(Val::Vector(out))
}

/// `histogram_quantiles(v, "label", q1, q2, ...)`: one output series per quantile,
/// told apart by `label` set to the quantile (always written with a decimal point).
fn histogram_quantiles(ev: &Ev, c: &Call) -> Result<Val> {
    let v = ev.vector_arg(arg(c, 0)?)?;
    let label = ev.string_arg(arg(c, 1)?)?;
    let pos = ev.lim.pos_of(&arg(c, 0)?.to_string());
    let mut qs = Vec::new();
    for a in c.args.args.iter().skip(2) {
        qs.push((ev.scalar_arg(a)?, ev.lim.pos_of(&a.to_string())));
    }
    let mut out = Vec::with_capacity(v.len());
    for (i, step) in v.into_iter().enumerate() {
        let groups = bucket_groups(ev, &step, &pos);
        let mut res = Vec::new();
        let mut forced_any = false;
        for (q, qpos) in &qs {
            let qi = q[i];
            if !(0.0..=1.0).contains(&qi) {
                ev.lim.warn(quantile_warning(qi, qpos));
            }
            let mut qv = crate::value::format_plain(qi);
            if qi.is_finite() && !qv.contains('.') {
                qv.push_str(".0");
            }
            for (labels, buckets) in &groups {
                let (val, forced) = bucket_quantile(qi, buckets.clone());
                if forced && !forced_any {
                    forced_any = true;
                    ev.lim.info(monotonicity_info(labels, &pos));
                }
                let mut b = labels.to_builder();
                b.set(label.clone(), qv.clone());
                res.push(Elem {
                    labels: Arc::new(b.build()),
                    v: val,
                    drop_name: true,
                });
            }
        }
        out.push(res);
    }
    Ok(Val::Vector(out))
}

fn histogram_fraction(ev: &Ev, c: &Call) -> Result<Val> {
    let lo = ev.scalar_arg(arg(c, 0)?)?;
    let hi = ev.scalar_arg(arg(c, 1)?)?;
    let v = ev.vector_arg(arg(c, 2)?)?;
    let pos = ev.lim.pos_of(&arg(c, 2)?.to_string());
    let mut out = Vec::with_capacity(v.len());
    for (i, step) in v.into_iter().enumerate() {
        let res = bucket_groups(ev, &step, &pos)
            .into_iter()
            .map(|(labels, b)| Elem {
                labels: Arc::new(labels),
                v: bucket_fraction(lo[i], hi[i], b),
                drop_name: true,
            })
            .collect();
        out.push(res);
    }
    Ok(Val::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), std::cmp::Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), std::cmp::Ordering::Greater);
        assert_eq!(natural_cmp("x", "x"), std::cmp::Ordering::Equal);
    }

    #[test]
    fn simple_math() {
        assert_eq!(simple("sgn").unwrap()(-3.0), -1.0);
        assert_eq!(simple("deg").unwrap()(std::f64::consts::PI), 180.0);
        assert!(go_max(1.0, f64::NAN).is_nan());
    }
}
