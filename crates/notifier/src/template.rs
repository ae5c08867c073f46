//! A small Go-template subset, enough for the templates people put in
//! Alertmanager configurations: `{{ .CommonLabels.alertname }}`, `{{ .Status }}`,
//! `{{ range .Alerts }}…{{ end }}`, `{{ if }}/{{ else }}`, `{{ with }}`, pipelines
//! (`{{ .GroupLabels.SortedPairs.Values | join " " }}`), `len`, `toUpper`,
//! `toLower`, `title`, `join`, `eq`/`ne`/`lt`/`gt`, `and`/`or`/`not`, `index`,
//! `printf`, `reReplaceAll`, `trimSpace`, `safeHtml`, variables (`$`, `$x :=`),
//! `{{ define }}` and `{{ template }}`. Anything else is rejected when the
//! configuration is loaded, with a message naming the construct.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A value templates operate on.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Missing value.
    Nil,
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i64),
    /// String.
    Str(String),
    /// A list.
    List(Vec<Value>),
    /// A struct-like object with named fields.
    Map(BTreeMap<String, Value>),
    /// Alertmanager's `KV` (labels, annotations): `.SortedPairs`, `.Names`,
    /// `.Values`, `.Remove`, and key lookup.
    Kv(BTreeMap<String, String>),
    /// Alertmanager's `Pairs`: `.Names`, `.Values`, ranged as `{Name, Value}`.
    Pairs(Vec<(String, String)>),
    /// Alertmanager's `Alerts`: a list with `.Firing` and `.Resolved`.
    Alerts(Vec<Value>),
    /// A timestamp.
    Time(DateTime<Utc>),
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) | Value::Alerts(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Kv(m) => !m.is_empty(),
            Value::Pairs(p) => !p.is_empty(),
            Value::Time(_) => true,
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Nil => out.push_str("<no value>"),
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Str(s) => out.push_str(s),
            Value::List(l) | Value::Alerts(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write(out);
                }
                out.push(']');
            }
            Value::Kv(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let _ = write!(out, "{k}:{v}");
                }
                out.push(']');
            }
            Value::Pairs(p) => {
                out.push('[');
                for (i, (k, v)) in p.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let _ = write!(out, "{{{k} {v}}}");
                }
                out.push(']');
            }
            Value::Time(t) => {
                let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.f +0000 UTC"));
            }
        }
    }

    fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    fn items(&self) -> Result<Vec<Value>, String> {
        Ok(match self {
            Value::Nil => Vec::new(),
            Value::List(l) | Value::Alerts(l) => l.clone(),
            Value::Pairs(p) => p.iter().map(|(k, v)| pair(k, v)).collect(),
            Value::Kv(m) => m.values().map(|v| Value::Str(v.clone())).collect(),
            Value::Map(m) => m.values().cloned().collect(),
            other => return Err(format!("range can't iterate over {}", other.to_text())),
        })
    }

    fn field(&self, name: &str) -> Result<Value, String> {
        Ok(match self {
            Value::Map(m) => m.get(name).cloned().unwrap_or(Value::Nil),
            Value::Kv(m) => match name {
                "SortedPairs" => {
                    Value::Pairs(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                }
                "Names" => Value::List(m.keys().map(|k| Value::Str(k.clone())).collect()),
                "Values" => Value::List(m.values().map(|v| Value::Str(v.clone())).collect()),
                _ => Value::Str(m.get(name).cloned().unwrap_or_default()),
            },
            Value::Pairs(p) => match name {
                "Names" => Value::List(p.iter().map(|(k, _)| Value::Str(k.clone())).collect()),
                "Values" => Value::List(p.iter().map(|(_, v)| Value::Str(v.clone())).collect()),
                _ => return Err(format!("can't evaluate field {name} in type Pairs")),
            },
            Value::Alerts(l) => match name {
                "Firing" | "Resolved" => {
                    let want = if name == "Firing" {
                        "firing"
                    } else {
                        "resolved"
                    };
                    Value::Alerts(
                        l.iter()
                            .filter(|a| matches!(a, Value::Map(m) if m.get("Status") == Some(&Value::Str(want.into()))))
                            .cloned()
                            .collect(),
                    )
                }
                _ => return Err(format!("can't evaluate field {name} in type Alerts")),
            },
            Value::Nil => Value::Nil,
            other => {
                return Err(format!(
                    "can't evaluate field {name} in {}",
                    other.to_text()
                ))
            }
        })
    }
}

