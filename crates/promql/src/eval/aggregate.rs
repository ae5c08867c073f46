//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`,
//! `limitk`, `limit_ratio`...) with `by`/`without` grouping.

use super::{Elem, Ev, PtrMap, Result, Val};
use crate::error::exec_err;
use crate::eval::range_fns::{kahan_inc, quantile};
use crate::value::format_value;
use promql_parser::parser::token;
use promql_parser::parser::{AggregateExpr, LabelModifier};
use sightline_model::{Labels, METRIC_NAME};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Agg {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    TopK,
    BottomK,
    Quantile,
    CountValues,
    LimitK,
    LimitRatio,
}

fn agg_of(id: token::TokenId) -> Result<Agg> {
    Ok(match id {
        token::T_SUM => Agg::Sum,
        token::T_AVG => Agg::Avg,
        token::T_COUNT => Agg::Count,
        token::T_MIN => Agg::Min,
        token::T_MAX => Agg::Max,
        token::T_GROUP => Agg::Group,
        token::T_STDDEV => Agg::Stddev,
        token::T_STDVAR => Agg::Stdvar,
        token::T_TOPK => Agg::TopK,
        token::T_BOTTOMK => Agg::BottomK,
        token::T_QUANTILE => Agg::Quantile,
        token::T_COUNT_VALUES => Agg::CountValues,
        token::T_LIMITK => Agg::LimitK,
        token::T_LIMIT_RATIO => Agg::LimitRatio,
        _ => return Err(exec_err!("unsupported aggregation")),
    })
}

/// The group labels of an element under `by`/`without`.
fn group_labels(l: &Labels, m: &Option<LabelModifier>) -> Labels {
    match m {
        None => Labels::empty(),
        Some(LabelModifier::Include(ls)) => Labels::from_sorted_unchecked(
            l.iter()
                .filter(|x| ls.labels.contains(&x.name))
                .cloned()
                .collect(),
        ),
        Some(LabelModifier::Exclude(ls)) => Labels::from_sorted_unchecked(
            l.iter()
                .filter(|x| x.name != METRIC_NAME && !ls.labels.contains(&x.name))
                .cloned()
                .collect(),
        ),
    }
}

/// Converts a k parameter like Prometheus (int64 conversion with range checks).
fn k_param(v: f64) -> Result<i64> {
    if v.is_nan() {
        return Err(exec_err!("Parameter value is NaN"));
    }
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
        return Err(exec_err!(
            "Scalar value {} overflows int64",
            format_value(v)
        ));
    }
    Ok(v as i64)
}

struct Group {
    labels: Arc<Labels>,
    members: Vec<usize>,
}

pub(crate) fn eval(ev: &Ev, a: &AggregateExpr) -> Result<Val> {
    let agg = agg_of(a.op.id())?;
    let n = ev.steps();
    let mut sparam: Vec<f64> = Vec::new();
    let mut label_param = String::new();
    if let Some(p) = &a.param {
        if agg == Agg::CountValues {
            label_param = ev.string_arg(p)?;
            if !ev.lim.label_name_ok(&label_param) {
                return Err(exec_err!("invalid label name {:?}", label_param));
            }
        } else {
            sparam = ev.scalar_arg(p)?;
        }
    }
    let input = ev.vector_arg(&a.expr)?;
    let mut out = Vec::with_capacity(n);
    let mut grouper = Grouper::default();
    // `input` stays alive (borrowed) so the grouper's pointer keys stay valid.
    for (i, step) in input.iter().enumerate() {
        ev.lim.check()?;
        let p = sparam.get(i).copied().unwrap_or(f64::NAN);
        out.push(aggregate_step(
            ev,
            agg,
            a,
            step,
            p,
            &label_param,
            &mut grouper,
        )?);
    }
    Ok(Val::Vector(out))
}

/// Assigns elements to groups across all steps of one aggregation. Series keep
/// the same `Arc<Labels>` from step to step, so a group key is computed once per
/// series (keyed by the pointer) instead of once per element per step; `slot`
/// maps a group to its position in the current step and is reused.
#[derive(Default)]
struct Grouper {
    by_ptr: PtrMap<*const Labels, usize>,
    by_key: HashMap<Labels, usize>,
    keys: Vec<Arc<Labels>>,
    slot: Vec<usize>,
}

