//! Parser for the Go `text/template` subset used in alert rules.
//!
//! Supported: text, `{{ pipeline }}`, `{{- -}}` trimming, comments, variables
//! (`$x := …`, `$x = …`), `if`/`else if`/`else`/`end`, `range` (with `$k, $v :=`),
//! `with`, parenthesised pipelines, field chains (`.Labels.job`, `$labels.job`),
//! string/raw-string/number/bool literals and `|` pipes. Unknown functions and
//! undefined variables are rejected here, at load time, as Go does.

use std::fmt;

/// An argument of a command.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A function name (first word of a command).
    Func(String),
    /// `.` followed by zero or more field names.
    Dot(Vec<String>),
    /// `$name` followed by zero or more field names (`$` alone is the root).
    Var(String, Vec<String>),
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// `( pipeline )` followed by field names.
    Sub(Box<Pipe>, Vec<String>),
}

/// One command of a pipeline: a function call or a single operand.
#[derive(Clone, Debug, PartialEq)]
pub struct Cmd {
    /// The words; a function call starts with [`Arg::Func`].
    pub args: Vec<Arg>,
}

/// `[$a, $b :=] cmd | cmd | …`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipe {
    /// Declared or assigned variables (without `$`).
    pub vars: Vec<String>,
    /// True for `=` (assignment to an existing variable), false for `:=`.
    pub assign: bool,
    /// The commands, left to right.
    pub cmds: Vec<Cmd>,
}

/// A template node.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Literal text.
    Text(String),
    /// `{{ pipeline }}`: prints its value unless it declares variables.
    Action(Pipe),
    /// `{{ if }}…{{ else }}…{{ end }}`.
    If(Pipe, Vec<Node>, Vec<Node>),
    /// `{{ range }}…{{ else }}…{{ end }}`.
    Range(Pipe, Vec<Node>, Vec<Node>),
    /// `{{ with }}…{{ else }}…{{ end }}`.
    With(Pipe, Vec<Node>, Vec<Node>),
}

/// A template parse error with its 1-based line inside the template text.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    /// Line within the template (1-based).
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template line {}: {}", self.line, self.msg)
    }
}

/// Functions the evaluator implements; anything else fails at parse time.
pub const FUNCS: &[&str] = &[
    "and",
    "eq",
    "first",
    "ge",
    "gt",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "index",
    "label",
    "le",
    "len",
    "lt",
    "match",
    "ne",
    "not",
    "or",
    "print",
    "printf",
    "println",
    "query",
    "reReplaceAll",
    "safeHtml",
    "sortByLabel",
    "stripDomain",
    "stripPort",
    "strvalue",
    "title",
    "toLower",
    "toTime",
    "toUpper",
    "value",
];

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Field(String),
    Dot,
    Var(String),
    Str(String),
    Num(String),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

/// A token and whether whitespace preceded it (field chains must be contiguous).
type Spanned = (Tok, bool);

enum Item {
    Text(String),
    Action(Vec<Spanned>, usize),
}

fn err(line: usize, msg: impl Into<String>) -> ParseError {
    ParseError {
        line,
        msg: msg.into(),
    }
}

/// Splits the source into text and lexed actions, applying `{{-`/`-}}` trimming.
fn split(src: &str) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::new();
    let mut rest = src;
    let mut line = 1usize;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[open + 2..];
        let trim_left =
            after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_left {
            text = text.trim_end();
        }
        line += rest[..open].matches('\n').count();
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        let body_start = if trim_left { 1 } else { 0 };
        let (toks, consumed, trim_right) = lex(&after[body_start..], line)?;
        let action_src = &after[..body_start + consumed];
        let action_line = line;
        line += action_src.matches('\n').count();
        if !toks.is_empty() {
            items.push(Item::Action(toks, action_line));
        }
        trim_next = trim_right;
        rest = &after[body_start + consumed..];
        rest = &rest[2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        items.push(Item::Text(text.to_string()));
    }
    Ok(items)
}