fn pair(k: &str, v: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Name".into(), Value::Str(k.into()));
    m.insert("Value".into(), Value::Str(v.into()));
    Value::Map(m)
}

#[derive(Debug, Clone)]
enum Arg {
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Str(String),
    Int(i64),
    Bool(bool),
    Nil,
    Func(String),
    Sub(Box<Pipe>, Vec<String>),
}

#[derive(Debug, Clone)]
struct Pipe {
    decl: Vec<String>,
    cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Vec<(Pipe, Vec<Node>)>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
    Template(String, Option<Pipe>),
}

const FUNCS: &[&str] = &[
    "len",
    "join",
    "toUpper",
    "toLower",
    "title",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "index",
    "printf",
    "print",
    "reReplaceAll",
    "trimSpace",
    "safeHtml",
    "match",
    "stringSlice",
];

/// A parsed template, with the `{{ define }}` blocks it declared.
#[derive(Debug, Clone)]
pub struct Template {
    root: Vec<Node>,
    defines: HashMap<String, Vec<Node>>,
}

/// A set of named templates (`{{ define }}`) that `{{ template "name" . }}` can call,
/// pre-filled with Sightline's defaults under Alertmanager's names.
#[derive(Debug, Clone, Default)]
pub struct Library {
    defines: HashMap<String, Arc<Vec<Node>>>,
}

// ---------- lexing ----------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(i64),
    Ident(String),
    Field(Vec<String>),
    Var(String, Vec<String>),
    Dot,
    Pipe,
    LParen,
    RParen,
    Assign,
    Comma,
}

fn lex_action(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'|' => {
                out.push(Tok::Pipe);
                i += 1
            }
            b'(' => {
                out.push(Tok::LParen);
                i += 1
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1
            }
            b',' => {
                out.push(Tok::Comma);
                i += 1
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                out.push(Tok::Assign);
                i += 2
            }
            b'=' => {
                out.push(Tok::Assign);
                i += 1
            }
            b'"' => {
                let mut v = String::new();
                let mut j = i + 1;
                let mut chars = s[j..].char_indices();
                let mut done = false;
                while let Some((k, ch)) = chars.next() {
                    match ch {
                        '\\' => match chars.next() {
                            Some((_, 'n')) => v.push('\n'),
                            Some((_, 't')) => v.push('\t'),
                            Some((_, o)) => v.push(o),
                            None => break,
                        },
                        '"' => {
                            j += k + 1;
                            done = true;
                            break;
                        }
                        o => v.push(o),
                    }
                }
                if !done {
                    return Err("unterminated string in template".into());
                }
                out.push(Tok::Str(v));
                i = j;
            }
            b'`' => {
                let end = s[i + 1..]
                    .find('`')
                    .ok_or("unterminated raw string in template")?;
                out.push(Tok::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            b'.' | b'$' => {
                let var = c == b'$';
                let mut j = i + 1;
                let mut name = String::new();
                if var {
                    while j < b.len() && ident(b[j]) {
                        j += 1;
                    }
                    name = s[i..j].to_string();
                } else {
                    j = i;
                }
                let mut fields = Vec::new();
                while j < b.len() && b[j] == b'.' {
                    let st = j + 1;
                    let mut k = st;
                    while k < b.len() && ident(b[k]) {
                        k += 1;
                    }
                    if k == st {
                        if !var && fields.is_empty() {
                            j = k;
                            break;
                        }
                        return Err(format!("bad field syntax in {s:?}"));
                    }
                    fields.push(s[st..k].to_string());
                    j = k;
                }
                out.push(if var {
                    Tok::Var(name, fields)
                } else if fields.is_empty() {
                    Tok::Dot
                } else {
                    Tok::Field(fields)
                });
                i = j.max(i + 1);
            }
            b'-' | b'0'..=b'9' => {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let n = s[i..j]
                    .parse()
                    .map_err(|_| format!("unsupported number {:?} in template", &s[i..j]))?;
                out.push(Tok::Num(n));
                i = j;
            }
            c if ident(c) => {
                let mut j = i;
                while j < b.len() && ident(b[j]) {
                    j += 1;
                }
                out.push(Tok::Ident(s[i..j].to_string()));
                i = j;
            }
            _ => {
                return Err(format!(
                    "unexpected character {:?} in template action",
                    c as char
                ))
            }
        }
    }
    Ok(out)
}

