//! Relabelling, exactly as Prometheus' `relabel_config` defines it.
//!
//! The same rules rewrite discovered targets (`relabel_configs`) and scraped series
//! (`metric_relabel_configs`), so both paths call [`relabel`]. Regular expressions
//! are fully anchored and `$1`, `${1}` and `${name}` in `replacement` and
//! `target_label` expand to capture groups, with the semantics of Go's
//! `Regexp.Expand` (which the `regex` crate's `Captures::expand` shares).

use std::fmt;

use md5::{Digest, Md5};
use regex::Regex;
use serde::{Deserialize, Serialize};
use sightline_model::{Labels, LabelsBuilder};

/// The relabelling actions of Prometheus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Writes the expanded `replacement` to the expanded `target_label` when the regex matches.
    #[default]
    Replace,
    /// Drops the label set unless the joined source values match.
    Keep,
    /// Drops the label set when the joined source values match.
    Drop,
    /// Drops the label set unless the joined source values equal `target_label`'s value.
    KeepEqual,
    /// Drops the label set when the joined source values equal `target_label`'s value.
    DropEqual,
    /// Sets `target_label` to md5(joined values) modulo `modulus`, for sharding.
    HashMod,
    /// Copies every label whose name matches to the name given by `replacement`.
    LabelMap,
    /// Removes every label whose name matches.
    LabelDrop,
    /// Removes every label whose name does not match.
    LabelKeep,
    /// Sets `target_label` to the joined values in lower case.
    Lowercase,
    /// Sets `target_label` to the joined values in upper case.
    Uppercase,
}

impl Action {
    /// The configuration spelling of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    /// Parses an action name, case-insensitively as Prometheus does.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return None,
        })
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Action::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown relabel action {s:?}")))
    }
}

/// A regular expression anchored at both ends, remembering the text it was written as.
#[derive(Clone)]
pub struct RelabelRegex {
    source: String,
    re: Regex,
}

impl RelabelRegex {
    /// Compiles `^(?:source)$`; the error names the expression.
    pub fn new(source: &str) -> Result<Self, String> {
        let re = Regex::new(&format!("^(?:{source})$"))
            .map_err(|e| format!("invalid regular expression {source:?}: {e}"))?;
        Ok(RelabelRegex {
            source: source.to_string(),
            re,
        })
    }

    /// The expression as configured (without the anchors).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled, anchored expression.
    pub fn regex(&self) -> &Regex {
        &self.re
    }

    /// True when the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        RelabelRegex::new("(.*)").expect("the default relabel regex compiles")
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, o: &Self) -> bool {
        self.source == o.source
    }
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl Serialize for RelabelRegex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RelabelRegex::new(&s).map_err(serde::de::Error::custom)
    }
}

fn default_separator() -> String {
    ";".into()
}

fn default_replacement() -> String {
    "$1".into()
}

/// One `relabel_config` entry, with Prometheus' field names and defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` and matched against `regex`.
    #[serde(default)]
    pub source_labels: Vec<String>,
    /// Placed between joined source values (default `;`).
    #[serde(default = "default_separator")]
    pub separator: String,
    /// The label written by replace, hashmod, lowercase, uppercase; compared by
    /// keepequal/dropequal.
    #[serde(default)]
    pub target_label: String,
    /// The anchored expression (default `(.*)`).
    #[serde(default)]
    pub regex: RelabelRegex,
    /// Modulus for hashmod.
    #[serde(default)]
    pub modulus: u64,
    /// Replacement template (default `$1`).
    #[serde(default = "default_replacement")]
    pub replacement: String,
    /// What to do (default replace).
    #[serde(default)]
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: default_separator(),
            target_label: String::new(),
            regex: RelabelRegex::default(),
            modulus: 0,
            replacement: default_replacement(),
            action: Action::Replace,
        }
    }
}