impl Grouper {
    fn group_of(&mut self, l: &Arc<Labels>, m: &Option<LabelModifier>) -> usize {
        if let Some(&g) = self.by_ptr.get(&Arc::as_ptr(l)) {
            return g;
        }
        let key = group_labels(l, m);
        let g = match self.by_key.get(&key) {
            Some(&g) => g,
            None => {
                let g = self.keys.len();
                self.by_key.insert(key.clone(), g);
                self.keys.push(Arc::new(key));
                self.slot.push(usize::MAX);
                g
            }
        };
        self.by_ptr.insert(Arc::as_ptr(l), g);
        g
    }
}

fn aggregate_step(
    ev: &Ev,
    agg: Agg,
    a: &AggregateExpr,
    step: &[Elem],
    p: f64,
    label_param: &str,
    grouper: &mut Grouper,
) -> Result<Vec<Elem>> {
    // Group the elements, in first-seen order.
    let mut groups: Vec<Group> = Vec::new();
    // Grouping sees the name even when it is due to be dropped (Prometheus 3's
    // delayed name removal partitions `by (__name__)` by the not-yet-removed name).
    if agg == Agg::CountValues {
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for (i, el) in step.iter().enumerate() {
            let mut b = group_labels(&el.labels, &a.modifier).to_builder();
            b.set(
                label_param.to_string(),
                crate::value::format_plain(step[i].v),
            );
            let g = b.build();
            match index.get(&g) {
                Some(&gi) => groups[gi].members.push(i),
                None => {
                    index.insert(g.clone(), groups.len());
                    groups.push(Group {
                        labels: Arc::new(g),
                        members: vec![i],
                    });
                }
            }
        }
    } else {
        for (i, el) in step.iter().enumerate() {
            let g = grouper.group_of(&el.labels, &a.modifier);
            match grouper.slot[g] {
                usize::MAX => {
                    grouper.slot[g] = groups.len();
                    groups.push(Group {
                        labels: grouper.keys[g].clone(),
                        members: vec![i],
                    });
                }
                gi => groups[gi].members.push(i),
            }
        }
        for g in &groups {
            // Every group of this step has a member; reset their slots.
            let gid = grouper.group_of(&step[g.members[0]].labels, &a.modifier);
            grouper.slot[gid] = usize::MAX;
        }
    }
    let mut out = Vec::new();
    match agg {
        Agg::TopK | Agg::BottomK => {
            let k = k_param(p)?;
            if k < 1 {
                return Ok(out);
            }
            for g in &groups {
                let mut m = g.members.clone();
                let top = agg == Agg::TopK;
                // Stable sort: ties keep input order, like Prometheus' strict heap replacement.
                m.sort_by(|&x, &y| {
                    let (a, b) = (step[x].v, step[y].v);
                    match (a.is_nan(), b.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if top => b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal),
                        _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
                    }
                });
                m.truncate(k.min(m.len() as i64) as usize);
                out.extend(m.into_iter().map(|i| step[i].clone()));
            }
            return Ok(out);
        }
        Agg::LimitK => {
            let k = k_param(p)?;
            if k < 1 {
                return Ok(out);
            }
            for g in &groups {
                out.extend(g.members.iter().take(k as usize).map(|&i| step[i].clone()));
            }
            return Ok(out);
        }
        Agg::LimitRatio => {
            if p.is_nan() {
                return Err(exec_err!("Ratio value is NaN"));
            }
            let mut r = p;
            if !(-1.0..=1.0).contains(&r) {
                ev.lim.warn(format!(
                    "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}{}",
                    format_value(r),
                    if r < 0.0 { -1 } else { 1 },
                    ev.lim.pos_of("limit_ratio")
                ));
                r = r.clamp(-1.0, 1.0);
            }
            for (i, el) in step.iter().enumerate() {
                let off = prom_hash(&el.labels) as f64 / u64::MAX as f64;
                let keep = (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r);
                if keep {
                    out.push(step[i].clone());
                }
            }
            return Ok(out);
        }
        _ => {}
    }
    if agg == Agg::Quantile && !(0.0..=1.0).contains(&p) {
        ev.lim.warn(format!(
            "PromQL warning: quantile value should be between 0 and 1, got {}{}",
            format_value(p),
            a.param
                .as_ref()
                .map(|x| ev.lim.pos_of(&x.to_string()))
                .unwrap_or_default()
        ));
    }
    for g in groups {
        let drop_name = g.members.iter().any(|&i| step[i].drop_name);
        let vals = g.members.iter().map(|&i| step[i].v);
        let v = match agg {
            Agg::Sum => {
                let (mut s, mut c) = (0.0, 0.0);
                for x in vals {
                    (s, c) = kahan_inc(x, s, c);
                }
                s + c
            }
            Agg::Avg => avg(vals),
            Agg::Count | Agg::CountValues => g.members.len() as f64,
            Agg::Group => 1.0,
            Agg::Min => vals.fold(f64::NAN, |m, x| if m.is_nan() || x < m { x } else { m }),
            Agg::Max => vals.fold(f64::NAN, |m, x| if m.is_nan() || x > m { x } else { m }),
            Agg::Stddev | Agg::Stdvar => {
                let (mut cnt, mut mean, mut acc) = (0.0, 0.0, 0.0);
                for x in vals {
                    cnt += 1.0;
                    let d = x - mean;
                    mean += d / cnt;
                    acc += d * (x - mean);
                }
                let var = acc / cnt;
                if agg == Agg::Stddev {
                    var.sqrt()
                } else {
                    var
                }
            }
            Agg::Quantile => {
                let mut v: Vec<f64> = vals.collect();
                quantile(p, &mut v)
            }
            _ => unreachable!("handled above"),
        };
        out.push(Elem {
            labels: g.labels,
            v,
            drop_name,
        });
    }
    Ok(out)
}