struct PipeParser {
    toks: Vec<Tok>,
    pos: usize,
}

impl PipeParser {
    fn pipe(&mut self, nested: bool) -> Result<Pipe, String> {
        let mut decl = Vec::new();
        // `$x :=` or `$i, $x :=`
        let save = self.pos;
        while let Some(Tok::Var(n, f)) = self.toks.get(self.pos).cloned() {
            if !f.is_empty() {
                break;
            }
            decl.push(n);
            self.pos += 1;
            if self.toks.get(self.pos) == Some(&Tok::Comma) {
                self.pos += 1;
            }
        }
        if !decl.is_empty() && self.toks.get(self.pos) == Some(&Tok::Assign) {
            self.pos += 1;
        } else {
            decl.clear();
            self.pos = save;
        }
        let mut cmds = Vec::new();
        let mut cur = Vec::new();
        loop {
            match self.toks.get(self.pos).cloned() {
                None => break,
                Some(Tok::RParen) if nested => break,
                Some(Tok::Pipe) => {
                    if cur.is_empty() {
                        return Err("missing command before '|'".into());
                    }
                    cmds.push(std::mem::take(&mut cur));
                    self.pos += 1;
                }
                Some(t) => {
                    self.pos += 1;
                    let a = match t {
                        Tok::Str(s) => Arg::Str(s),
                        Tok::Num(n) => Arg::Int(n),
                        Tok::Dot => Arg::Dot(Vec::new()),
                        Tok::Field(f) => Arg::Dot(f),
                        Tok::Var(n, f) => Arg::Var(n, f),
                        Tok::Ident(id) => match id.as_str() {
                            "true" => Arg::Bool(true),
                            "false" => Arg::Bool(false),
                            "nil" => Arg::Nil,
                            f if FUNCS.contains(&f) => Arg::Func(id),
                            other => {
                                return Err(format!(
                                    "function {other:?} not defined (supported: {})",
                                    FUNCS.join(", ")
                                ))
                            }
                        },
                        Tok::LParen => {
                            let p = self.pipe(true)?;
                            if self.toks.get(self.pos) != Some(&Tok::RParen) {
                                return Err("unclosed parenthesis in template".into());
                            }
                            self.pos += 1;
                            let mut fields = Vec::new();
                            if let Some(Tok::Field(f)) = self.toks.get(self.pos) {
                                fields = f.clone();
                                self.pos += 1;
                            }
                            Arg::Sub(Box::new(p), fields)
                        }
                        Tok::RParen => return Err("unexpected ')' in template".into()),
                        Tok::Assign | Tok::Comma => {
                            return Err("unsupported variable assignment in template".into())
                        }
                        Tok::Pipe => unreachable!("handled above"),
                    };
                    cur.push(a);
                }
            }
        }
        if cur.is_empty() {
            if cmds.is_empty() {
                return Err("missing value in template action".into());
            }
            return Err("missing command after '|'".into());
        }
        cmds.push(cur);
        Ok(Pipe { decl, cmds })
    }
}

fn parse_pipe(s: &str) -> Result<Pipe, String> {
    let mut p = PipeParser {
        toks: lex_action(s)?,
        pos: 0,
    };
    let pipe = p.pipe(false)?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected {:?} in template action", p.toks[p.pos]));
    }
    Ok(pipe)
}

enum Item {
    Text(String),
    Action(String),
}

fn split(src: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "unclosed action: missing }}".to_string())?;
        let mut inner = &after[..end];
        if inner.starts_with('-') && inner[1..].starts_with(char::is_whitespace) {
            text = text.trim_end();
            inner = &inner[1..];
        }
        trim_next = false;
        if inner.ends_with('-') && inner[..inner.len() - 1].ends_with(char::is_whitespace) {
            trim_next = true;
            inner = &inner[..inner.len() - 1];
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        let inner = inner.trim();
        if !(inner.starts_with("/*") && inner.ends_with("*/")) {
            items.push(Item::Action(inner.to_string()));
        }
        rest = &after[end + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        items.push(Item::Text(text.to_string()));
    }
    Ok(items)
}

