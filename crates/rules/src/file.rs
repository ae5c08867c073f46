//! Prometheus rule files: strict decoding, `promtool check rules`-style
//! validation with file:line errors, and `rule_files` glob expansion.

use crate::locate::Locator;
use crate::template::Template;
use serde::Deserialize;
use sightline_model::{Labels, PromDuration};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: String,
    #[serde(default)]
    interval: Option<PromDuration>,
    #[serde(default)]
    limit: u64,
    #[serde(default)]
    query_offset: Option<PromDuration>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    alert: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    expr: String,
    #[serde(default, rename = "for")]
    for_: Option<PromDuration>,
    #[serde(default)]
    keep_firing_for: Option<PromDuration>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// Accepts any YAML scalar as a string (`expr: 1` is a valid expression).
fn scalar_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_yaml::Value::deserialize(d)? {
        serde_yaml::Value::String(s) => Ok(s),
        serde_yaml::Value::Number(n) => Ok(n.to_string()),
        serde_yaml::Value::Bool(b) => Ok(b.to_string()),
        serde_yaml::Value::Null => Ok(String::new()),
        _ => Err(serde::de::Error::custom("expr must be a string")),
    }
}

/// A validated rule group, ready for evaluation.
#[derive(Clone, Debug)]
pub struct GroupSpec {
    /// The file the group came from (as given); part of the group's identity.
    pub file: String,
    /// The group name, unique within its file.
    pub name: String,
    /// Evaluation interval; `None` means the global evaluation interval.
    pub interval: Option<Duration>,
    /// Most series a recording rule / alerts an alerting rule may produce (0: no limit).
    pub limit: usize,
    /// How far in the past to evaluate, for late-arriving data; `None`: global default.
    pub query_offset: Option<Duration>,
    /// Labels added to every rule's output (rule labels win on conflicts).
    pub labels: Labels,
    /// The rules, evaluated in order.
    pub rules: Vec<RuleSpec>,
}

/// Recording or alerting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `record: <metric name>`.
    Recording,
    /// `alert: <alert name>`.
    Alerting,
}

/// One validated rule.
#[derive(Clone, Debug)]
pub struct RuleSpec {
    /// Recording or alerting.
    pub kind: RuleKind,
    /// The recorded metric name or the alert name.
    pub name: String,
    /// The PromQL expression.
    pub expr: String,
    /// `for` (alerting only).
    pub for_: Duration,
    /// `keep_firing_for` (alerting only).
    pub keep_firing_for: Duration,
    /// Labels added to the output; templates for alerting rules.
    pub labels: Vec<(String, Template)>,
    /// Annotations (alerting only).
    pub annotations: Vec<(String, Template)>,
}

impl RuleSpec {
    /// Identity used to carry alert state across reloads: kind, name and labels.
    pub fn state_key(&self) -> String {
        let mut k = format!("{:?}\u{0}{}", self.kind, self.name);
        for (n, t) in &self.labels {
            k.push('\u{0}');
            k.push_str(n);
            k.push('=');
            k.push_str(t.source());
        }
        k
    }

    /// True when two rules would evaluate identically (used by reload).
    pub fn same_as(&self, o: &RuleSpec) -> bool {
        let src = |v: &[(String, Template)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(n, t)| (n.clone(), t.source().to_string()))
                .collect()
        };
        self.kind == o.kind
            && self.name == o.name
            && self.expr == o.expr
            && self.for_ == o.for_
            && self.keep_firing_for == o.keep_firing_for
            && src(&self.labels) == src(&o.labels)
            && src(&self.annotations) == src(&o.annotations)
    }
}

