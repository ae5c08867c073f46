//! Values flowing through a template: the few Go types alert templates see.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A template value. Records model Go structs (`.Labels`, `.Value`); maps are the
/// `map[string]string` label sets; lists are query results.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// Go's nil / missing value.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer literal or length.
    Int(i64),
    /// A float64 (sample values, `$value`).
    Float(f64),
    /// A string.
    Str(String),
    /// A `map[string]string` (label sets).
    Map(Arc<BTreeMap<String, String>>),
    /// A slice (query results).
    List(Arc<Vec<Val>>),
    /// A struct with named fields (the root data, query samples).
    Record(Arc<BTreeMap<&'static str, Val>>),
}

impl Val {
    /// Go's truthiness for `if`, `with`, `and`, `or`, `not`.
    pub fn truthy(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Map(m) => !m.is_empty(),
            Val::List(l) => !l.is_empty(),
            Val::Record(_) => true,
        }
    }

    /// The Go type name used in `%!verb(type=value)` markers and errors.
    pub fn go_type(&self) -> &'static str {
        match self {
            Val::Nil => "<nil>",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) => "string",
            Val::Map(_) => "map[string]string",
            Val::List(_) => "[]interface {}",
            Val::Record(_) => "struct",
        }
    }

    /// A labels map from pairs.
    pub fn map_from<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Val {
        Val::Map(Arc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    /// A query sample record (`.Labels`, `.Value`), as Prometheus' `query` returns.
    pub fn sample(labels: BTreeMap<String, String>, value: f64) -> Val {
        let mut r = BTreeMap::new();
        r.insert("Labels", Val::Map(Arc::new(labels)));
        r.insert("Value", Val::Float(value));
        Val::Record(Arc::new(r))
    }
}

impl fmt::Display for Val {
    /// Prints like Go's `fmt.Sprint` of the corresponding Go value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Nil => f.write_str("<no value>"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Float(x) => f.write_str(&super::gofmt::format_g(*x, None)),
            Val::Str(s) => f.write_str(s),
            Val::Map(m) => {
                f.write_str("map[")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_str("]")
            }
            Val::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Val::Record(r) => {
                f.write_str("{")?;
                for (i, v) in r.values().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("}")
            }
        }
    }
}