struct Parser {
    items: Vec<Item>,
    pos: usize,
    defines: HashMap<String, Vec<Node>>,
}

enum Stop {
    End,
    Else(Option<String>),
    Eof,
}

fn keyword(a: &str) -> (&str, &str) {
    let kw = a.split(|c: char| c.is_whitespace()).next().unwrap_or("");
    (kw, a[kw.len()..].trim())
}

impl Parser {
    fn list(&mut self) -> Result<(Vec<Node>, Stop), String> {
        let mut nodes = Vec::new();
        while self.pos < self.items.len() {
            let i = self.pos;
            self.pos += 1;
            let a = match &self.items[i] {
                Item::Text(t) => {
                    nodes.push(Node::Text(t.clone()));
                    continue;
                }
                Item::Action(a) => a.clone(),
            };
            let (kw, rest) = keyword(&a);
            match kw {
                "end" => return Ok((nodes, Stop::End)),
                "else" => {
                    let cond = rest.strip_prefix("if").map(|r| r.trim().to_string());
                    if !rest.is_empty() && cond.is_none() {
                        return Err(format!(
                            "unsupported template construct {{{{else {rest}}}}}"
                        ));
                    }
                    return Ok((nodes, Stop::Else(cond)));
                }
                "if" => {
                    let mut branches = vec![(parse_pipe(rest)?, Vec::new())];
                    let mut otherwise = Vec::new();
                    loop {
                        let (body, stop) = self.list()?;
                        match stop {
                            Stop::End => {
                                branches.last_mut().expect("one branch").1 = body;
                                break;
                            }
                            Stop::Else(Some(cond)) => {
                                branches.last_mut().expect("one branch").1 = body;
                                branches.push((parse_pipe(&cond)?, Vec::new()));
                            }
                            Stop::Else(None) => {
                                branches.last_mut().expect("one branch").1 = body;
                                let (b, stop) = self.list()?;
                                if !matches!(stop, Stop::End) {
                                    return Err("missing {{end}} after {{else}}".into());
                                }
                                otherwise = b;
                                break;
                            }
                            Stop::Eof => {
                                return Err("unexpected EOF: missing {{end}} for {{if}}".into())
                            }
                        }
                    }
                    nodes.push(Node::If(branches, otherwise));
                }
                "range" | "with" => {
                    let p = parse_pipe(rest)?;
                    let (body, stop) = self.list()?;
                    let otherwise = match stop {
                        Stop::End => Vec::new(),
                        Stop::Else(None) => {
                            let (b, s) = self.list()?;
                            if !matches!(s, Stop::End) {
                                return Err(format!("missing {{{{end}}}} for {{{{{kw}}}}}"));
                            }
                            b
                        }
                        Stop::Else(Some(_)) => {
                            return Err(format!(
                                "{{{{else if}}}} inside {{{{{kw}}}}} is not supported"
                            ))
                        }
                        Stop::Eof => {
                            return Err(format!(
                                "unexpected EOF: missing {{{{end}}}} for {{{{{kw}}}}}"
                            ))
                        }
                    };
                    nodes.push(if kw == "range" {
                        Node::Range(p, body, otherwise)
                    } else {
                        Node::With(p, body, otherwise)
                    });
                }
                "define" => {
                    let name = match lex_action(rest)?.as_slice() {
                        [Tok::Str(n)] => n.clone(),
                        _ => return Err("{{define}} needs a quoted name".into()),
                    };
                    let (body, stop) = self.list()?;
                    if !matches!(stop, Stop::End) {
                        return Err(format!("missing {{{{end}}}} for define {name:?}"));
                    }
                    self.defines.insert(name, body);
                }
                "template" => {
                    let toks = lex_action(rest)?;
                    let name = match toks.first() {
                        Some(Tok::Str(n)) => n.clone(),
                        _ => return Err("{{template}} needs a quoted name".into()),
                    };
                    let pipe = if toks.len() > 1 {
                        let mut p = PipeParser { toks, pos: 1 };
                        Some(p.pipe(false)?)
                    } else {
                        None
                    };
                    nodes.push(Node::Template(name, pipe));
                }
                "block" | "break" | "continue" => {
                    return Err(format!("unsupported template construct {{{{{kw}}}}}"))
                }
                _ => nodes.push(Node::Action(parse_pipe(&a)?)),
            }
        }
        Ok((nodes, Stop::Eof))
    }
}

