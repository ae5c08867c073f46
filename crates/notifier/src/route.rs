//! The routing tree: which routes (and so receivers) an alert goes to, honouring
//! `continue`, and the group key that splits a route's alerts into groups.

use std::collections::BTreeMap;
use std::time::Duration;

use sightline_model::{Labels, MatchOp, Matcher};

use crate::config::RouteConfig;
use crate::matchers::{format_matchers, parse_matcher};

/// How a route groups alerts.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupBy {
    /// By these label names.
    Labels(Vec<String>),
    /// `...`: every label, one group per alert.
    All,
}

/// Timers of a route after inheritance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timers {
    /// Before the first notification of a group.
    pub group_wait: Duration,
    /// Between notifications of a changed group.
    pub group_interval: Duration,
    /// Before re-sending an unchanged group.
    pub repeat_interval: Duration,
}

/// A compiled route with inherited settings.
#[derive(Debug, Clone)]
pub struct Route {
    /// Stable identifier: parent id, matchers and child index.
    pub id: String,
    /// Receiver name.
    pub receiver: String,
    /// Grouping.
    pub group_by: GroupBy,
    /// Matchers (legacy ones converted).
    pub matchers: Vec<Matcher>,
    /// Keep matching siblings.
    pub continue_: bool,
    /// Timers.
    pub timers: Timers,
    /// Mute during these named intervals.
    pub mute_time_intervals: Vec<String>,
    /// Mute outside these named intervals (when non-empty).
    pub active_time_intervals: Vec<String>,
    /// Children.
    pub routes: Vec<Route>,
}

/// Compile error: (key path, text to locate, message).
pub type CompileError = (String, String, String);

impl Route {
    /// Compiles the root route of a configuration.
    pub fn compile_root(cfg: &RouteConfig) -> Result<Route, CompileError> {
        let defaults = Route {
            id: String::new(),
            receiver: String::new(),
            group_by: GroupBy::Labels(Vec::new()),
            matchers: Vec::new(),
            continue_: false,
            timers: Timers {
                group_wait: Duration::from_secs(30),
                group_interval: Duration::from_secs(300),
                repeat_interval: Duration::from_secs(4 * 3600),
            },
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            routes: Vec::new(),
        };
        compile(cfg, &defaults, "route", None)
    }

    /// Returns the routes an alert with `labels` goes to, in order: the deepest
    /// matching nodes, continuing past a match only where `continue` is set.
    pub fn matching<'a>(&'a self, labels: &Labels) -> Vec<&'a Route> {
        let mut out = Vec::new();
        self.collect(labels, &mut out);
        out
    }

    fn collect<'a>(&'a self, labels: &Labels, out: &mut Vec<&'a Route>) -> bool {
        if !self
            .matchers
            .iter()
            .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
        {
            return false;
        }
        let before = out.len();
        for c in &self.routes {
            if c.collect(labels, out) && !c.continue_ {
                break;
            }
        }
        if out.len() == before {
            out.push(self);
        }
        true
    }

    /// The group labels of an alert on this route.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => Labels::from_vec(
                labels
                    .iter()
                    .filter(|l| names.contains(&l.name))
                    .cloned()
                    .collect(),
            ),
        }
    }

    /// The aggregation group key: route id and group labels.
    pub fn group_key(&self, group_labels: &Labels) -> String {
        let mut k = String::with_capacity(self.id.len() + 32);
        k.push_str(&self.id);
        k.push(':');
        k.push_str(&crate::matchers_string(group_labels));
        k
    }

    /// Visits every route depth-first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Route)) {
        f(self);
        for c in &self.routes {
            c.walk(f);
        }
    }
}