/// True for a legacy Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// True for a label-name template: name characters and `$name`/`${name}` references.
fn is_valid_target_template(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    let mut first = true;
    while i < b.len() {
        if b[i] == b'$' {
            i += 1;
            if i < b.len() && b[i] == b'{' {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && word(b[j]) {
                    j += 1;
                }
                if j == start || j >= b.len() || b[j] != b'}' {
                    return false;
                }
                i = j + 1;
            } else {
                let start = i;
                while i < b.len() && word(b[i]) {
                    i += 1;
                }
                if i == start {
                    return false;
                }
            }
        } else if (first && (b[i].is_ascii_alphabetic() || b[i] == b'_')) || (!first && word(b[i]))
        {
            i += 1;
        } else {
            return false;
        }
        first = false;
    }
    true
}

impl RelabelConfig {
    /// Checks the combination of fields the way Prometheus does when loading a
    /// configuration; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let a = self.action;
        let def = RelabelConfig::default();
        if a == Action::HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            a,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {} action requires 'target_label' value",
                a.as_str()
            ));
        }
        let bad_target = || {
            Err(format!(
                "{:?} is invalid 'target_label' for {} action",
                self.target_label,
                a.as_str()
            ))
        };
        if a == Action::Replace {
            let ok = if self.target_label.contains('$') {
                is_valid_target_template(&self.target_label)
            } else {
                is_valid_label_name(&self.target_label)
            };
            if !ok {
                return bad_target();
            }
        }
        if matches!(
            a,
            Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
                | Action::HashMod
        ) && !is_valid_label_name(&self.target_label)
        {
            return bad_target();
        }
        if matches!(
            a,
            Action::Lowercase | Action::Uppercase | Action::KeepEqual | Action::DropEqual
        ) && self.replacement != def.replacement
        {
            return Err(format!(
                "'replacement' can not be set for {} action",
                a.as_str()
            ));
        }
        if a == Action::LabelMap && !is_valid_target_template(&self.replacement) {
            return Err(format!(
                "{:?} is invalid 'replacement' for labelmap action",
                self.replacement
            ));
        }
        if matches!(a, Action::KeepEqual | Action::DropEqual)
            && (self.regex != def.regex
                || self.modulus != 0
                || self.separator != def.separator
                || self.replacement != def.replacement)
        {
            return Err(format!(
                "{} action requires only 'source_labels' and 'target_label', and no other fields",
                a.as_str()
            ));
        }
        if matches!(a, Action::LabelDrop | Action::LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != def.separator
                || self.replacement != def.replacement)
        {
            return Err(format!(
                "{} action requires only 'regex', and no other fields",
                a.as_str()
            ));
        }
        Ok(())
    }
}

/// The hashmod shard of `value`: the last 8 bytes of md5(value), read big-endian,
/// modulo `modulus` — bit for bit what Prometheus computes, so shards agree.
pub fn hashmod(value: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(tail) % modulus.max(1)
}

/// Applies `cfgs` in order; `None` when a keep/drop rule dropped the label set.
pub fn relabel(labels: &Labels, cfgs: &[RelabelConfig]) -> Option<Labels> {
    if cfgs.is_empty() {
        return Some(labels.clone());
    }
    let mut b = labels.to_builder();
    if relabel_builder(&mut b, cfgs) {
        Some(b.build())
    } else {
        None
    }
}

/// Applies `cfgs` to a builder in place; false when the set was dropped. Used by
/// target construction, which keeps working on the builder afterwards.
pub fn relabel_builder(b: &mut LabelsBuilder, cfgs: &[RelabelConfig]) -> bool {
    cfgs.iter().all(|c| apply_one(c, b))
}

fn joined_source(c: &RelabelConfig, b: &LabelsBuilder) -> String {
    let mut val = String::new();
    for (i, name) in c.source_labels.iter().enumerate() {
        if i > 0 {
            val.push_str(&c.separator);
        }
        val.push_str(b.get(name));
    }
    val
}