impl Template {
    /// Parses template text; errors name the unsupported or malformed construct.
    pub fn parse(src: &str) -> Result<Template, String> {
        let mut p = Parser {
            items: split(src)?,
            pos: 0,
            defines: HashMap::new(),
        };
        let (root, stop) = p.list()?;
        match stop {
            Stop::Eof => Ok(Template {
                root,
                defines: p.defines,
            }),
            Stop::End => Err("unexpected {{end}}".into()),
            Stop::Else(_) => Err("unexpected {{else}}".into()),
        }
    }

    /// Renders with `data` as `.`; `lib` provides `{{ template }}` targets.
    pub fn render(&self, data: &Value, lib: &Library) -> Result<String, String> {
        let mut ex = Exec {
            lib,
            local: &self.defines,
            vars: vec![("$".to_string(), data.clone())],
            depth: 0,
        };
        let mut out = String::new();
        ex.nodes(&self.root, data, &mut out)?;
        Ok(out)
    }
}

impl Library {
    /// A library holding Sightline's default templates.
    pub fn with_defaults() -> Library {
        let mut lib = Library::default();
        lib.add(DEFAULTS).expect("built-in templates parse");
        lib
    }

    /// Adds the `{{ define }}` blocks of `src` (a template file).
    pub fn add(&mut self, src: &str) -> Result<(), String> {
        let t = Template::parse(src)?;
        for (k, v) in t.defines {
            self.defines.insert(k, Arc::new(v));
        }
        Ok(())
    }

    /// True when a template of this name is defined.
    pub fn has(&self, name: &str) -> bool {
        self.defines.contains_key(name)
    }
}

struct Exec<'a> {
    lib: &'a Library,
    local: &'a HashMap<String, Vec<Node>>,
    vars: Vec<(String, Value)>,
    depth: usize,
}