/// Lexes one action body; returns its tokens, the bytes consumed up to (not
/// including) the closing `}}`, and whether it ended with `-}}`.
fn lex(s: &str, line: usize) -> Result<(Vec<Spanned>, usize, bool), ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    let mut space = true;
    // Comments: {{/* … */}}
    let trimmed = s.trim_start();
    if trimmed.starts_with("/*") {
        let start = s.len() - trimmed.len();
        let end = s[start..]
            .find("*/")
            .ok_or_else(|| err(line, "unclosed comment"))?;
        let mut j = start + end + 2;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t' || b[j] == b'\n') {
            j += 1;
        }
        let trim_right = s[j..].starts_with("-}}");
        if trim_right {
            j += 1;
        }
        if !s[j..].starts_with("}}") {
            return Err(err(line, "comment ends before closing delimiter"));
        }
        return Ok((Vec::new(), j, trim_right));
    }
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space = true;
                i += 1;
                continue;
            }
            b'-' if s[i..].starts_with("-}}") && space => return Ok((toks, i + 1, true)),
            b'}' if s[i..].starts_with("}}") => return Ok((toks, i, false)),
            b'|' => {
                toks.push((Tok::Pipe, space));
                i += 1;
            }
            b'(' => {
                toks.push((Tok::LParen, space));
                i += 1;
            }
            b')' => {
                toks.push((Tok::RParen, space));
                i += 1;
            }
            b',' => {
                toks.push((Tok::Comma, space));
                i += 1;
            }
            b':' if s[i..].starts_with(":=") => {
                toks.push((Tok::Declare, space));
                i += 2;
            }
            b'=' => {
                toks.push((Tok::Assign, space));
                i += 1;
            }
            b'"' => {
                let (v, n) = lex_string(&s[i..], line)?;
                toks.push((Tok::Str(v), space));
                i += n;
            }
            b'`' => {
                let end = s[i + 1..]
                    .find('`')
                    .ok_or_else(|| err(line, "unterminated raw quoted string"))?;
                toks.push((Tok::Str(s[i + 1..i + 1 + end].to_string()), space));
                i += end + 2;
            }
            b'.' if !b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                let j = ident_end(b, i + 1);
                if j == i + 1 {
                    toks.push((Tok::Dot, space));
                } else {
                    toks.push((Tok::Field(s[i + 1..j].to_string()), space));
                }
                i = j;
            }
            b'$' => {
                let j = ident_end(b, i + 1);
                toks.push((Tok::Var(s[i + 1..j].to_string()), space));
                i = j;
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_')
                {
                    j += 1;
                }
                toks.push((Tok::Num(s[i..j].to_string()), space));
                i = j;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let j = ident_end(b, i);
                toks.push((Tok::Ident(s[i..j].to_string()), space));
                i = j;
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(err(line, format!("unexpected {ch:?} in command")));
            }
        }
        space = false;
    }
    Err(err(line, "unclosed action"))
}

fn ident_end(b: &[u8], mut j: usize) -> usize {
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    j
}

/// Lexes a Go interpreted string literal starting at `s[0] == '"'`.
fn lex_string(s: &str, line: usize) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\n' => break,
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('\'') => out.push('\''),
                Some(o) => return Err(err(line, format!("unknown escape sequence \\{o}"))),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(err(line, "unterminated quoted string"))
}

struct Parser {
    items: std::vec::IntoIter<Item>,
    scopes: Vec<Vec<String>>,
    depth: usize,
}

/// Deepest nesting of blocks and parentheses accepted, so hostile input cannot
/// exhaust the stack.
const MAX_DEPTH: usize = 100;

enum End {
    Eof,
    Close,
    Else(Option<(Vec<Spanned>, usize)>),
}

