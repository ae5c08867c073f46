//! Parsing: `promql-parser` plus the one place where its gaps are worked around.
//!
//! - **Error positions.** `promql-parser` 0.11 reports errors without source
//!   positions and sometimes only as "invalid promql query". Prometheus answers
//!   `1:15: parse error: unclosed left parenthesis`. When the parser rejects a
//!   query we re-lex it with a lexer that follows Prometheus' ([`lex`]) and run a
//!   syntax checker modelled on Prometheus' grammar ([`check`]): its first error
//!   is Prometheus' message and offset. When the text is syntactically fine, the
//!   parser's error is semantic (types, arity...): its message is mapped to
//!   Prometheus' wording and positioned on the node the checker recorded.
//!   Lexer messages inside `[...]` follow Prometheus 2.42 (the version available
//!   to compare against); elsewhere wording is the same in 2.x and 3.x as far as
//!   we know. Quoted metric names (`{"a"}`) follow 3.x.
//! - **Invalid UTF-8 string literals.** Go strings are bytes, so `"\xff"` is an
//!   invalid UTF-8 label name in Prometheus, while `promql-parser` decodes it to
//!   `ÿ`. Literals whose Go decoding is not valid UTF-8 are listed in
//!   [`Parsed::invalid_utf8`] (as the parser decoded them) so label-name checks
//!   can reject them.

mod check;
mod lex;

use crate::error::QueryError;
use check::{Spans, Ty};
use promql_parser::parser::{self, Expr};

/// A parsed query with what the workarounds learnt from its text.
pub(crate) struct Parsed {
    pub expr: Expr,
    /// String literals that are not valid UTF-8 in Prometheus, as the parser
    /// decoded them.
    pub invalid_utf8: Vec<String>,
}

/// Parses `q`, giving errors Prometheus' `line:col: parse error: ...` form.
pub(crate) fn parse(q: &str) -> Result<Parsed, QueryError> {
    match parser::parse(q) {
        Ok(expr) => Ok(Parsed {
            expr,
            invalid_utf8: invalid_utf8_literals(q),
        }),
        Err(msg) => Err(QueryError::Parse(locate(q, &msg))),
    }
}

/// Parses `q` into `promql-parser`'s AST, with Prometheus' positioned errors
/// (for callers that need the AST itself, e.g. `/format_query`).
pub fn parse_query(q: &str) -> Result<Expr, QueryError> {
    parse(q).map(|p| p.expr)
}