impl Exec<'_> {
    fn nodes(&mut self, nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), String> {
        for n in nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipe(p, dot)?;
                    if p.decl.is_empty() {
                        v.write(out);
                    }
                }
                Node::If(branches, otherwise) => {
                    let mut done = false;
                    for (cond, body) in branches {
                        if self.pipe(cond, dot)?.truthy() {
                            self.scoped(body, dot, out)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.scoped(otherwise, dot, out)?;
                    }
                }
                Node::With(p, body, otherwise) => {
                    let v = self.pipe(p, dot)?;
                    if v.truthy() {
                        self.scoped(body, &v, out)?;
                    } else {
                        self.scoped(otherwise, dot, out)?;
                    }
                }
                Node::Range(p, body, otherwise) => {
                    let mark = self.vars.len();
                    let v = self.eval_pipe_value(p, dot)?;
                    let items = v.items()?;
                    if items.is_empty() {
                        self.scoped(otherwise, dot, out)?;
                    }
                    for (i, it) in items.into_iter().enumerate() {
                        match p.decl.as_slice() {
                            [x] => self.vars.push((x.clone(), it.clone())),
                            [k, x] => {
                                self.vars.push((k.clone(), Value::Int(i as i64)));
                                self.vars.push((x.clone(), it.clone()));
                            }
                            _ => {}
                        }
                        self.scoped(body, &it, out)?;
                        self.vars.truncate(mark);
                    }
                }
                Node::Template(name, p) => {
                    let body = match self.local.get(name) {
                        Some(b) => b.clone(),
                        None => self
                            .lib
                            .defines
                            .get(name)
                            .map(|b| (**b).clone())
                            .ok_or_else(|| format!("no such template {name:?}"))?,
                    };
                    let v = match p {
                        Some(p) => self.pipe(p, dot)?,
                        None => Value::Nil,
                    };
                    self.depth += 1;
                    if self.depth > 50 {
                        return Err("template recursion too deep".into());
                    }
                    let saved = std::mem::replace(&mut self.vars, vec![("$".into(), v.clone())]);
                    let r = self.nodes(&body, &v, out);
                    self.vars = saved;
                    self.depth -= 1;
                    r?;
                }
            }
        }
        Ok(())
    }

    fn scoped(&mut self, nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), String> {
        let mark = self.vars.len();
        let r = self.nodes(nodes, dot, out);
        self.vars.truncate(mark);
        r
    }

    fn eval_pipe_value(&mut self, p: &Pipe, dot: &Value) -> Result<Value, String> {
        let bare = Pipe {
            decl: Vec::new(),
            cmds: p.cmds.clone(),
        };
        self.pipe(&bare, dot)
    }

    fn pipe(&mut self, p: &Pipe, dot: &Value) -> Result<Value, String> {
        let mut prev: Option<Value> = None;
        for cmd in &p.cmds {
            prev = Some(self.command(cmd, dot, prev)?);
        }
        let v = prev.unwrap_or(Value::Nil);
        if let [name] = p.decl.as_slice() {
            self.vars.push((name.clone(), v.clone()));
        }
        Ok(v)
    }

    fn var(&self, name: &str) -> Result<Value, String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("undefined variable {name}"))
    }

    fn arg(&mut self, a: &Arg, dot: &Value) -> Result<Value, String> {
        Ok(match a {
            Arg::Dot(f) => chase(dot.clone(), f)?,
            Arg::Var(n, f) => chase(self.var(n)?, f)?,
            Arg::Str(s) => Value::Str(s.clone()),
            Arg::Int(i) => Value::Int(*i),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Nil => Value::Nil,
            Arg::Func(f) => call(f, Vec::new())?,
            Arg::Sub(p, f) => {
                let v = self.eval_pipe_value(p, dot)?;
                chase(v, f)?
            }
        })
    }

    fn command(&mut self, cmd: &[Arg], dot: &Value, prev: Option<Value>) -> Result<Value, String> {
        match &cmd[0] {
            Arg::Func(f) => {
                let mut args = Vec::with_capacity(cmd.len());
                for a in &cmd[1..] {
                    args.push(self.arg(a, dot)?);
                }
                args.extend(prev);
                call(f, args)
            }
            Arg::Dot(fields) if fields.last().map(String::as_str) == Some("Remove") => {
                // `.CommonLabels.Remove .GroupLabels.Names`
                let base = chase(dot.clone(), &fields[..fields.len() - 1])?;
                let mut names = Vec::new();
                for a in &cmd[1..] {
                    names.extend(self.arg(a, dot)?.items()?);
                }
                names.extend(prev.map(|v| v.items()).transpose()?.unwrap_or_default());
                match base {
                    Value::Kv(mut m) => {
                        for n in names {
                            m.remove(&n.to_text());
                        }
                        Ok(Value::Kv(m))
                    }
                    other => Err(format!("can't call Remove on {}", other.to_text())),
                }
            }
            first => {
                if cmd.len() > 1 || prev.is_some() {
                    return Err("can't give arguments to a non-function value".into());
                }
                self.arg(first, dot)
            }
        }
    }
}

fn chase(mut v: Value, fields: &[String]) -> Result<Value, String> {
    for f in fields {
        v = v.field(f)?;
    }
    Ok(v)
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn compare(f: &str, a: &Value, b: &Value) -> Result<bool, String> {
    let ord = match (as_int(a), as_int(b), a, b) {
        (Some(x), Some(y), _, _) => x.cmp(&y),
        (_, _, Value::Str(x), Value::Str(y)) => x.cmp(y),
        _ if f == "eq" || f == "ne" => {
            return Ok((a.to_text() == b.to_text()) == (f == "eq"));
        }
        _ => return Err(format!("{f}: incompatible types for comparison")),
    };
    use std::cmp::Ordering::*;
    Ok(match f {
        "eq" => ord == Equal,
        "ne" => ord != Equal,
        "lt" => ord == Less,
        "le" => ord != Greater,
        "gt" => ord == Greater,
        _ => ord != Less,
    })
}

fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '\'';
    }
    out
}

fn printf(args: &[Value]) -> Result<String, String> {
    let fmt = args.first().map(Value::to_text).unwrap_or_default();
    let mut out = String::new();
    let mut rest = args.iter().skip(1);
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s' | 'v' | 'd') => rest
                .next()
                .ok_or("printf: missing argument")?
                .write(&mut out),
            Some('q') => {
                let _ = write!(
                    out,
                    "{:?}",
                    rest.next().ok_or("printf: missing argument")?.to_text()
                );
            }
            other => {
                return Err(format!(
                    "printf: unsupported verb %{}",
                    other.unwrap_or(' ')
                ))
            }
        }
    }
    Ok(out)
}