/// Parses `src` with the given predefined variables (without `$`).
pub fn parse(src: &str, predefined: &[&str]) -> Result<Vec<Node>, ParseError> {
    let items = split(src)?;
    let mut p = Parser {
        items: items.into_iter(),
        scopes: vec![predefined.iter().map(|s| s.to_string()).collect()],
        depth: 0,
    };
    let (nodes, end) = p.list()?;
    match end {
        End::Eof => Ok(nodes),
        End::Close => Err(err(0, "unexpected {{end}}")),
        End::Else(_) => Err(err(0, "unexpected {{else}}")),
    }
}

impl Parser {
    fn list(&mut self) -> Result<(Vec<Node>, End), ParseError> {
        let mut out = Vec::new();
        while let Some(item) = self.items.next() {
            let (toks, line) = match item {
                Item::Text(t) => {
                    out.push(Node::Text(t));
                    continue;
                }
                Item::Action(t, l) => (t, l),
            };
            match toks.first().map(|t| &t.0) {
                Some(Tok::Ident(k)) if k == "end" => {
                    if toks.len() > 1 {
                        return Err(err(line, "unexpected tokens after end"));
                    }
                    return Ok((out, End::Close));
                }
                Some(Tok::Ident(k)) if k == "else" => {
                    if toks.len() == 1 {
                        return Ok((out, End::Else(None)));
                    }
                    return Ok((out, End::Else(Some((toks[1..].to_vec(), line)))));
                }
                Some(Tok::Ident(k)) if k == "if" || k == "range" || k == "with" => {
                    let kw = k.clone();
                    let node = self.control(&kw, &toks[1..], line)?;
                    out.push(node);
                }
                Some(Tok::Ident(k)) if k == "define" || k == "template" || k == "block" => {
                    return Err(err(
                        line,
                        format!("{{{{{k}}}}} is not supported in alert templates"),
                    ));
                }
                _ => {
                    let pipe = self.pipeline(&toks, line, true)?;
                    out.push(Node::Action(pipe));
                }
            }
        }
        Ok((out, End::Eof))
    }

