//! Label matchers (`=`, `!=`, `=~`, `!~`), the selection language of PromQL and of
//! every API that takes `match[]`.
//!
//! Regular expressions are fully anchored, as in Prometheus. Common shapes are
//! recognised once, when the matcher is built, and answered without running the
//! regex engine: `.*` (matches anything), `.+` (anything non-empty), a plain literal,
//! an alternation of literals (`a|b|c`) and a literal prefix (`api_.*`).

use regex::Regex;

/// The four matcher operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    RegexMatch,
    /// `!~`
    RegexNoMatch,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

/// Why a matcher could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    /// The regular expression does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern as given.
        pattern: String,
        /// The regex engine's message.
        reason: String,
    },
}

/// How a regex matcher is answered, chosen once at construction.
#[derive(Clone, Debug)]
enum RegexPlan {
    /// `.*`: every value, including the empty one.
    Any,
    /// `.+`: every non-empty value.
    NonEmpty,
    /// A pattern without metacharacters.
    Literal(String),
    /// `a|b|c` with literal branches, sorted for binary search.
    Set(Vec<String>),
    /// `prefix.*`
    Prefix(String),
    /// Anything else: the anchored regex.
    Regex(Regex),
}

/// A label matcher.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// Label name to test.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Value or pattern as written.
    pub value: String,
    plan: Option<RegexPlan>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

fn is_literal(s: &str) -> bool {
    !s.chars().any(regex_syntax::is_meta_character)
}

fn plan_regex(pattern: &str) -> Result<RegexPlan, MatcherError> {
    if pattern == ".*" {
        return Ok(RegexPlan::Any);
    }
    if pattern == ".+" {
        return Ok(RegexPlan::NonEmpty);
    }
    if is_literal(pattern) {
        return Ok(RegexPlan::Literal(pattern.to_string()));
    }
    if let Some(prefix) = pattern.strip_suffix(".*") {
        if is_literal(prefix) {
            return Ok(RegexPlan::Prefix(prefix.to_string()));
        }
    }
    if pattern.contains('|') && !pattern.contains(['(', ')', '\\']) {
        let parts: Vec<&str> = pattern.split('|').collect();
        if parts.iter().all(|p| is_literal(p)) {
            let mut set: Vec<String> = parts.into_iter().map(str::to_string).collect();
            set.sort();
            set.dedup();
            return Ok(RegexPlan::Set(set));
        }
    }
    Regex::new(&format!("^(?s:{pattern})$"))
        .map(RegexPlan::Regex)
        .map_err(|e| MatcherError::InvalidRegex {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })
}

impl Matcher {
    /// Builds a matcher, compiling and planning the regex for `=~` and `!~`.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let value = value.into();
        let plan = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => Some(plan_regex(&value)?),
            _ => None,
        };
        Ok(Matcher {
            name: name.into(),
            op,
            value,
            plan,
        })
    }

    /// Shorthand for an `=` matcher, which cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            plan: None,
        }
    }

    /// Tests one label value ("" when the label is absent, as in Prometheus).
    #[inline]
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::RegexMatch => self.regex_matches(v),
            MatchOp::RegexNoMatch => !self.regex_matches(v),
        }
    }

    fn regex_matches(&self, v: &str) -> bool {
        match self.plan.as_ref().expect("regex matcher always has a plan") {
            RegexPlan::Any => true,
            RegexPlan::NonEmpty => !v.is_empty(),
            RegexPlan::Literal(l) => v == l,
            RegexPlan::Set(s) => s.binary_search_by(|x| x.as_str().cmp(v)).is_ok(),
            RegexPlan::Prefix(p) => v.starts_with(p.as_str()),
            RegexPlan::Regex(r) => r.is_match(v),
        }
    }

    /// True when the matcher also matches the empty string, i.e. it selects series
    /// that do not have the label at all. Storage uses this to decide between
    /// postings intersection and subtraction.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// When the matcher can only match a finite known set of values, returns them,
    /// so storage can read exactly those postings lists instead of scanning values.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match (self.op, self.plan.as_ref()) {
            (MatchOp::Equal, _) => Some(vec![self.value.as_str()]),
            (MatchOp::RegexMatch, Some(RegexPlan::Literal(l))) => Some(vec![l.as_str()]),
            (MatchOp::RegexMatch, Some(RegexPlan::Set(s))) => {
                Some(s.iter().map(String::as_str).collect())
            }
            _ => None,
        }
    }

    /// The literal prefix every matching value must start with, if known.
    pub fn prefix(&self) -> Option<&str> {
        match (self.op, self.plan.as_ref()) {
            (MatchOp::RegexMatch, Some(RegexPlan::Prefix(p))) => Some(p),
            _ => None,
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(op: MatchOp, v: &str) -> Matcher {
        Matcher::new(op, "l", v).unwrap()
    }

    #[test]
    fn fast_paths_agree_with_regex_semantics() {
        let cases = [
            (".*", "", true),
            (".*", "abc", true),
            (".+", "", false),
            (".+", "x", true),
            ("foo", "foo", true),
            ("foo", "foobar", false),
            ("a|b|c", "b", true),
            ("a|b|c", "ab", false),
            ("api_.*", "api_v1", true),
            ("api_.*", "xapi_v1", false),
            ("fo+", "foo", true),
            ("fo+", "xfoo", false),
            ("(?i)FOO", "foo", true),
        ];
        for (pat, v, want) in cases {
            assert_eq!(m(MatchOp::RegexMatch, pat).matches(v), want, "{pat} on {v}");
            assert_eq!(
                m(MatchOp::RegexNoMatch, pat).matches(v),
                !want,
                "!{pat} on {v}"
            );
        }
    }

    #[test]
    fn dot_matches_newline_like_prometheus() {
        assert!(m(MatchOp::RegexMatch, "a.b").matches("a\nb"));
    }

    #[test]
    fn invalid_regex_is_an_error() {
        let e = Matcher::new(MatchOp::RegexMatch, "l", "(").unwrap_err();
        assert!(e.to_string().contains("invalid regular expression"));
    }

    #[test]
    fn set_matches_and_empty() {
        assert_eq!(
            m(MatchOp::RegexMatch, "b|a").set_matches(),
            Some(vec!["a", "b"])
        );
        assert!(m(MatchOp::RegexMatch, ".*").matches_empty());
        assert!(!m(MatchOp::Equal, "x").matches_empty());
        assert!(m(MatchOp::NotEqual, "x").matches_empty());
    }
}
