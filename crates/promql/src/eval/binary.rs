//! Binary operators: arithmetic, comparisons (filtering or `bool`), `atan2`, set
//! operators and vector matching (`on`/`ignoring`, `group_left`/`group_right`).

use super::{Elem, Ev, Result, Val};
use crate::error::exec_err;
use promql_parser::parser::token::{self, TokenType};
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};
use sightline_model::{Label, Labels, LabelsBuilder, METRIC_NAME};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn from_token(t: TokenType) -> Result<Op> {
        Ok(match t.id() {
            token::T_ADD => Op::Add,
            token::T_SUB => Op::Sub,
            token::T_MUL => Op::Mul,
            token::T_DIV => Op::Div,
            token::T_MOD => Op::Mod,
            token::T_POW => Op::Pow,
            token::T_ATAN2 => Op::Atan2,
            token::T_EQLC => Op::Eq,
            token::T_NEQ => Op::Ne,
            token::T_GTR => Op::Gt,
            token::T_LSS => Op::Lt,
            token::T_GTE => Op::Ge,
            token::T_LTE => Op::Le,
            token::T_LAND => Op::And,
            token::T_LOR => Op::Or,
            token::T_LUNLESS => Op::Unless,
            _ => return Err(exec_err!("unsupported binary operator {t}")),
        })
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }
}

/// Applies `op` to two floats: the value and whether a comparison holds.
pub(crate) fn apply(op: Op, l: f64, r: f64) -> (f64, bool) {
    match op {
        Op::Add => (l + r, true),
        Op::Sub => (l - r, true),
        Op::Mul => (l * r, true),
        Op::Div => (l / r, true),
        Op::Mod => (l % r, true),
        Op::Pow => (l.powf(r), true),
        Op::Atan2 => (l.atan2(r), true),
        Op::Eq => (l, l == r),
        Op::Ne => (l, l != r),
        Op::Gt => (l, l > r),
        Op::Lt => (l, l < r),
        Op::Ge => (l, l >= r),
        Op::Le => (l, l <= r),
        Op::And | Op::Or | Op::Unless => (l, true),
    }
}