/// The matchers of every vector and range selector in `q`, in query order (for
/// `/query_exemplars`, which looks exemplars up by the query's selectors).
pub fn query_selectors(q: &str) -> Result<Vec<Vec<sightline_model::Matcher>>, QueryError> {
    fn walk(e: &Expr, out: &mut Vec<Vec<sightline_model::Matcher>>) -> Result<(), QueryError> {
        match e {
            Expr::VectorSelector(vs) => out.push(crate::eval::selector_matchers(vs)?),
            Expr::MatrixSelector(ms) => out.push(crate::eval::selector_matchers(&ms.vs)?),
            Expr::Subquery(sq) => walk(&sq.expr, out)?,
            Expr::Aggregate(a) => {
                walk(&a.expr, out)?;
                if let Some(p) = &a.param {
                    walk(p, out)?;
                }
            }
            Expr::Unary(u) => walk(&u.expr, out)?,
            Expr::Binary(b) => {
                walk(&b.lhs, out)?;
                walk(&b.rhs, out)?;
            }
            Expr::Paren(p) => walk(&p.expr, out)?,
            Expr::Call(c) => {
                for a in &c.args.args {
                    walk(a, out)?;
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
        Ok(())
    }
    let p = parse(q)?;
    let mut out = Vec::new();
    walk(&p.expr, &mut out)?;
    Ok(out)
}

/// `line:col` of byte offset `pos` as Prometheus prints it (1-based, bytes).
pub(crate) fn line_col(q: &str, pos: usize) -> String {
    let pos = pos.min(q.len());
    let before = &q.as_bytes()[..pos];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

/// The full Prometheus error text for a query `promql-parser` rejected with `msg`.
pub(crate) fn locate(q: &str, msg: &str) -> String {
    let (toks, lex_err) = lex::lex(q);
    let mut spans = Spans::default();
    let (pos, text) = match check::check(&toks, lex_err, &mut spans) {
        Err(located) => located,
        Ok(()) => semantic(&spans, msg),
    };
    format!("{}: parse error: {text}", line_col(q, pos))
}

/// Prometheus' name for a `promql-parser` type name.
fn type_name(t: &str) -> &str {
    match t {
        "matrix" => "range vector",
        "vector" => "instant vector",
        other => other,
    }
}

fn ty_of(t: &str) -> Option<Ty> {
    Some(match t {
        "matrix" => Ty::Matrix,
        "vector" => Ty::Vector,
        "scalar" => Ty::Scalar,
        "string" => Ty::Str,
        _ => return None,
    })
}

/// `'x'` quoting (promql-parser) to `"x"` quoting (Prometheus/Go `%q`).
fn requote(msg: &str) -> String {
    msg.replace('\'', "\"")
}

/// Splits `"expected type X in <what>, got Y"` into (X, what, Y).
fn expected_type(msg: &str) -> Option<(&str, &str, &str)> {
    let rest = msg.strip_prefix("expected type ")?;
    let (x, rest) = rest.split_once(" in ")?;
    let (what, y) = rest.rsplit_once(", got ")?;
    Some((x, what, y))
}

/// Positions and rewords an error found after parsing (types, arity, ...).
fn semantic(s: &Spans, msg: &str) -> (usize, String) {
    if let Some((x, what, y)) = expected_type(msg) {
        let got = ty_of(y);
        if let Some(f) = what
            .strip_prefix("call to function '")
            .and_then(|f| f.strip_suffix('\''))
        {
            let pos = s
                .calls
                .iter()
                .filter(|c| c.name == f)
                .find_map(|c| c.args.iter().find(|a| Some(a.1) == got).map(|a| a.0))
                .unwrap_or(0);
            return (
                pos,
                format!(
                    "expected type {} in call to function {f:?}, got {}",
                    type_name(x),
                    type_name(y)
                ),
            );
        }
        if what == "aggregation expression" {
            let param = x == "string" || x == "scalar";
            let pos = s
                .aggs
                .iter()
                .find_map(|a| {
                    let arg = if param { a.args.first() } else { a.args.last() };
                    arg.filter(|a| Some(a.1) == got).map(|a| a.0)
                })
                .unwrap_or(0);
            let what = if param {
                "aggregation parameter"
            } else {
                "aggregation expression"
            };
            return (
                pos,
                format!(
                    "expected type {} in {what}, got {}",
                    type_name(x),
                    type_name(y)
                ),
            );
        }
    }
    if msg.contains("argument(s) in call to '") {
        let f = msg.split('\'').nth(1).unwrap_or("");
        let pos = s.calls.iter().find(|c| c.name == f).map_or(0, |c| c.pos);
        return (pos, requote(msg));
    }
    if let Some(f) = msg
        .strip_prefix("unknown function with name '")
        .and_then(|f| f.strip_suffix('\''))
    {
        let pos = s.calls.iter().find(|c| c.name == f).map_or(0, |c| c.pos);
        return (pos, format!("unknown function with name {f:?}"));
    }
    if msg == "binary expression must contain only scalar and instant vector types" {
        // Prometheus points at the offending operand, the left one first.
        let bad = |t: Ty| matches!(t, Ty::Matrix | Ty::Str);
        let pos = s
            .bins
            .iter()
            .find_map(|b| {
                if bad(b.2) {
                    Some(b.0)
                } else if bad(b.4) {
                    Some(b.3)
                } else {
                    None
                }
            })
            .unwrap_or(0);
        return (pos, msg.to_string());
    }
    if msg.starts_with("set operator '") || msg.starts_with("no grouping allowed for '") {
        let op = msg.split('\'').nth(1).unwrap_or("");
        let pos = s
            .bins
            .iter()
            .find(|b| b.1.eq_ignore_ascii_case(op))
            .map_or(0, |b| b.0);
        return (pos, requote(msg));
    }
    if msg.starts_with("wrong number of arguments for aggregate expression") {
        let pos = s.aggs.first().map_or(0, |a| a.pos);
        return (pos, msg.to_string());
    }
    if let Some(got) = msg.strip_prefix(
        "unary expression only allowed on expressions of type scalar or vector, got: ",
    ) {
        let pos = s
            .unaries
            .iter()
            .find(|u| Some(u.1) == ty_of(got))
            .map_or(0, |u| u.0);
        return (
            pos,
            format!(
                "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                type_name(got)
            ),
        );
    }
    if msg == "vector selector must contain at least one non-empty matcher" {
        return (s.nameless.first().copied().unwrap_or(0), msg.to_string());
    }
    if msg.starts_with("illegal regex") || msg.contains("regex") {
        return (s.regexes.first().copied().unwrap_or(0), msg.to_string());
    }
    if msg == "offset may not be set multiple times" {
        let pos = s
            .offsets
            .iter()
            .enumerate()
            .find(|(i, p)| s.offsets[..*i].contains(p))
            .map_or(0, |(_, p)| *p);
        return (pos, msg.to_string());
    }
    if msg.starts_with("ranges only allowed") {
        return (s.bad_ranges.first().copied().unwrap_or(0), msg.to_string());
    }
    (0, requote(msg))
}

/// String literals of `q` whose Go decoding is invalid UTF-8, as `promql-parser`
/// decodes them (each `\xNN` / octal escape becoming the char U+00NN).
fn invalid_utf8_literals(q: &str) -> Vec<String> {
    let (toks, _) = lex::lex(q);
    let mut out = Vec::new();
    for t in toks.iter().filter(|t| t.kind == lex::Kind::Str) {
        let body = &t.text[1..t.text.len().saturating_sub(1)];
        if t.text.starts_with('`') || !body.contains('\\') {
            continue;
        }
        let (go, ours) = decode_escapes(body);
        if std::str::from_utf8(&go).is_err() {
            out.push(ours);
        }
    }
    out
}

/// Decodes backslash escapes the Go way (bytes) and the `promql-parser` way
/// (chars) side by side; only byte escapes differ between the two.
fn decode_escapes(body: &str) -> (Vec<u8>, String) {
    let mut go = Vec::with_capacity(body.len());
    let mut ours = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            go.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            ours.push(c);
            continue;
        }
        let Some(e) = chars.next() else { break };
        let byte = match e {
            'x' => {
                let h: String = chars.by_ref().take(2).collect();
                u8::from_str_radix(&h, 16).ok()
            }
            '0'..='7' => {
                let mut o = String::from(e);
                o.extend(chars.by_ref().take(2));
                u8::from_str_radix(&o, 8).ok()
            }
            _ => None,
        };
        match byte {
            Some(b) => {
                go.push(b);
                ours.push(b as char);
            }
            None => {
                // Other escapes decode to the same text both ways.
                let c = match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                };
                let mut buf = [0u8; 4];
                go.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                ours.push(c);
            }
        }
    }
    (go, ours)
}

#[cfg(test)]
mod tests;