/// A rule file problem with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleError {
    /// The file.
    pub file: String,
    /// 1-based line and column, when known.
    pub pos: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some((l, c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for RuleError {}

/// True for a legacy Prometheus metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn valid_metric_name(s: &str) -> bool {
    let mut it = s.bytes();
    matches!(it.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && it.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// True for a legacy Prometheus label name `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(s: &str) -> bool {
    let mut it = s.bytes();
    matches!(it.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && it.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Decodes and validates one rule file's text. `file` names it in errors and
/// becomes [`GroupSpec::file`]. All problems are reported, not just the first.
pub fn parse_rule_file(file: &str, text: &str) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    let e = |pos, message: String| RuleError {
        file: file.to_string(),
        pos,
        message,
    };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let loc = Locator::new(text);
    let de = serde_yaml::Deserializer::from_str(text);
    let raw: RawFile = match serde_path_to_error::deserialize(de) {
        Ok(r) => r,
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            // Prefer the decoded path's own position: serde_yaml places custom
            // errors (bad durations) at the enclosing mapping.
            let pos = loc
                .find(&path)
                .filter(|_| !path.is_empty() && path != ".")
                .or_else(|| inner.location().map(|l| (l.line(), l.column())));
            let mut msg = inner.to_string();
            if let Some(cut) = msg.rfind(" at line ") {
                msg.truncate(cut);
            }
            // serde_yaml prefixes its own (shallower) path; use ours.
            if let Some((head, rest)) = msg.split_once(": ") {
                if !head.contains(' ') && path.starts_with(head) {
                    msg = rest.to_string();
                }
            }
            if !(path.is_empty() || path == ".") {
                msg = format!("{path}: {msg}");
            }
            return Err(vec![e(pos, msg)]);
        }
    };
    let mut errs = Vec::new();
    let mut groups = Vec::with_capacity(raw.groups.len());
    let mut seen = std::collections::HashSet::new();
    for (gi, g) in raw.groups.into_iter().enumerate() {
        let gpath = format!("groups[{gi}]");
        let at = |p: &str| loc.find(&format!("{gpath}{p}"));
        if g.name.is_empty() {
            errs.push(e(at(".name"), "Groupname must not be empty".into()));
        } else if !seen.insert(g.name.clone()) {
            errs.push(e(
                at(".name"),
                format!("groupname: \"{}\" is repeated in the same file", g.name),
            ));
        }
        for k in g.labels.keys() {
            if !valid_label_name(k) {
                errs.push(e(
                    at(&format!(".labels.{k}")),
                    format!("group \"{}\": invalid label name: {k}", g.name),
                ));
            }
        }
        if matches!(g.interval, Some(d) if d.0.is_zero()) {
            errs.push(e(
                at(".interval"),
                format!("group \"{}\": interval must be greater than 0", g.name),
            ));
        }
        let mut rules = Vec::with_capacity(g.rules.len());
        for (ri, r) in g.rules.into_iter().enumerate() {
            let rpath = format!(".rules[{ri}]");
            let name = r.record.clone().or(r.alert.clone()).unwrap_or_default();
            let ctx = format!("group \"{}\", rule {}, \"{name}\"", g.name, ri + 1);
            let mut push = |p: &str, m: String| {
                errs.push(e(at(&format!("{rpath}{p}")), format!("{ctx}: {m}")))
            };
            match (&r.record, &r.alert) {
                (Some(_), Some(_)) => {
                    push("", "only one of 'record' and 'alert' must be set".into())
                }
                (None, None) => push("", "one of 'record' or 'alert' must be set".into()),
                _ => {}
            }
            if r.expr.trim().is_empty() {
                push("", "field 'expr' must be set in rule".into());
            } else if let Err(pe) = promql_parser::parser::parse(&r.expr) {
                push(
                    ".expr",
                    format!("could not parse expression: {}", pe.replace('\n', " ")),
                );
            }
            let kind = if r.record.is_some() {
                RuleKind::Recording
            } else {
                RuleKind::Alerting
            };
            if kind == RuleKind::Recording {
                if !valid_metric_name(&name) {
                    push(".record", format!("invalid recording rule name: {name}"));
                }
                if !r.annotations.is_empty() {
                    push(
                        ".annotations",
                        "invalid field 'annotations' in recording rule".into(),
                    );
                }
                if r.for_.is_some() {
                    push(".for", "invalid field 'for' in recording rule".into());
                }
                if r.keep_firing_for.is_some() {
                    push(
                        ".keep_firing_for",
                        "invalid field 'keep_firing_for' in recording rule".into(),
                    );
                }
            } else if r.alert.as_deref() == Some("") {
                push(".alert", "invalid alert name: must not be empty".into());
            }
            let mut labels = Vec::with_capacity(r.labels.len());
            for (k, v) in &r.labels {
                if !valid_label_name(k) || k == "__name__" {
                    push(&format!(".labels.{k}"), format!("invalid label name: {k}"));
                }
                match Template::parse(v) {
                    Ok(t) => labels.push((k.clone(), t)),
                    Err(te) => push(&format!(".labels.{k}"), format!("label {k:?}: {te}")),
                }
            }
            let mut annotations = Vec::with_capacity(r.annotations.len());
            for (k, v) in &r.annotations {
                if !valid_label_name(k) {
                    push(
                        &format!(".annotations.{k}"),
                        format!("invalid annotation name: {k}"),
                    );
                }
                match Template::parse(v) {
                    Ok(t) => annotations.push((k.clone(), t)),
                    Err(te) => push(
                        &format!(".annotations.{k}"),
                        format!("annotation {k:?}: {te}"),
                    ),
                }
            }
            rules.push(RuleSpec {
                kind,
                name,
                expr: r.expr,
                for_: r.for_.map(|d| d.0).unwrap_or_default(),
                keep_firing_for: r.keep_firing_for.map(|d| d.0).unwrap_or_default(),
                labels,
                annotations,
            });
        }
        groups.push(GroupSpec {
            file: file.to_string(),
            name: g.name,
            interval: g.interval.map(|d| d.0),
            limit: usize::try_from(g.limit).unwrap_or(usize::MAX),
            query_offset: g.query_offset.map(|d| d.0),
            labels: Labels::from_pairs(g.labels),
            rules,
        });
    }
    if errs.is_empty() {
        Ok(groups)
    } else {
        Err(errs)
    }
}

/// Reads and validates one rule file.
pub fn load_file(path: &Path) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| {
        vec![RuleError {
            file: name.clone(),
            pos: None,
            message: format!("cannot read rule file: {err}"),
        }]
    })?;
    parse_rule_file(&name, &text)
}