pub(crate) fn eval(ev: &Ev, b: &BinaryExpr) -> Result<Val> {
    let op = Op::from_token(b.op)?;
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let lhs = ev.eval(&b.lhs)?;
    let rhs = ev.eval(&b.rhs)?;
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
            l.iter()
                .zip(r.iter())
                .map(|(&a, &b)| {
                    let (v, keep) = apply(op, a, b);
                    if op.is_comparison() {
                        if keep {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Val::Vector(l), Val::Scalar(r)) => {
            Ok(Val::Vector(vector_scalar(op, l, &r, false, return_bool)))
        }
        (Val::Scalar(l), Val::Vector(r)) => {
            Ok(Val::Vector(vector_scalar(op, r, &l, true, return_bool)))
        }
        (Val::Vector(l), Val::Vector(r)) => {
            let default_mod;
            let m = match &b.modifier {
                Some(m) => m,
                None => {
                    default_mod = BinModifier::default();
                    &default_mod
                }
            };
            let mut out = Vec::with_capacity(l.len());
            for (ls, rs) in l.into_iter().zip(r) {
                ev.lim.check()?;
                out.push(vector_vector(op, ls, rs, m, return_bool)?);
            }
            Ok(Val::Vector(out))
        }
        _ => Err(exec_err!("binary operator on unsupported operand types")),
    }
}

fn vector_scalar(
    op: Op,
    vecs: Vec<Vec<Elem>>,
    s: &[f64],
    swap: bool,
    return_bool: bool,
) -> Vec<Vec<Elem>> {
    vecs.into_iter()
        .zip(s.iter())
        .map(|(step, &sv)| {
            step.into_iter()
                .filter_map(|mut el| {
                    let (l, r) = if swap { (sv, el.v) } else { (el.v, sv) };
                    let (mut v, keep) = apply(op, l, r);
                    if op.is_comparison() && swap {
                        v = r;
                    }
                    if return_bool {
                        v = if keep { 1.0 } else { 0.0 };
                    } else if !keep {
                        return None;
                    }
                    el.v = v;
                    if !op.is_comparison() || return_bool {
                        el.drop_name = true;
                    }
                    Some(el)
                })
                .collect()
        })
        .collect()
}

/// The matching key of a series: the `on` labels, or all but the `ignoring` labels
/// and `__name__`.
fn signature(l: &Labels, on: bool, names: &[String]) -> Vec<Label> {
    if on {
        l.iter()
            .filter(|x| names.contains(&x.name))
            .cloned()
            .collect()
    } else {
        l.iter()
            .filter(|x| x.name != METRIC_NAME && !names.contains(&x.name))
            .cloned()
            .collect()
    }
}

/// Formats labels like Go's `labels.Labels.String()`: `{a="b", c="d"}`, name included.
pub(crate) fn go_labels(l: &[Label]) -> String {
    let parts: Vec<String> = l
        .iter()
        .map(|x| format!("{}={:?}", x.name, x.value))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn vector_vector(
    op: Op,
    lhs: Vec<Elem>,
    rhs: Vec<Elem>,
    m: &BinModifier,
    return_bool: bool,
) -> Result<Vec<Elem>> {
    let (on, names): (bool, Vec<String>) = match &m.matching {
        Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
        Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
        None => (false, Vec::new()),
    };
    if op.is_set() {
        return Ok(set_op(op, lhs, rhs, on, &names));
    }
    let (card, include): (u8, Vec<String>) = match &m.card {
        VectorMatchCardinality::ManyToOne(l) => (1, l.labels.clone()),
        VectorMatchCardinality::OneToMany(l) => (2, l.labels.clone()),
        _ => (0, Vec::new()),
    };
    let (lhs, rhs) = if card == 2 { (rhs, lhs) } else { (lhs, rhs) };
    let mut right: HashMap<Vec<Label>, &Elem> = HashMap::with_capacity(rhs.len());
    for rs in &rhs {
        let sig = signature(&rs.labels, on, &names);
        if let Some(dup) = right.get(&sig) {
            let side = if card == 2 { "left" } else { "right" };
            let (a, b) = if dup.labels <= rs.labels {
                (&dup.labels, &rs.labels)
            } else {
                (&rs.labels, &dup.labels)
            };
            return Err(exec_err!(
                "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                go_labels(&sig),
                side,
                go_labels(a.as_slice()),
                go_labels(b.as_slice())
            ));
        }
        right.insert(sig, rs);
    }
    let mut matched: HashMap<Vec<Label>, HashSet<Labels>> = HashMap::new();
    let mut out = Vec::new();
    for ls in &lhs {
        let sig = signature(&ls.labels, on, &names);
        let Some(rs) = right.get(&sig) else { continue };
        let drop = !op.is_comparison() || return_bool;
        let metric = result_metric(&ls.labels, &rs.labels, card, on, &names, &include);
        // Cardinality is checked before comparison filtering, so a violation is
        // reported even when the filter would remove the duplicates.
        let entry = matched.entry(sig);
        let exists = matches!(entry, std::collections::hash_map::Entry::Occupied(_));
        let set = entry.or_default();
        if card == 0 {
            if exists {
                return Err(exec_err!(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                ));
            }
        } else {
            let key = if drop || ls.drop_name {
                super::without_name(&metric)
            } else {
                metric.clone()
            };
            if !set.insert(key) {
                return Err(exec_err!(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                ));
            }
        }
        let (fl, fr) = if card == 2 {
            (rs.v, ls.v)
        } else {
            (ls.v, rs.v)
        };
        let (mut v, keep) = apply(op, fl, fr);
        if return_bool {
            v = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        out.push(Elem {
            labels: Arc::new(metric),
            v,
            drop_name: drop || ls.drop_name,
        });
    }
    Ok(out)
}

fn result_metric(
    l: &Labels,
    r: &Labels,
    card: u8,
    on: bool,
    names: &[String],
    include: &[String],
) -> Labels {
    if card == 0 {
        let kept: Vec<Label> = if on {
            l.iter()
                .filter(|x| names.contains(&x.name))
                .cloned()
                .collect()
        } else {
            l.iter()
                .filter(|x| !names.contains(&x.name))
                .cloned()
                .collect()
        };
        if include.is_empty() {
            return Labels::from_sorted_unchecked(kept);
        }
    }
    if include.is_empty() {
        return l.clone();
    }
    let mut b: LabelsBuilder = l.to_builder();
    if card == 0 && on {
        b.retain(|x| names.contains(&x.name));
    } else if card == 0 {
        b.retain(|x| !names.contains(&x.name));
    }
    for n in include {
        match r.get(n) {
            Some(v) => b.set(n.clone(), v.to_string()),
            None => b.del(n),
        };
    }
    b.build()
}

fn set_op(op: Op, lhs: Vec<Elem>, rhs: Vec<Elem>, on: bool, names: &[String]) -> Vec<Elem> {
    match op {
        Op::And => {
            let rs: HashSet<Vec<Label>> = rhs
                .iter()
                .map(|e| signature(&e.labels, on, names))
                .collect();
            lhs.into_iter()
                .filter(|e| rs.contains(&signature(&e.labels, on, names)))
                .collect()
        }
        Op::Unless => {
            let rs: HashSet<Vec<Label>> = rhs
                .iter()
                .map(|e| signature(&e.labels, on, names))
                .collect();
            lhs.into_iter()
                .filter(|e| !rs.contains(&signature(&e.labels, on, names)))
                .collect()
        }
        _ => {
            let ls: HashSet<Vec<Label>> = lhs
                .iter()
                .map(|e| signature(&e.labels, on, names))
                .collect();
            let mut out = lhs;
            out.extend(
                rhs.into_iter()
                    .filter(|e| !ls.contains(&signature(&e.labels, on, names))),
            );
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_and_comparison_values() {
        assert_eq!(apply(Op::Add, 1.0, 2.0), (3.0, true));
        assert_eq!(apply(Op::Mod, 7.0, 4.0), (3.0, true));
        assert_eq!(apply(Op::Mod, -7.0, 4.0), (-3.0, true));
        assert_eq!(apply(Op::Pow, 2.0, 10.0), (1024.0, true));
        assert!(apply(Op::Div, 0.0, 0.0).0.is_nan());
        assert_eq!(apply(Op::Div, 1.0, 0.0).0, f64::INFINITY);
        assert_eq!(apply(Op::Gt, 3.0, 2.0), (3.0, true));
        assert_eq!(apply(Op::Le, 3.0, 2.0), (3.0, false));
        assert!(!apply(Op::Eq, f64::NAN, f64::NAN).1);
    }

    #[test]
    fn signature_ignores_name_unless_on() {
        let l = Labels::from_pairs([("__name__", "x"), ("a", "1"), ("b", "2")]);
        assert_eq!(
            signature(&l, false, &["b".into()]),
            vec![Label::new("a", "1")]
        );
        assert_eq!(
            signature(&l, true, &["b".into()]),
            vec![Label::new("b", "2")]
        );
    }
}
