//! Evaluation of parsed templates and the function library alert templates use.

use super::gofmt::sprintf;
use super::humanize;
use super::parse::{Arg, Cmd, Node, Pipe};
use super::value::Val;
use std::sync::Arc;

/// Runs a PromQL instant query for the `query` function; returns sample records
/// (see [`Val::sample`]) or an error message.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> Result<Vec<Val>, String>;

/// Evaluation state: the root value (`.`), variables, and the query hook.
pub struct Exec<'a> {
    vars: Vec<(String, Val)>,
    query: Option<QueryFn<'a>>,
    steps: usize,
}

/// Upper bound on evaluated nodes, so a `range` over a huge query result cannot
/// stall a rule group.
const MAX_STEPS: usize = 100_000;

impl<'a> Exec<'a> {
    /// A new execution with predefined variables (`$` is the root data).
    pub fn new(vars: Vec<(String, Val)>, query: Option<QueryFn<'a>>) -> Self {
        Exec {
            vars,
            query,
            steps: 0,
        }
    }

    /// Renders `nodes` with `dot` as `.`.
    pub fn run(&mut self, nodes: &[Node], dot: &Val, out: &mut String) -> Result<(), String> {
        for n in nodes {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err("template too expensive: more than 100000 steps".into());
            }
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipe(p, dot)?;
                    if p.vars.is_empty() {
                        out.push_str(&v.to_string());
                    }
                }
                Node::If(p, then, els) => {
                    let mark = self.vars.len();
                    let v = self.pipe(p, dot)?;
                    let r = if v.truthy() {
                        self.run(then, dot, out)
                    } else {
                        self.run(els, dot, out)
                    };
                    self.vars.truncate(mark);
                    r?;
                }
                Node::With(p, body, els) => {
                    let mark = self.vars.len();
                    let v = self.pipe(p, dot)?;
                    let r = if v.truthy() {
                        self.run(body, &v, out)
                    } else {
                        self.run(els, dot, out)
                    };
                    self.vars.truncate(mark);
                    r?;
                }
                Node::Range(p, body, els) => {
                    let mark = self.vars.len();
                    let decl = Pipe {
                        vars: Vec::new(),
                        assign: false,
                        cmds: p.cmds.clone(),
                    };
                    let v = self.pipe(&decl, dot)?;
                    let items: Vec<(Val, Val)> = match &v {
                        Val::Map(m) => m
                            .iter()
                            .map(|(k, v)| (Val::Str(k.clone()), Val::Str(v.clone())))
                            .collect(),
                        Val::List(l) => l
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (Val::Int(i as i64), v.clone()))
                            .collect(),
                        Val::Int(n) if *n > MAX_STEPS as i64 => {
                            return Err(format!("range over {n} is too large"))
                        }
                        Val::Int(n) => (0..*n).map(|i| (Val::Int(i), Val::Int(i))).collect(),
                        Val::Nil => Vec::new(),
                        o => return Err(format!("range can't iterate over {o}")),
                    };
                    if items.is_empty() {
                        self.run(els, dot, out)?;
                    }
                    for (k, item) in items {
                        let inner = self.vars.len();
                        match p.vars.as_slice() {
                            [v] => self.vars.push((v.clone(), item.clone())),
                            [a, b] => {
                                self.vars.push((a.clone(), k));
                                self.vars.push((b.clone(), item.clone()));
                            }
                            _ => {}
                        }
                        let r = self.run(body, &item, out);
                        self.vars.truncate(inner);
                        r?;
                    }
                    self.vars.truncate(mark);
                }
            }
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Result<Val, String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("undefined variable: ${name}"))
    }

    fn pipe(&mut self, p: &Pipe, dot: &Val) -> Result<Val, String> {
        let mut last: Option<Val> = None;
        for c in &p.cmds {
            last = Some(self.cmd(c, dot, last)?);
        }
        let v = last.unwrap_or(Val::Nil);
        if p.assign {
            for name in &p.vars {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            }
        } else if p.vars.len() == 1 {
            self.vars.push((p.vars[0].clone(), v.clone()));
        }
        Ok(v)
    }

    fn cmd(&mut self, c: &Cmd, dot: &Val, piped: Option<Val>) -> Result<Val, String> {
        match c.args.first() {
            Some(Arg::Func(name)) => {
                let mut args = Vec::with_capacity(c.args.len());
                for a in &c.args[1..] {
                    args.push(self.arg(a, dot)?);
                }
                if let Some(p) = piped {
                    args.push(p);
                }
                self.call(name, args)
            }
            Some(a) => self.arg(a, dot),
            None => Ok(Val::Nil),
        }
    }

    fn arg(&mut self, a: &Arg, dot: &Val) -> Result<Val, String> {
        Ok(match a {
            Arg::Func(f) => self.call(f, Vec::new())?,
            Arg::Dot(fields) => fields_of(dot.clone(), fields)?,
            Arg::Var(v, fields) => {
                let base = if v.is_empty() {
                    self.lookup("")?
                } else {
                    self.lookup(v)?
                };
                fields_of(base, fields)?
            }
            Arg::Str(s) => Val::Str(s.clone()),
            Arg::Int(i) => Val::Int(*i),
            Arg::Float(f) => Val::Float(*f),
            Arg::Bool(b) => Val::Bool(*b),
            Arg::Nil => Val::Nil,
            Arg::Sub(p, fields) => {
                let v = self.pipe(p, dot)?;
                fields_of(v, fields)?
            }
        })
    }

    fn call(&mut self, name: &str, args: Vec<Val>) -> Result<Val, String> {
        let n = args.len();
        let want = |k: usize| -> Result<(), String> {
            if n == k {
                Ok(())
            } else {
                Err(format!("wrong number of args for {name}: want {k} got {n}"))
            }
        };
        let s = |v: &Val| v.to_string();
        Ok(match name {
            "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage"
            | "humanizeTimestamp" | "toTime" => {
                want(1)?;
                let v = to_float(&args[0])?;
                Val::Str(match name {
                    "humanize" => humanize::humanize(v),
                    "humanize1024" => humanize::humanize1024(v),
                    "humanizeDuration" => humanize::humanize_duration(v),
                    "humanizePercentage" => humanize::humanize_percentage(v),
                    _ => humanize::humanize_timestamp(v)?,
                })
            }
            "printf" => {
                if n == 0 {
                    return Err("wrong number of args for printf: want at least 1 got 0".into());
                }
                Val::Str(sprintf(&s(&args[0]), &args[1..]))
            }
            "print" | "println" => {
                let mut out = String::new();
                for (i, a) in args.iter().enumerate() {
                    let both_non_str =
                        i > 0 && !matches!(a, Val::Str(_)) && !matches!(args[i - 1], Val::Str(_));
                    if i > 0 && (name == "println" || both_non_str) {
                        out.push(' ');
                    }
                    out.push_str(&a.to_string());
                }
                if name == "println" {
                    out.push('\n');
                }
                Val::Str(out)
            }
            "title" => {
                want(1)?;
                Val::Str(title(&s(&args[0])))
            }
            "toUpper" => {
                want(1)?;
                Val::Str(s(&args[0]).to_uppercase())
            }
            "toLower" => {
                want(1)?;
                Val::Str(s(&args[0]).to_lowercase())
            }
            "safeHtml" => {
                want(1)?;
                Val::Str(s(&args[0]))
            }
            "reReplaceAll" => {
                want(3)?;
                let re = regex::Regex::new(&s(&args[0]))
                    .map_err(|e| format!("reReplaceAll: invalid pattern: {e}"))?;
                Val::Str(
                    re.replace_all(&s(&args[2]), s(&args[1]).as_str())
                        .into_owned(),
                )
            }
            "match" => {
                want(2)?;
                let re = regex::Regex::new(&s(&args[0]))
                    .map_err(|e| format!("match: invalid pattern: {e}"))?;
                Val::Bool(re.is_match(&s(&args[1])))
            }
            "stripPort" => {
                want(1)?;
                Val::Str(strip_port(&s(&args[0])))
            }
            "stripDomain" => {
                want(1)?;
                let h = s(&args[0]);
                let (host, port) = match h.rsplit_once(':') {
                    Some((a, p)) if !a.contains(':') => (a.to_string(), format!(":{p}")),
                    _ => (h.clone(), String::new()),
                };
                if host.parse::<std::net::IpAddr>().is_ok() {
                    Val::Str(h)
                } else {
                    Val::Str(format!("{}{port}", host.split('.').next().unwrap_or("")))
                }
            }
            "query" => {
                want(1)?;
                let q = self.query.ok_or("query is not available in this context")?;
                Val::List(Arc::new(q(&s(&args[0]))?))
            }
            "first" => {
                want(1)?;
                match &args[0] {
                    Val::List(l) => l
                        .first()
                        .cloned()
                        .ok_or("first() called on vector with no elements")?,
                    o => return Err(format!("first() called on {}", o.go_type())),
                }
            }
            "value" => {
                want(1)?;
                fields_of(args[0].clone(), &["Value".to_string()])?
            }
            "label" => {
                want(2)?;
                let labels = fields_of(args[1].clone(), &["Labels".to_string()])?;
                fields_of(labels, &[s(&args[0])])?
            }
            "strvalue" => {
                want(1)?;
                let labels = fields_of(args[0].clone(), &["Labels".to_string()])?;
                fields_of(labels, &["__value__".to_string()])?
            }
            "sortByLabel" => {
                want(2)?;
                let key = s(&args[0]);
                let Val::List(l) = &args[1] else {
                    return Err("sortByLabel called on a non-vector".into());
                };
                let mut items: Vec<(String, Val)> = Vec::with_capacity(l.len());
                for v in l.iter() {
                    let lv = fields_of(v.clone(), &["Labels".to_string()])
                        .and_then(|m| fields_of(m, std::slice::from_ref(&key)))?;
                    items.push((lv.to_string(), v.clone()));
                }
                items.sort_by(|a, b| a.0.cmp(&b.0));
                Val::List(Arc::new(items.into_iter().map(|x| x.1).collect()))
            }
            "len" => {
                want(1)?;
                Val::Int(match &args[0] {
                    Val::Str(x) => x.len() as i64,
                    Val::Map(m) => m.len() as i64,
                    Val::List(l) => l.len() as i64,
                    o => return Err(format!("len of type {}", o.go_type())),
                })
            }
            "index" => {
                if n < 1 {
                    return Err("wrong number of args for index".into());
                }
                let mut v = args[0].clone();
                for k in &args[1..] {
                    v = match (&v, k) {
                        (Val::Map(m), k) => Val::Str(m.get(&s(k)).cloned().unwrap_or_default()),
                        (Val::List(l), Val::Int(i)) => l
                            .get(usize::try_from(*i).map_err(|_| "index out of range")?)
                            .cloned()
                            .ok_or_else(|| format!("index out of range: {i}"))?,
                        (o, _) => return Err(format!("can't index item of type {}", o.go_type())),
                    };
                }
                v
            }
            "not" => {
                want(1)?;
                Val::Bool(!args[0].truthy())
            }
            "and" => args
                .iter()
                .find(|a| !a.truthy())
                .or(args.last())
                .cloned()
                .unwrap_or(Val::Nil),
            "or" => args
                .iter()
                .find(|a| a.truthy())
                .or(args.last())
                .cloned()
                .unwrap_or(Val::Nil),
            "eq" => {
                if n < 2 {
                    return Err("missing argument for comparison".into());
                }
                let mut any = false;
                for b in &args[1..] {
                    any |= compare(&args[0], b)? == std::cmp::Ordering::Equal;
                }
                Val::Bool(any)
            }
            "ne" | "lt" | "le" | "gt" | "ge" => {
                want(2)?;
                let o = compare(&args[0], &args[1])?;
                use std::cmp::Ordering::*;
                Val::Bool(match name {
                    "ne" => o != Equal,
                    "lt" => o == Less,
                    "le" => o != Greater,
                    "gt" => o == Greater,
                    _ => o != Less,
                })
            }
            other => return Err(format!("function \"{other}\" not defined")),
        })
    }
}

