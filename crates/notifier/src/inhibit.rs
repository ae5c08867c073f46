//! Inhibition: a firing source alert mutes target alerts that share the `equal`
//! labels. Built once per evaluation pass from the firing alerts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sightline_model::{Labels, MatchOp, Matcher};

use crate::alert::{Alert, Fingerprint};
use crate::config::InhibitRuleConfig;
use crate::matchers::parse_matcher;

/// A compiled inhibition rule.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    source: Vec<Matcher>,
    target: Vec<Matcher>,
    equal: Vec<String>,
}

fn all_match(ms: &[Matcher], l: &Labels) -> bool {
    ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or("")))
}

fn legacy(
    eq: &std::collections::BTreeMap<String, String>,
    re: &std::collections::BTreeMap<String, String>,
    out: &mut Vec<Matcher>,
) -> Result<(), String> {
    for (k, v) in eq {
        out.push(Matcher::equal(k.clone(), v.clone()));
    }
    for (k, v) in re {
        out.push(
            Matcher::new(MatchOp::RegexMatch, k.clone(), v.clone()).map_err(|e| e.to_string())?,
        );
    }
    Ok(())
}

impl InhibitRule {
    /// Compiles a rule from its configuration.
    pub fn compile(c: &InhibitRuleConfig) -> Result<Self, String> {
        let mut source = Vec::new();
        for m in &c.source_matchers {
            source.push(parse_matcher(m)?);
        }
        legacy(&c.source_match, &c.source_match_re, &mut source)?;
        let mut target = Vec::new();
        for m in &c.target_matchers {
            target.push(parse_matcher(m)?);
        }
        legacy(&c.target_match, &c.target_match_re, &mut target)?;
        Ok(InhibitRule {
            source,
            target,
            equal: c.equal.clone(),
        })
    }

    fn key(&self, l: &Labels) -> Vec<String> {
        self.equal
            .iter()
            .map(|n| l.get(n).unwrap_or("").to_string())
            .collect()
    }
}

/// Firing sources of one rule by their `equal` label values, with whether each
/// also matches the rule's target side.
type Sources = HashMap<Vec<String>, Vec<(Fingerprint, bool)>>;

/// The firing sources of every rule, indexed by their `equal` label values.
pub struct Inhibitor<'r> {
    rules: &'r [InhibitRule],
    sources: Vec<Sources>,
}

impl<'r> Inhibitor<'r> {
    /// Indexes the alerts firing at `now` that match each rule's source matchers.
    pub fn build<'a>(
        rules: &'r [InhibitRule],
        alerts: impl Iterator<Item = &'a Alert>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut sources: Vec<Sources> = vec![HashMap::new(); rules.len()];
        if !rules.is_empty() {
            for a in alerts.filter(|a| !a.resolved_at(now)) {
                for (i, r) in rules.iter().enumerate() {
                    if all_match(&r.source, &a.labels) {
                        let also_target = all_match(&r.target, &a.labels);
                        sources[i]
                            .entry(r.key(&a.labels))
                            .or_default()
                            .push((a.fingerprint(), also_target));
                    }
                }
            }
        }
        Inhibitor { rules, sources }
    }

    /// Fingerprints of the alerts inhibiting an alert with `labels`, sorted.
    pub fn inhibited_by(&self, labels: &Labels, fp: Fingerprint) -> Vec<Fingerprint> {
        let mut out = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if !all_match(&r.target, labels) {
                continue;
            }
            // An alert matching both sides cannot be inhibited by another alert that
            // also matches both sides (Alertmanager's two-sided rule).
            let both = all_match(&r.source, labels);
            if let Some(srcs) = self.sources[i].get(&r.key(labels)) {
                for (sfp, s_target) in srcs {
                    if *sfp != fp && !(both && *s_target) {
                        out.push(*sfp);
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_inhibits_warning_on_same_cluster() {
        let rule = InhibitRule::compile(&InhibitRuleConfig {
            source_matchers: vec!["severity=critical".into()],
            target_matchers: vec!["severity=warning".into()],
            equal: vec!["cluster".into()],
            ..Default::default()
        })
        .unwrap();
        let rules = [rule];
        let crit = Alert::new(Labels::from_pairs([
            ("severity", "critical"),
            ("cluster", "a"),
        ]));
        let now = Utc::now();
        let inh = Inhibitor::build(&rules, [&crit].into_iter(), now);
        let w_a = Labels::from_pairs([("severity", "warning"), ("cluster", "a")]);
        let w_b = Labels::from_pairs([("severity", "warning"), ("cluster", "b")]);
        assert_eq!(
            inh.inhibited_by(&w_a, Fingerprint::of(&w_a)),
            vec![crit.fingerprint()]
        );
        assert!(inh.inhibited_by(&w_b, Fingerprint::of(&w_b)).is_empty());
        let mut resolved = crit.clone();
        resolved.ends_at = Some(now - chrono::Duration::seconds(1));
        let inh = Inhibitor::build(&rules, [&resolved].into_iter(), now);
        assert!(inh.inhibited_by(&w_a, Fingerprint::of(&w_a)).is_empty());
    }
}