    /// Parses `if`/`range`/`with` after the keyword, including `else if` chains.
    fn control(&mut self, kw: &str, toks: &[Spanned], line: usize) -> Result<Node, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(line, "template nested too deeply"));
        }
        let r = self.control_inner(kw, toks, line);
        self.depth -= 1;
        r
    }

    fn control_inner(
        &mut self,
        kw: &str,
        toks: &[Spanned],
        line: usize,
    ) -> Result<Node, ParseError> {
        self.scopes.push(Vec::new());
        let pipe = self.pipeline(toks, line, kw == "range")?;
        if pipe.cmds.is_empty() {
            return Err(err(line, format!("missing value for {kw}")));
        }
        let (body, end) = self.list()?;
        self.scopes.pop();
        let els = match end {
            End::Eof => {
                return Err(err(
                    line,
                    format!("unexpected EOF: {{{{{kw}}}}} without {{{{end}}}}"),
                ))
            }
            End::Close => Vec::new(),
            End::Else(None) => {
                self.scopes.push(Vec::new());
                let (els, end) = self.list()?;
                self.scopes.pop();
                if !matches!(end, End::Close) {
                    return Err(err(
                        line,
                        format!("{{{{{kw}}}}} without matching {{{{end}}}}"),
                    ));
                }
                els
            }
            End::Else(Some((t, l))) => {
                // `else if …` / `else with …`: a nested control ending at the same end.
                match t.first().map(|x| &x.0) {
                    Some(Tok::Ident(k2)) if k2 == "if" || k2 == "with" => {
                        let k2 = k2.clone();
                        vec![self.control(&k2, &t[1..], l)?]
                    }
                    _ => return Err(err(l, "unexpected tokens after else")),
                }
            }
        };
        Ok(match kw {
            "if" => Node::If(pipe, body, els),
            "range" => Node::Range(pipe, body, els),
            _ => Node::With(pipe, body, els),
        })
    }

    fn declared(&self, v: &str) -> bool {
        v.is_empty() || self.scopes.iter().any(|s| s.iter().any(|x| x == v))
    }

    fn pipeline(
        &mut self,
        toks: &[Spanned],
        line: usize,
        allow_two: bool,
    ) -> Result<Pipe, ParseError> {
        let mut vars = Vec::new();
        let mut assign = false;
        let mut rest = toks;
        // Declarations: `$x :=`, `$x =`, `$k, $v :=`.
        let decl_at = toks
            .iter()
            .position(|t| matches!(t.0, Tok::Declare | Tok::Assign));
        if let Some(pos) = decl_at {
            let head = &toks[..pos];
            let ok_shape = match head {
                [(Tok::Var(a), _)] => {
                    vars.push(a.clone());
                    true
                }
                [(Tok::Var(a), _), (Tok::Comma, _), (Tok::Var(b), _)] if allow_two => {
                    vars.push(a.clone());
                    vars.push(b.clone());
                    true
                }
                _ => false,
            };
            if ok_shape {
                assign = matches!(toks[pos].0, Tok::Assign);
                rest = &toks[pos + 1..];
            } else {
                vars.clear();
            }
        }
        let mut cmds = Vec::new();
        let mut i = 0;
        loop {
            let (cmd, n) = self.command(&rest[i..], line)?;
            i += n;
            if cmd.args.is_empty() {
                return Err(err(line, "missing command in pipeline"));
            }
            cmds.push(cmd);
            match rest.get(i).map(|t| &t.0) {
                None => break,
                Some(Tok::Pipe) => i += 1,
                Some(t) => return Err(err(line, format!("unexpected {t:?} in pipeline"))),
            }
        }
        for (k, c) in cmds.iter().enumerate() {
            if k > 0 && !matches!(c.args.first(), Some(Arg::Func(_))) {
                return Err(err(line, "non executable command in pipeline stage"));
            }
        }
        if assign {
            for v in &vars {
                if !self.declared(v) {
                    return Err(err(line, format!("undefined variable \"${v}\"")));
                }
            }
        } else if let Some(scope) = self.scopes.last_mut() {
            scope.extend(vars.iter().cloned());
        }
        Ok(Pipe { vars, assign, cmds })
    }

    /// Parses one command up to `|`, `)` or the end; returns it and tokens used.
    fn command(&mut self, toks: &[Spanned], line: usize) -> Result<(Cmd, usize), ParseError> {
        let mut args = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let (tok, _) = &toks[i];
            let arg = match tok {
                Tok::Pipe | Tok::RParen => break,
                Tok::Ident(name) => match name.as_str() {
                    "true" => Arg::Bool(true),
                    "false" => Arg::Bool(false),
                    "nil" => Arg::Nil,
                    n if FUNCS.contains(&n) => Arg::Func(n.to_string()),
                    n => return Err(err(line, format!("function \"{n}\" not defined"))),
                },
                Tok::Dot => Arg::Dot(Vec::new()),
                Tok::Field(f) => {
                    let mut fields = vec![f.clone()];
                    i += 1;
                    while let Some((Tok::Field(f), false)) = toks.get(i) {
                        fields.push(f.clone());
                        i += 1;
                    }
                    args.push(Arg::Dot(fields));
                    continue;
                }
                Tok::Var(v) => {
                    if !self.declared(v) {
                        return Err(err(line, format!("undefined variable \"${v}\"")));
                    }
                    let mut fields = Vec::new();
                    i += 1;
                    while let Some((Tok::Field(f), false)) = toks.get(i) {
                        fields.push(f.clone());
                        i += 1;
                    }
                    args.push(Arg::Var(v.clone(), fields));
                    continue;
                }
                Tok::Str(s) => Arg::Str(s.clone()),
                Tok::Num(n) => {
                    parse_number(n).ok_or_else(|| err(line, format!("bad number syntax: {n:?}")))?
                }
                Tok::LParen => {
                    let (sub, n) = self.sub_pipeline(&toks[i + 1..], line)?;
                    i += n + 2;
                    let mut fields = Vec::new();
                    while let Some((Tok::Field(f), false)) = toks.get(i) {
                        fields.push(f.clone());
                        i += 1;
                    }
                    args.push(Arg::Sub(Box::new(sub), fields));
                    continue;
                }
                t => return Err(err(line, format!("unexpected {t:?} in operand"))),
            };
            args.push(arg);
            i += 1;
        }
        if args.len() > 1 && !matches!(args[0], Arg::Func(_)) {
            return Err(err(line, "can't give argument to non-function"));
        }
        Ok((Cmd { args }, i))
    }

    /// Parses tokens up to the matching `)`; returns the pipeline and tokens used.
    fn sub_pipeline(&mut self, toks: &[Spanned], line: usize) -> Result<(Pipe, usize), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(line, "template nested too deeply"));
        }
        let r = self.sub_pipeline_inner(toks, line);
        self.depth -= 1;
        r
    }

    fn sub_pipeline_inner(
        &mut self,
        toks: &[Spanned],
        line: usize,
    ) -> Result<(Pipe, usize), ParseError> {
        let mut depth = 0usize;
        for (j, (t, _)) in toks.iter().enumerate() {
            match t {
                Tok::LParen => depth += 1,
                Tok::RParen if depth == 0 => {
                    let p = self.pipeline(&toks[..j], line, false)?;
                    return Ok((p, j));
                }
                Tok::RParen => depth -= 1,
                _ => {}
            }
        }
        Err(err(line, "unclosed left paren"))
    }
}