/// Mean with Kahan summation, switching to an incremental mean if the sum overflows
/// (Prometheus' `avg` and `avg_over_time`).
pub(crate) fn avg(mut vals: impl Iterator<Item = f64>) -> f64 {
    let Some(first) = vals.next() else {
        return f64::NAN;
    };
    let (mut sum, mut c, mut count) = (first, 0.0, 1.0);
    let mut mean = 0.0;
    let mut incremental = false;
    for x in vals {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(x, sum, c);
            if !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(x / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// Prometheus' `labels.Hash()`: XXH64 over `name 0xff value 0xff` for each label.
pub(crate) fn prom_hash(l: &Labels) -> u64 {
    let mut b = Vec::with_capacity(256);
    for x in l.iter() {
        b.extend_from_slice(x.name.as_bytes());
        b.push(0xff);
        b.extend_from_slice(x.value.as_bytes());
        b.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&b, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avg_matches_hand_computation_and_survives_overflow() {
        assert_eq!(avg([1.0, 2.0, 3.0, 4.0].into_iter()), 2.5);
        assert_eq!(avg([f64::MAX, f64::MAX].into_iter()), f64::MAX);
        assert!(avg(std::iter::empty()).is_nan());
    }

    #[test]
    fn k_param_rejects_nan() {
        assert_eq!(
            k_param(f64::NAN).unwrap_err().to_string(),
            "Parameter value is NaN"
        );
        assert_eq!(k_param(2.7).unwrap(), 2);
    }

    #[test]
    fn grouping_without_drops_name() {
        let l = Labels::from_pairs([("__name__", "x"), ("a", "1"), ("b", "2")]);
        let m = Some(LabelModifier::exclude(vec!["a"]));
        assert_eq!(group_labels(&l, &m), Labels::from_pairs([("b", "2")]));
        let m = Some(LabelModifier::include(vec!["a", "__name__"]));
        assert_eq!(
            group_labels(&l, &m),
            Labels::from_pairs([("__name__", "x"), ("a", "1")])
        );
    }
}