/// Expands `rule_files` patterns (relative ones against `base`, the directory of
/// the configuration file), sorted and de-duplicated like Prometheus.
pub fn expand_globs(patterns: &[String], base: Option<&Path>) -> Result<Vec<PathBuf>, RuleError> {
    let mut out = Vec::new();
    for p in patterns {
        let full = match base {
            Some(b) if Path::new(p).is_relative() => b.join(p).display().to_string(),
            _ => p.clone(),
        };
        let paths = glob::glob(&full).map_err(|err| RuleError {
            file: p.clone(),
            pos: None,
            message: format!("invalid rule_files pattern: {err}"),
        })?;
        for entry in paths.flatten() {
            out.push(entry);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Loads every file matched by `patterns`; all files' errors are collected.
pub fn load_globs(
    patterns: &[String],
    base: Option<&Path>,
) -> Result<Vec<GroupSpec>, Vec<RuleError>> {
    let files = expand_globs(patterns, base).map_err(|e| vec![e])?;
    let mut groups = Vec::new();
    let mut errs = Vec::new();
    for f in files {
        match load_file(&f) {
            Ok(g) => groups.extend(g),
            Err(e) => errs.extend(e),
        }
    }
    if errs.is_empty() {
        Ok(groups)
    } else {
        Err(errs)
    }
}

/// The outcome of checking one file, printed like `promtool check rules`.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The file checked.
    pub file: String,
    /// Rules found (when the file is valid).
    pub rules: usize,
    /// Problems found.
    pub errors: Vec<RuleError>,
}

impl CheckResult {
    /// True when the file is valid.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for CheckResult {
    /// `Checking F\n  SUCCESS: N rules found\n` or `  FAILED:\n<errors>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Checking {}", self.file)?;
        if self.ok() {
            writeln!(f, "  SUCCESS: {} rules found", self.rules)
        } else {
            writeln!(f, "  FAILED:")?;
            for e in &self.errors {
                writeln!(f, "{e}")?;
            }
            Ok(())
        }
    }
}

/// Checks rule files for the future `sightline check rules FILE…`.
pub fn check_files(paths: &[PathBuf]) -> Vec<CheckResult> {
    paths
        .iter()
        .map(|p| match load_file(p) {
            Ok(groups) => CheckResult {
                file: p.display().to_string(),
                rules: groups.iter().map(|g| g.rules.len()).sum(),
                errors: Vec::new(),
            },
            Err(errors) => CheckResult {
                file: p.display().to_string(),
                rules: 0,
                errors,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"groups:
  - name: node
    interval: 30s
    limit: 10
    query_offset: 1m
    labels:
      team: infra
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 2m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} down"
      - record: one
        expr: 1
"#;

    #[test]
    fn decodes_valid_file() {
        let g = parse_rule_file("a.yml", GOOD).unwrap();
        assert_eq!(g.len(), 1);
        let g = &g[0];
        assert_eq!(
            (g.name.as_str(), g.interval, g.limit),
            ("node", Some(Duration::from_secs(30)), 10)
        );
        assert_eq!(g.query_offset, Some(Duration::from_secs(60)));
        assert_eq!(g.labels.get("team"), Some("infra"));
        assert_eq!(g.rules.len(), 3);
        assert_eq!(g.rules[1].kind, RuleKind::Alerting);
        assert_eq!(g.rules[1].for_, Duration::from_secs(300));
        assert_eq!(g.rules[1].keep_firing_for, Duration::from_secs(120));
        assert_eq!(g.rules[2].expr, "1");
    }

    fn errors(text: &str) -> Vec<String> {
        parse_rule_file("r.yml", text)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = errors("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: sum(\n");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("r.yml:5:9: group \"a\", rule 1, \"x\": could not parse expression"),
            "{e:?}"
        );

        let e = errors("groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n");
        assert_eq!(
            e,
            vec!["r.yml:4:5: groupname: \"a\" is repeated in the same file"]
        );

        let e = errors(
            "groups:\n  - name: a\n    rules:\n      - record: 'bad-name'\n        expr: up\n",
        );
        assert_eq!(e, vec!["r.yml:4:9: group \"a\", rule 1, \"bad-name\": invalid recording rule name: bad-name"]);

        let e = errors("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          s: '{{ humanise $value }}'\n");
        assert!(e[0].starts_with("r.yml:7:11: group \"a\", rule 1, \"A\": annotation \"s\": template line 1: function \"humanise\" not defined"), "{e:?}");

        let e = errors("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        fore: 5m\n");
        assert!(
            e[0].starts_with("r.yml:6:9: groups[0].rules[0].fore: unknown field `fore`"),
            "{e:?}"
        );

        let e = errors("groups:\n  - name: a\n    interval: 5x\n");
        assert_eq!(e, vec!["r.yml:3:5: groups[0].interval: unknown unit in duration \"5x\" (use ms, s, m, h, d, w or y)"]);
        let e = errors("groups:\n  - name: a\n    rules:\n  bad\n");
        assert!(
            e[0].starts_with("r.yml:5:1: ") && e[0].contains("could not find expected ':'"),
            "{e:?}"
        );

        let e = errors("groups:\n  - name: a\n    rules:\n      - record: a\n        alert: b\n        expr: up\n        for: 1m\n");
        assert!(
            e.iter()
                .any(|m| m.contains("only one of 'record' and 'alert'")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.starts_with("r.yml:7:9:") && m.contains("invalid field 'for'")),
            "{e:?}"
        );
    }

    #[test]
    fn check_files_prints_like_promtool() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yml");
        std::fs::write(&good, GOOD).unwrap();
        let bad = dir.path().join("bad.yml");
        std::fs::write(
            &bad,
            "groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up +\n",
        )
        .unwrap();
        let r = check_files(&[good.clone(), bad.clone()]);
        assert_eq!(
            r[0].to_string(),
            format!("Checking {}\n  SUCCESS: 3 rules found\n", good.display())
        );
        assert!(!r[1].ok());
        assert!(
            r[1].to_string()
                .contains(&format!("{}:5:9:", bad.display())),
            "{}",
            r[1]
        );
        let all = load_globs(&["*.yml".to_string()], Some(dir.path()));
        assert_eq!(all.unwrap_err().len(), 1);
        assert_eq!(
            expand_globs(&["*.yml".into()], Some(dir.path())).unwrap(),
            vec![bad, good]
        );
    }
}