fn apply_one(c: &RelabelConfig, b: &mut LabelsBuilder) -> bool {
    let val = joined_source(c, b);
    match c.action {
        Action::Drop => return !c.regex.is_match(&val),
        Action::Keep => return c.regex.is_match(&val),
        Action::DropEqual => return b.get(&c.target_label) != val,
        Action::KeepEqual => return b.get(&c.target_label) == val,
        Action::Replace => {
            if val.is_empty()
                && c.regex.as_str() == "(.*)"
                && !c.target_label.contains('$')
                && !c.replacement.contains('$')
            {
                b.set(c.target_label.clone(), c.replacement.clone());
                return true;
            }
            let Some(caps) = c.regex.regex().captures(&val) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&c.target_label, &mut target);
            if !is_valid_label_name(&target) {
                return true;
            }
            let mut res = String::new();
            caps.expand(&c.replacement, &mut res);
            if res.is_empty() {
                b.del(&target);
            } else {
                b.set(target, res);
            }
        }
        Action::Lowercase => {
            b.set(c.target_label.clone(), val.to_lowercase());
        }
        Action::Uppercase => {
            b.set(c.target_label.clone(), val.to_uppercase());
        }
        Action::HashMod => {
            b.set(c.target_label.clone(), hashmod(&val, c.modulus).to_string());
        }
        Action::LabelMap => {
            let current: Vec<_> = b.iter().cloned().collect();
            for l in current {
                if c.regex.is_match(&l.name) {
                    let name = c.regex.regex().replace_all(&l.name, c.replacement.as_str());
                    b.set(name.into_owned(), l.value);
                }
            }
        }
        Action::LabelDrop => {
            b.retain(|l| !c.regex.is_match(&l.name));
        }
        Action::LabelKeep => {
            b.retain(|l| c.regex.is_match(&l.name));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(action: Action) -> RelabelConfig {
        RelabelConfig {
            action,
            ..Default::default()
        }
    }

    fn rc(
        action: Action,
        src: &[&str],
        regex: &str,
        target: &str,
        replacement: &str,
    ) -> RelabelConfig {
        RelabelConfig {
            source_labels: src.iter().map(|s| s.to_string()).collect(),
            regex: RelabelRegex::new(regex).unwrap(),
            target_label: target.into(),
            replacement: replacement.into(),
            ..cfg(action)
        }
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    struct Case {
        name: &'static str,
        input: Labels,
        cfgs: Vec<RelabelConfig>,
        want: Option<Labels>,
    }

    #[test]
    fn table() {
        use Action::*;
        let abc = l(&[("a", "foo"), ("b", "bar"), ("c", "baz")]);
        let ports = l(&[
            ("__tmp_port", "1234"),
            ("__port1", "1234"),
            ("__port2", "5678"),
        ]);
        let cases = vec![
            Case {
                name: "replace with ${1} twice",
                input: abc.clone(),
                cfgs: vec![rc(Replace, &["a"], "f(.*)", "d", "ch${1}-ch${1}")],
                want: Some(l(&[
                    ("a", "foo"),
                    ("b", "bar"),
                    ("c", "baz"),
                    ("d", "choo-choo"),
                ])),
            },
            Case {
                name: "chained replaces see earlier results",
                input: abc.clone(),
                cfgs: vec![
                    rc(Replace, &["a", "b"], "f(.*);(.*)r", "a", "b${1}${2}m"),
                    rc(Replace, &["c", "a"], "(b).*b(.*)ba(.*)", "d", "$1$2$2$3"),
                ],
                want: Some(l(&[
                    ("a", "boobam"),
                    ("b", "bar"),
                    ("c", "baz"),
                    ("d", "boooom"),
                ])),
            },
            Case {
                name: "drop stops processing",
                input: l(&[("a", "foo")]),
                cfgs: vec![
                    rc(Drop, &["a"], ".*o.*", "", "$1"),
                    rc(Replace, &["a"], "f(.*)", "d", "ch$1-ch$1"),
                ],
                want: None,
            },
            Case {
                name: "regex is anchored: partial match does not drop",
                input: l(&[("a", "foo")]),
                cfgs: vec![rc(Drop, &["a"], "f|o", "", "$1")],
                want: Some(l(&[("a", "foo")])),
            },
            Case {
                name: "keep without match drops",
                input: l(&[("a", "foo")]),
                cfgs: vec![rc(Keep, &["a"], "no-match", "", "$1")],
                want: None,
            },
            Case {
                name: "keep with match keeps",
                input: l(&[("a", "foo")]),
                cfgs: vec![rc(Keep, &["a"], "f.*", "", "$1")],
                want: Some(l(&[("a", "foo")])),
            },
            Case {
                name: "no replacement without match",
                input: l(&[("a", "boo")]),
                cfgs: vec![rc(Replace, &["a"], "f", "b", "bar")],
                want: Some(l(&[("a", "boo")])),
            },
            Case {
                name: "inner capture group",
                input: l(&[("a", "abc")]),
                cfgs: vec![rc(Replace, &["a"], ".*(b).*", "d", "$1")],
                want: Some(l(&[("a", "abc"), ("d", "b")])),
            },
            Case {
                name: "hashmod matches Prometheus (baz % 1000 = 976)",
                input: abc.clone(),
                cfgs: vec![RelabelConfig {
                    modulus: 1000,
                    ..rc(HashMod, &["c"], "(.*)", "d", "$1")
                }],
                want: Some(l(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")])),
            },
            Case {
                name: "hashmod with newline (734)",
                input: l(&[("a", "foo\nbar")]),
                cfgs: vec![RelabelConfig {
                    modulus: 1000,
                    ..rc(HashMod, &["a"], "(.*)", "b", "$1")
                }],
                want: Some(l(&[("a", "foo\nbar"), ("b", "734")])),
            },
            Case {
                name: "labelmap copies matching names",
                input: l(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")]),
                cfgs: vec![rc(LabelMap, &[], "(b.*)", "", "bar_${1}")],
                want: Some(l(&[
                    ("a", "foo"),
                    ("b1", "bar"),
                    ("b2", "baz"),
                    ("bar_b1", "bar"),
                    ("bar_b2", "baz"),
                ])),
            },
            Case {
                name: "labelmap of meta labels",
                input: l(&[
                    ("a", "foo"),
                    ("__meta_my_bar", "aaa"),
                    ("__meta_my_baz", "bbb"),
                    ("__meta_other", "ccc"),
                ]),
                cfgs: vec![rc(LabelMap, &[], "__meta_(my.*)", "", "${1}")],
                want: Some(l(&[
                    ("a", "foo"),
                    ("__meta_my_bar", "aaa"),
                    ("__meta_my_baz", "bbb"),
                    ("__meta_other", "ccc"),
                    ("my_bar", "aaa"),
                    ("my_baz", "bbb"),
                ])),
            },
            Case {
                name: "target label from a capture group",
                input: l(&[("a", "some-name-value")]),
                cfgs: vec![rc(Replace, &["a"], "some-([^-]+)-([^,]+)", "${1}", "${2}")],
                want: Some(l(&[("a", "some-name-value"), ("name", "value")])),
            },
            Case {
                name: "empty expansion deletes nothing that is absent",
                input: l(&[("a", "some-name-value")]),
                cfgs: vec![rc(Replace, &["a"], "some-([^-]+)-([^,]+)", "${1}", "${3}")],
                want: Some(l(&[("a", "some-name-value")])),
            },
            Case {
                name: "invalid expanded target is ignored",
                input: l(&[("a", "some-name-0")]),
                cfgs: vec![
                    rc(Replace, &["a"], "some-([^-]+)-([^,]+)", "${3}", "${1}"),
                    rc(Replace, &["a"], "some-([^-]+)(-[^,]+)", "${3}", "${1}"),
                ],
                want: Some(l(&[("a", "some-name-0")])),
            },
            Case {
                name: "real-life tag parsing",
                input: l(&[("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar")]),
                cfgs: vec![
                    rc(
                        Replace,
                        &["__meta_sd_tags"],
                        "(?:.+,|^)path:(/[^,]+).*",
                        "__metrics_path__",
                        "${1}",
                    ),
                    rc(
                        Replace,
                        &["__meta_sd_tags"],
                        "(?:.+,|^)job:([^,]+).*",
                        "job",
                        "${1}",
                    ),
                    rc(
                        Replace,
                        &["__meta_sd_tags"],
                        "(?:.+,|^)label:([^=]+)=([^,]+).*",
                        "${1}",
                        "${2}",
                    ),
                ],
                want: Some(l(&[
                    ("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
                    ("__metrics_path__", "/secret"),
                    ("job", "some-job"),
                    ("foo", "bar"),
                ])),
            },
            Case {
                name: "labeldrop then replace then keep",
                input: l(&[
                    ("__meta_kubernetes_pod_container_port_name", "foo"),
                    ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
                ]),
                cfgs: vec![
                    rc(
                        LabelDrop,
                        &[],
                        "^__meta_kubernetes_pod_container_port_name$",
                        "",
                        "$1",
                    ),
                    rc(
                        Replace,
                        &["__meta_kubernetes_pod_annotation_XXX_metrics_port"],
                        "(.+)",
                        "__meta_kubernetes_pod_container_port_name",
                        "metrics",
                    ),
                    rc(
                        Keep,
                        &["__meta_kubernetes_pod_container_port_name"],
                        "^metrics$",
                        "",
                        "$1",
                    ),
                ],
                want: Some(l(&[
                    ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
                    ("__meta_kubernetes_pod_container_port_name", "metrics"),
                ])),
            },
            Case {
                name: "labelkeep",
                input: l(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")]),
                cfgs: vec![rc(LabelKeep, &[], "(b.*)", "", "$1")],
                want: Some(l(&[("b1", "bar"), ("b2", "baz")])),
            },
            Case {
                name: "labeldrop",
                input: l(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")]),
                cfgs: vec![rc(LabelDrop, &[], "(b.*)", "", "$1")],
                want: Some(l(&[("a", "foo")])),
            },
            Case {
                name: "upper and lower case",
                input: l(&[("foo", "bAr123Foo")]),
                cfgs: vec![
                    rc(Uppercase, &["foo"], "(.*)", "foo_uppercase", "$1"),
                    rc(Lowercase, &["foo"], "(.*)", "foo_lowercase", "$1"),
                ],
                want: Some(l(&[
                    ("foo", "bAr123Foo"),
                    ("foo_lowercase", "bar123foo"),
                    ("foo_uppercase", "BAR123FOO"),
                ])),
            },
            Case {
                name: "keepequal keeps on equality",
                input: ports.clone(),
                cfgs: vec![rc(KeepEqual, &["__tmp_port"], "(.*)", "__port1", "$1")],
                want: Some(ports.clone()),
            },
            Case {
                name: "dropequal drops on equality",
                input: ports.clone(),
                cfgs: vec![rc(DropEqual, &["__tmp_port"], "(.*)", "__port1", "$1")],
                want: None,
            },
            Case {
                name: "dropequal keeps on difference",
                input: ports.clone(),
                cfgs: vec![rc(DropEqual, &["__tmp_port"], "(.*)", "__port2", "$1")],
                want: Some(ports.clone()),
            },
            Case {
                name: "keepequal drops on difference",
                input: ports.clone(),
                cfgs: vec![rc(KeepEqual, &["__tmp_port"], "(.*)", "__port2", "$1")],
                want: None,
            },
            Case {
                name: "replace fast path sets a constant when sources are empty",
                input: l(&[("a", "x")]),
                cfgs: vec![rc(Replace, &[], "(.*)", "env", "prod")],
                want: Some(l(&[("a", "x"), ("env", "prod")])),
            },
            Case {
                name: "replace to empty deletes the target",
                input: l(&[("a", "x"), ("b", "y")]),
                cfgs: vec![rc(Replace, &["a"], "x", "b", "")],
                want: Some(l(&[("a", "x")])),
            },
            Case {
                name: "missing source labels join as empty strings",
                input: l(&[("a", "x")]),
                cfgs: vec![rc(Replace, &["a", "zz", "a"], "(.*)", "j", "$1")],
                want: Some(l(&[("a", "x"), ("j", "x;;x")])),
            },
            Case {
                name: "named group expansion",
                input: l(&[("addr", "host:9100")]),
                cfgs: vec![rc(
                    Replace,
                    &["addr"],
                    "(?P<h>[^:]+):(?P<p>.*)",
                    "port",
                    "${p}",
                )],
                want: Some(l(&[("addr", "host:9100"), ("port", "9100")])),
            },
        ];
        for c in cases {
            for cfg in &c.cfgs {
                assert!(cfg.validate().is_ok(), "{}: {:?}", c.name, cfg.validate());
            }
            assert_eq!(relabel(&c.input, &c.cfgs), c.want, "{}", c.name);
        }
    }

    #[test]
    fn hashmod_uses_low_eight_bytes_big_endian() {
        // md5("") = d41d8cd98f00b204 e9800998ecf8427e
        assert_eq!(hashmod("", 1 << 63), 0xe9800998ecf8427e - (1 << 63));
        assert_eq!(hashmod("baz", 1000), 976);
    }

    #[test]
    fn validation_mirrors_prometheus() {
        use Action::*;
        let cases: Vec<(RelabelConfig, Option<&str>)> = vec![
            (cfg(Replace), Some("requires 'target_label' value")),
            (cfg(Lowercase), Some("requires 'target_label' value")),
            (
                RelabelConfig {
                    target_label: "${3}".into(),
                    ..cfg(Lowercase)
                },
                Some("\"${3}\" is invalid 'target_label'"),
            ),
            (
                rc(Replace, &["a"], "some-([^-]+)-([^,]+)", "${3}", "${1}"),
                None,
            ),
            (
                rc(Replace, &["a"], "x", "0${3}", "${1}"),
                Some("\"0${3}\" is invalid 'target_label'"),
            ),
            (
                rc(Replace, &["a"], "x", "-${3}", "${1}"),
                Some("\"-${3}\" is invalid 'target_label' for replace action"),
            ),
            (
                rc(HashMod, &["a"], "(.*)", "t", "$1"),
                Some("non-zero modulus"),
            ),
            (
                rc(LabelDrop, &["a"], "x", "", "$1"),
                Some("requires only 'regex'"),
            ),
            (
                rc(KeepEqual, &["a"], "x", "t", "$1"),
                Some("requires only 'source_labels'"),
            ),
            (
                rc(Uppercase, &["a"], "(.*)", "t", "z"),
                Some("'replacement' can not be set"),
            ),
            (
                rc(LabelMap, &[], "(.*)", "", "-bad"),
                Some("invalid 'replacement'"),
            ),
        ];
        for (c, want) in cases {
            match (c.validate(), want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.contains(w), "{e} should contain {w}"),
                (got, want) => panic!("{c:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn target_templates() {
        for (s, ok) in [
            ("-label", false),
            ("label", true),
            ("label${1}", true),
            ("${1}label", true),
            ("${1}", true),
            ("${", false),
            ("$", false),
            ("${}", false),
            ("foo${", false),
            ("$1", true),
            ("asd$2asd", true),
            ("-foo${1}bar-", false),
            ("_${1}_", true),
            ("foo${bar}foo", true),
        ] {
            assert_eq!(is_valid_target_template(s), ok, "{s}");
        }
    }

    #[test]
    fn yaml_defaults_and_unknown_fields() {
        let c: RelabelConfig =
            serde_yaml::from_str("source_labels: [a]\naction: DROP\nregex: x+").unwrap();
        assert_eq!(c.action, Action::Drop);
        assert_eq!(c.separator, ";");
        assert_eq!(c.replacement, "$1");
        assert!(c.regex.is_match("xx") && !c.regex.is_match("axx"));
        let d: RelabelConfig = serde_yaml::from_str("target_label: x").unwrap();
        assert_eq!(d.regex.as_str(), "(.*)");
        assert!(serde_yaml::from_str::<RelabelConfig>("bogus: 1").is_err());
        let e = serde_yaml::from_str::<RelabelConfig>("regex: '('").unwrap_err();
        assert!(e.to_string().contains("invalid regular expression"));
        assert!(serde_yaml::from_str::<RelabelConfig>("action: explode").is_err());
    }
}
