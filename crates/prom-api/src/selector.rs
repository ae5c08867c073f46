//! `match[]` series selectors (`up`, `{job="node",instance=~"web.*"}`) → storage
//! matchers, parsed with the `promql-parser` crate so the syntax and its error
//! messages are PromQL's.

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{self, Expr};
use sightline_model::{MatchOp, Matcher, METRIC_NAME};

/// Parses one selector into its alternatives (promql-parser's `or` inside braces
/// yields several; plain PromQL yields one). Each alternative is a conjunction.
pub fn parse_selector(s: &str) -> Result<Vec<Vec<Matcher>>, String> {
    let expr = parser::parse(s).map_err(|e| format!("invalid parameter \"match[]\": {e}"))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!(
            "invalid parameter \"match[]\": {s:?} is not a series selector"
        ));
    };
    let convert = |ms: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>, String> {
        let mut out = Vec::with_capacity(ms.len() + 1);
        for m in ms {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::RegexMatch,
                PMatchOp::NotRe(_) => MatchOp::RegexNoMatch,
            };
            out.push(Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| e.to_string())?);
        }
        if let Some(name) = &vs.name {
            if !out
                .iter()
                .any(|m| m.name == METRIC_NAME && m.op == MatchOp::Equal)
            {
                out.push(Matcher::equal(METRIC_NAME, name.clone()));
            }
        }
        Ok(out)
    };
    let mut alternatives = Vec::new();
    if vs.matchers.or_matchers.is_empty() {
        alternatives.push(convert(&vs.matchers.matchers)?);
    } else {
        for group in &vs.matchers.or_matchers {
            alternatives.push(convert(group)?);
        }
    }
    for alt in &alternatives {
        if alt.iter().all(|m| m.matches_empty()) {
            return Err("match[] must contain at least one non-empty matcher".into());
        }
    }
    Ok(alternatives)
}

/// Parses every `match[]` value; their alternatives are unioned.
pub fn parse_all(selectors: &[&str]) -> Result<Vec<Vec<Matcher>>, String> {
    let mut out = Vec::new();
    for s in selectors {
        out.extend(parse_selector(s)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_name_and_matchers() {
        let alts = parse_selector("up{job=~\"n.*\"}").unwrap();
        assert_eq!(alts.len(), 1);
        assert!(alts[0]
            .iter()
            .any(|m| m.name == "__name__" && m.value == "up"));
        assert!(alts[0]
            .iter()
            .any(|m| m.name == "job" && m.op == MatchOp::RegexMatch));
    }

    #[test]
    fn rejects_empty_matching_and_non_selectors() {
        assert!(parse_selector("{job=~\".*\"}")
            .unwrap_err()
            .contains("non-empty"));
        assert!(parse_selector("sum(up)").is_err());
        assert!(parse_selector("up{").is_err());
    }
}