fn parse_number(n: &str) -> Option<Arg> {
    if let Ok(i) = n.parse::<i64>() {
        return Some(Arg::Int(i));
    }
    if let Some(h) = n.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok().map(Arg::Int);
    }
    n.parse::<f64>().ok().map(Arg::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let n = parse(
            "{{ $labels.instance }} is {{ $value | humanize }}{{ if gt $value 1.0 }}!{{ else }}.{{ end }}",
            &["labels", "value"],
        )
        .unwrap();
        assert_eq!(n.len(), 4);
        assert_eq!(
            n[0],
            Node::Action(Pipe {
                vars: vec![],
                assign: false,
                cmds: vec![Cmd {
                    args: vec![Arg::Var("labels".into(), vec!["instance".into()])]
                }]
            })
        );
        assert!(matches!(n[3], Node::If(..)));
    }

    #[test]
    fn reports_errors_with_line() {
        let e = parse("a\n{{ nosuch 1 }}", &[]).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("function \"nosuch\" not defined"));
        let e = parse("{{ $nope }}", &["labels"]).unwrap_err();
        assert!(e.msg.contains("undefined variable \"$nope\""));
        assert!(parse("{{ if true }}x", &[])
            .unwrap_err()
            .msg
            .contains("without"));
        assert!(parse("{{ end }}", &[]).is_err());
        assert!(parse("{{ \"abc }}", &[]).is_err());
        assert!(parse("{{ 1 ", &[]).unwrap_err().msg.contains("unclosed"));
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_crash() {
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep, &[]).unwrap_err().msg.contains("too deeply"));
        let ifs = "{{ if true }}".repeat(10_000);
        assert!(parse(&ifs, &[]).unwrap_err().msg.contains("too deeply"));
    }

    #[test]
    fn trims_and_comments() {
        let n = parse("a  {{- /* c */ -}}  b", &[]).unwrap();
        assert_eq!(n, vec![Node::Text("a".into()), Node::Text("b".into())]);
    }

    #[test]
    fn range_scopes_variables() {
        assert!(parse(
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }}{{ end }}",
            &["labels"]
        )
        .is_ok());
        assert!(parse(
            "{{ range $k, $v := $labels }}{{ end }}{{ $k }}",
            &["labels"]
        )
        .is_err());
    }
}