fn call(f: &str, args: Vec<Value>) -> Result<Value, String> {
    let n = args.len();
    let want = |k: usize| -> Result<(), String> {
        if n == k {
            Ok(())
        } else {
            Err(format!("wrong number of args for {f}: want {k} got {n}"))
        }
    };
    Ok(match f {
        "len" => {
            want(1)?;
            Value::Int(match &args[0] {
                Value::Str(s) => s.len(),
                Value::List(l) | Value::Alerts(l) => l.len(),
                Value::Map(m) => m.len(),
                Value::Kv(m) => m.len(),
                Value::Pairs(p) => p.len(),
                Value::Nil => 0,
                other => return Err(format!("len of {}", other.to_text())),
            } as i64)
        }
        "join" => {
            want(2)?;
            let sep = args[0].to_text();
            let parts: Vec<String> = args[1].items()?.iter().map(Value::to_text).collect();
            Value::Str(parts.join(&sep))
        }
        "toUpper" | "toLower" | "title" | "trimSpace" | "safeHtml" => {
            want(1)?;
            let s = args[0].to_text();
            Value::Str(match f {
                "toUpper" => s.to_uppercase(),
                "toLower" => s.to_lowercase(),
                "title" => title_case(&s),
                "trimSpace" => s.trim().to_string(),
                _ => s,
            })
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            if n < 2 {
                return Err(format!("{f} needs two arguments"));
            }
            if f == "eq" && n > 2 {
                let mut any = false;
                for b in &args[1..] {
                    any |= compare("eq", &args[0], b)?;
                }
                Value::Bool(any)
            } else {
                want(2)?;
                Value::Bool(compare(f, &args[0], &args[1])?)
            }
        }
        "and" | "or" => {
            if n == 0 {
                return Err(format!("{f} needs arguments"));
            }
            let pick = if f == "and" {
                args.iter().find(|a| !a.truthy())
            } else {
                args.iter().find(|a| a.truthy())
            };
            pick.cloned().unwrap_or_else(|| args[n - 1].clone())
        }
        "not" => {
            want(1)?;
            Value::Bool(!args[0].truthy())
        }
        "index" => {
            want(2)?;
            match (&args[0], &args[1]) {
                (Value::Kv(m), k) => Value::Str(m.get(&k.to_text()).cloned().unwrap_or_default()),
                (Value::Map(m), k) => m.get(&k.to_text()).cloned().unwrap_or(Value::Nil),
                (Value::List(l) | Value::Alerts(l), Value::Int(i)) => l
                    .get(usize::try_from(*i).map_err(|_| "index out of range")?)
                    .cloned()
                    .ok_or("index out of range")?,
                _ => return Err("index: unsupported operands".into()),
            }
        }
        "printf" => Value::Str(printf(&args)?),
        "print" => Value::Str(
            args.iter()
                .map(Value::to_text)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "reReplaceAll" => {
            want(3)?;
            let re =
                regex::Regex::new(&args[0].to_text()).map_err(|e| format!("reReplaceAll: {e}"))?;
            Value::Str(
                re.replace_all(&args[2].to_text(), args[1].to_text().as_str())
                    .into_owned(),
            )
        }
        "match" => {
            want(2)?;
            let re = regex::Regex::new(&args[0].to_text()).map_err(|e| format!("match: {e}"))?;
            Value::Bool(re.is_match(&args[1].to_text()))
        }
        "stringSlice" => Value::List(args),
        other => return Err(format!("function {other:?} not defined")),
    })
}

/// Sightline's default templates, registered under Alertmanager's names so that
/// configurations written for Alertmanager keep working.
pub const DEFAULTS: &str = r#"
{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }}{{ if gt (len .CommonLabels) (len .GroupLabels) }} ({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{ define "__alertmanager" }}Sightline{{ end }}
{{ define "__alertmanagerURL" }}{{ .ExternalURL }}/alerts{{ end }}
{{ define "__description" }}{{ end }}
{{ define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}
{{ define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "slack.default.fallback" }}{{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}{{ end }}
{{ define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "slack.default.pretext" }}{{ end }}
{{ define "slack.default.footer" }}{{ end }}
{{ define "slack.default.callbackid" }}{{ end }}
{{ define "slack.default.iconemoji" }}{{ end }}
{{ define "slack.default.iconurl" }}{{ end }}
{{ define "slack.default.text" }}{{ range .Alerts }}{{ if .Annotations.summary }}*{{ .Annotations.summary }}*
{{ end }}{{ if .Annotations.description }}{{ .Annotations.description }}
{{ end }}{{ end }}{{ end }}
{{ define "pagerduty.default.description" }}{{ template "__subject" . }}{{ end }}
{{ define "pagerduty.default.client" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "pagerduty.default.clientURL" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "pagerduty.default.instances" }}{{ template "__text_alert_list" . }}{{ end }}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Value {
        Value::Kv(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    fn data() -> Value {
        let alert = |status: &str, name: &str| {
            let mut m = BTreeMap::new();
            m.insert("Status".into(), Value::Str(status.into()));
            m.insert(
                "Labels".into(),
                kv(&[
                    ("alertname", "HighErrors"),
                    ("instance", name),
                    ("severity", "critical"),
                ]),
            );
            m.insert("Annotations".into(), kv(&[("summary", "errors high")]));
            Value::Map(m)
        };
        let mut m = BTreeMap::new();
        m.insert("Status".into(), Value::Str("firing".into()));
        m.insert(
            "Alerts".into(),
            Value::Alerts(vec![alert("firing", "a"), alert("resolved", "b")]),
        );
        m.insert("GroupLabels".into(), kv(&[("alertname", "HighErrors")]));
        m.insert(
            "CommonLabels".into(),
            kv(&[("alertname", "HighErrors"), ("severity", "critical")]),
        );
        m.insert("ExternalURL".into(), Value::Str("http://s".into()));
        Value::Map(m)
    }

    fn render(src: &str) -> Result<String, String> {
        Template::parse(src)?.render(&data(), &Library::with_defaults())
    }

    #[test]
    fn common_forms() {
        assert_eq!(
            render("{{ .CommonLabels.alertname }}").unwrap(),
            "HighErrors"
        );
        assert_eq!(render("{{ .Status | toUpper }}").unwrap(), "FIRING");
        assert_eq!(
            render("{{ len .Alerts.Firing }}/{{ .Alerts.Resolved | len }}").unwrap(),
            "1/1"
        );
        assert_eq!(
            render(r#"{{ .GroupLabels.SortedPairs.Values | join " " }}"#).unwrap(),
            "HighErrors"
        );
        assert_eq!(
            render("{{ range .Alerts }}{{ .Labels.instance }}:{{ .Annotations.summary | title }};{{ end }}").unwrap(),
            "a:Errors High;b:Errors High;"
        );
        assert_eq!(
            render(r#"{{ if eq .Status "firing" }}F{{ else }}R{{ end }}"#).unwrap(),
            "F"
        );
        assert_eq!(
            render("{{ range $i, $a := .Alerts }}{{ $i }}{{ $a.Labels.instance }}{{ end }}")
                .unwrap(),
            "0a1b"
        );
        assert_eq!(
            render("{{ template \"__subject\" . }}").unwrap(),
            "[FIRING:1] HighErrors (critical)"
        );
        assert_eq!(render("a  {{- .Status -}}  b").unwrap(), "afiringb");
        assert_eq!(
            render(r#"{{ with .CommonLabels.nope }}x{{ else }}none{{ end }}"#).unwrap(),
            "none"
        );
        assert_eq!(render(r#"{{ printf "%s=%d" "a" 3 }}"#).unwrap(), "a=3");
    }

    #[test]
    fn clear_errors() {
        assert!(Template::parse("{{ .Status ")
            .unwrap_err()
            .contains("unclosed"));
        assert!(Template::parse("{{ humanize 3 }}")
            .unwrap_err()
            .contains("not defined"));
        assert!(Template::parse("{{ if .X }}")
            .unwrap_err()
            .contains("missing {{end}}"));
        assert!(Template::parse("{{ block \"x\" . }}{{ end }}")
            .unwrap_err()
            .contains("unsupported"));
        assert!(render("{{ template \"nope\" . }}")
            .unwrap_err()
            .contains("no such template"));
    }
}