/// Follows `.a.b` on a value: struct fields, map keys (missing keys are "", as
/// Prometheus runs templates with `missingkey=zero`).
fn fields_of(mut v: Val, fields: &[String]) -> Result<Val, String> {
    for f in fields {
        v = match &v {
            Val::Record(r) => r
                .get(f.as_str())
                .cloned()
                .ok_or_else(|| format!("can't evaluate field {f} in type struct"))?,
            Val::Map(m) => Val::Str(m.get(f).cloned().unwrap_or_default()),
            Val::Nil => Val::Nil,
            o => return Err(format!("can't evaluate field {f} in type {}", o.go_type())),
        };
    }
    Ok(v)
}

/// Converts a value to float64 like Prometheus' `convertToFloat`.
pub fn to_float(v: &Val) -> Result<f64, String> {
    match v {
        Val::Float(f) => Ok(*f),
        Val::Int(i) => Ok(*i as f64),
        Val::Str(s) => parse_go_float(s)
            .ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        o => Err(format!("can't convert {} to float", o.go_type())),
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn compare(a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    use std::cmp::Ordering;
    let num = |v: &Val| match v {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        _ => None,
    };
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Ok(x.cmp(y)),
        (Val::Nil, Val::Nil) => Ok(Ordering::Equal),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => Ok(x.partial_cmp(&y).unwrap_or(Ordering::Less)),
            _ => Err(format!(
                "incompatible types for comparison: {} and {}",
                a.go_type(),
                b.go_type()
            )),
        },
    }
}

/// Go's `strings.Title`: upper-cases the first letter of every word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

/// Prometheus' `stripPort`: the host part of `host:port` (IPv6 brackets removed).
fn strip_port(h: &str) -> String {
    if let Some(rest) = h.strip_prefix('[') {
        if let Some((host, _)) = rest.split_once(']') {
            return host.to_string();
        }
    }
    match h.rsplit_once(':') {
        Some((host, _)) if !host.contains(':') => host.to_string(),
        _ => h.to_string(),
    }
}