fn compile(
    cfg: &RouteConfig,
    parent: &Route,
    path: &str,
    index: Option<usize>,
) -> Result<Route, CompileError> {
    let mut matchers = Vec::new();
    for m in &cfg.matchers {
        matchers.push(parse_matcher(m).map_err(|e| (format!("{path}.matchers"), m.clone(), e))?);
    }
    let legacy: BTreeMap<_, _> = cfg.match_.iter().collect();
    for (k, v) in legacy {
        matchers.push(Matcher::equal(k.clone(), v.clone()));
    }
    for (k, v) in &cfg.match_re {
        matchers.push(
            Matcher::new(MatchOp::RegexMatch, k.clone(), v.clone())
                .map_err(|e| (format!("{path}.match_re"), v.clone(), e.to_string()))?,
        );
    }
    let id = match index {
        None => format_matchers(&matchers),
        Some(i) => format!("{}/{}/{}", parent.id, format_matchers(&matchers), i),
    };
    let group_by = match &cfg.group_by {
        None => parent.group_by.clone(),
        Some(g) if g.iter().any(|l| l == "...") => GroupBy::All,
        Some(g) => GroupBy::Labels(g.clone()),
    };
    // Durations beyond ten years are clamped so timer arithmetic cannot overflow.
    const MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
    let timers = Timers {
        group_wait: cfg
            .group_wait
            .map(|d| d.0.min(MAX))
            .unwrap_or(parent.timers.group_wait),
        group_interval: cfg
            .group_interval
            .map(|d| d.0.min(MAX))
            .unwrap_or(parent.timers.group_interval),
        repeat_interval: cfg
            .repeat_interval
            .map(|d| d.0.min(MAX))
            .unwrap_or(parent.timers.repeat_interval),
    };
    let mut route = Route {
        id,
        receiver: cfg
            .receiver
            .clone()
            .unwrap_or_else(|| parent.receiver.clone()),
        group_by,
        matchers,
        continue_: cfg.continue_,
        timers,
        // Alertmanager does not inherit time intervals.
        mute_time_intervals: cfg.mute_time_intervals.clone(),
        active_time_intervals: cfg.active_time_intervals.clone(),
        routes: Vec::new(),
    };
    for (i, c) in cfg.routes.iter().enumerate() {
        let child = compile(c, &route, &format!("{path}.routes[{i}]"), Some(i))?;
        route.routes.push(child);
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use std::path::Path;

    fn receivers(root: &Route, pairs: &[(&str, &str)]) -> Vec<String> {
        root.matching(&Labels::from_pairs(pairs.iter().copied()))
            .iter()
            .map(|r| r.receiver.clone())
            .collect()
    }

    #[test]
    fn continue_nested_and_legacy() {
        let cfg = load_str(
            r#"
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['team="db"']
      receiver: db
      continue: true
      routes:
        - match_re: {severity: "crit.*"}
          receiver: db-pager
    - match: {team: db}
      receiver: db-audit
    - matchers: ['team=~"web|api"']
      receiver: web
      group_by: ['...']
receivers: [{name: default}, {name: db}, {name: db-pager}, {name: db-audit}, {name: web}]
"#,
            Path::new("t.yml"),
        )
        .unwrap();
        let root = Route::compile_root(cfg.route.as_ref().unwrap()).unwrap();
        assert_eq!(receivers(&root, &[("team", "db")]), ["db", "db-audit"]);
        assert_eq!(
            receivers(&root, &[("team", "db"), ("severity", "critical")]),
            ["db-pager", "db-audit"]
        );
        assert_eq!(receivers(&root, &[("team", "api")]), ["web"]);
        assert_eq!(receivers(&root, &[("team", "x")]), ["default"]);
        let web = root.matching(&Labels::from_pairs([("team", "api"), ("a", "1")]))[0];
        assert_eq!(web.group_by, GroupBy::All);
        assert_eq!(web.timers.group_wait, Duration::from_secs(30));
        let l = Labels::from_pairs([("alertname", "X"), ("team", "q")]);
        assert_eq!(
            root.group_labels(&l),
            Labels::from_pairs([("alertname", "X")])
        );
    }
}
