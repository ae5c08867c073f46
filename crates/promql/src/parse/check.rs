//! A syntax checker over [`super::lex`] tokens that finds the first error the way
//! Prometheus' parser reports it (`unexpected X in Y, expected Z` at a byte offset),
//! and records where calls, aggregations, binary and unary expressions start so
//! that semantic errors from `promql-parser` can be given a position too.

use super::lex::{Kind, LexError, Tok};

/// A crude static type, enough to tell which operand a type error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Scalar,
    Vector,
    Matrix,
    Str,
}

/// A call or aggregation: name, start offset, and each argument's start and type.
#[derive(Debug)]
pub(crate) struct CallRec<'a> {
    pub name: &'a str,
    pub pos: usize,
    pub args: Vec<(usize, Ty)>,
}

/// Where things start in the query, in the order Prometheus checks them.
#[derive(Debug, Default)]
pub(crate) struct Spans<'a> {
    pub calls: Vec<CallRec<'a>>,
    pub aggs: Vec<CallRec<'a>>,
    /// Binary expressions (start, operator, lhs type, rhs start, rhs type),
    /// innermost first.
    pub bins: Vec<(usize, &'a str, Ty, usize, Ty)>,
    pub unaries: Vec<(usize, Ty)>,
    /// Selectors without a metric name in front of their braces.
    pub nameless: Vec<usize>,
    /// Starts of the label matchers using a regex.
    pub regexes: Vec<usize>,
    /// Starts of expressions carrying `offset`, one entry per modifier.
    pub offsets: Vec<usize>,
    /// `[` of range selectors applied to something else than a plain selector.
    pub bad_ranges: Vec<usize>,
}

/// A located error: byte offset and Prometheus' message.
pub(crate) type Located = (usize, String);

/// Checks the token stream; `Err` is the first syntax error.
pub(crate) fn check<'a>(
    toks: &[Tok<'a>],
    lex_err: Option<LexError>,
    spans: &mut Spans<'a>,
) -> Result<(), Located> {
    let mut c = Chk {
        toks,
        i: 0,
        lex_err,
        spans,
    };
    let t = c.cur()?;
    if t.kind == Kind::Eof {
        return Err((0, "no expression found in input".into()));
    }
    c.expr(0)?;
    let t = c.cur()?;
    if t.kind != Kind::Eof {
        return Err(unexpected(&t, "", ""));
    }
    Ok(())
}

/// Go's `%q` of a string, close enough for error messages.
fn goq(s: &str) -> String {
    format!("{s:?}")
}

/// How Prometheus names a token in `unexpected ...` messages.
fn desc(t: &Tok) -> String {
    let short = || {
        if t.text.chars().count() > 10 {
            let head: String = t.text.chars().take(10).collect();
            format!("{}...", goq(&head))
        } else {
            goq(t.text)
        }
    };
    match t.kind {
        Kind::Eof => "end of input".into(),
        Kind::Ident => format!("identifier {}", goq(t.text)),
        Kind::MetricIdent => format!("metric identifier {}", goq(t.text)),
        Kind::Str => format!("string {}", short()),
        Kind::Number => format!("number {}", short()),
        Kind::Duration => format!("duration {}", short()),
        Kind::Keyword => format!("<{}>", t.text),
        Kind::Op => format!("<op:{}>", t.text),
        Kind::Aggr => format!("<aggr:{}>", t.text),
        Kind::Punct if t.text == "@" => "<op:@>".into(),
        Kind::Punct => goq(t.text),
    }
}

fn unexpected(t: &Tok, context: &str, expected: &str) -> Located {
    let mut m = format!("unexpected {}", desc(t));
    if !context.is_empty() {
        m.push_str(" in ");
        m.push_str(context);
    }
    if !expected.is_empty() {
        m.push_str(", expected ");
        m.push_str(expected);
    }
    (t.pos, m)
}

/// Whether Go's number parsing (as Prometheus uses it) accepts `s`.
fn go_float_ok(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    if l == "inf" || l == "nan" {
        return true;
    }
    if let Some(h) = l.strip_prefix("0x") {
        return !h.is_empty() && i64::from_str_radix(&h.replace('_', ""), 16).is_ok();
    }
    l.parse::<f64>().is_ok()
}

/// Binding power of a binary operator, or None.
fn prec(t: &Tok) -> Option<u8> {
    if t.kind != Kind::Op {
        return None;
    }
    Some(match t.text.to_ascii_lowercase().as_str() {
        "or" => 1,
        "and" | "unless" => 2,
        "==" | "!=" | "<" | "<=" | ">" | ">=" => 3,
        "+" | "-" => 4,
        "*" | "/" | "%" | "atan2" => 5,
        "^" => 6,
        _ => return None,
    })
}

/// Functions returning a scalar (everything else returns an instant vector here).
const SCALAR_FNS: &[&str] = &["scalar", "time", "pi", "step", "range", "start", "end"];

struct Chk<'t, 'a, 's> {
    toks: &'t [Tok<'a>],
    i: usize,
    lex_err: Option<LexError>,
    spans: &'s mut Spans<'a>,
}

impl<'a> Chk<'_, 'a, '_> {
    /// The current token; past the tokens lies the lexer error.
    fn cur(&self) -> Result<Tok<'a>, Located> {
        match self.toks.get(self.i) {
            Some(t) => Ok(*t),
            None => Err(match &self.lex_err {
                Some(e) => (e.pos, e.msg.clone()),
                None => (0, "unexpected end of input".into()),
            }),
        }
    }

    fn peek2(&self) -> Option<Tok<'a>> {
        self.toks.get(self.i + 1).copied()
    }

    fn is(&self, text: &str) -> bool {
        self.toks
            .get(self.i)
            .is_some_and(|t| t.text == text && matches!(t.kind, Kind::Punct | Kind::Op))
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.toks
            .get(self.i)
            .is_some_and(|t| t.kind == Kind::Keyword && t.text.eq_ignore_ascii_case(kw))
    }

    fn expr(&mut self, min: u8) -> Result<(usize, Ty), Located> {
        let t = self.cur()?;
        let (start, mut ty) = if t.kind == Kind::Op && (t.text == "+" || t.text == "-") {
            self.i += 1;
            let (_, ty) = self.expr(6)?;
            self.spans.unaries.push((t.pos, ty));
            (t.pos, ty)
        } else {
            self.primary()?
        };
        ty = self.postfix(start, ty)?;
        loop {
            let t = self.cur()?;
            let Some(p) = prec(&t) else { break };
            if p < min {
                break;
            }
            self.i += 1;
            self.bin_modifiers()?;
            let next = if p == 6 { p } else { p + 1 };
            let (rstart, rt) = self.expr(next)?;
            self.spans.bins.push((start, t.text, ty, rstart, rt));
            ty = if ty == Ty::Scalar && rt == Ty::Scalar {
                Ty::Scalar
            } else {
                Ty::Vector
            };
        }
        Ok((start, ty))
    }

    fn bin_modifiers(&mut self) -> Result<(), Located> {
        if self.is_kw("bool") {
            self.i += 1;
        }
        if self.is_kw("on") || self.is_kw("ignoring") {
            self.i += 1;
            self.grouping()?;
            if self.is_kw("group_left") || self.is_kw("group_right") {
                self.i += 1;
                if self.is("(") {
                    self.grouping()?;
                }
            }
        }
        Ok(())
    }

    fn grouping(&mut self) -> Result<(), Located> {
        let t = self.cur()?;
        if !(t.kind == Kind::Punct && t.text == "(") {
            return Err(unexpected(&t, "grouping opts", "\"(\""));
        }
        self.i += 1;
        if self.is(")") {
            self.i += 1;
            return Ok(());
        }
        loop {
            let t = self.cur()?;
            let word_op = t.kind == Kind::Op && t.text.chars().all(|c| c.is_ascii_alphabetic());
            if !matches!(t.kind, Kind::Ident | Kind::Keyword | Kind::Aggr | Kind::Str) && !word_op {
                return Err(unexpected(&t, "grouping opts", "label"));
            }
            self.i += 1;
            let t = self.cur()?;
            if t.kind == Kind::Punct && t.text == "," {
                self.i += 1;
                if self.is(")") {
                    self.i += 1;
                    return Ok(());
                }
                continue;
            }
            if t.kind == Kind::Punct && t.text == ")" {
                self.i += 1;
                return Ok(());
            }
            return Err(unexpected(&t, "grouping opts", "\",\" or \")\""));
        }
    }

    fn primary(&mut self) -> Result<(usize, Ty), Located> {
        let t = self.cur()?;
        match t.kind {
            Kind::Number if !go_float_ok(t.text) => Err((
                t.pos,
                format!(
                    "error parsing number: strconv.ParseFloat: parsing {}: invalid syntax",
                    goq(t.text)
                ),
            )),
            Kind::Number | Kind::Duration => {
                self.i += 1;
                Ok((t.pos, Ty::Scalar))
            }
            Kind::Str => {
                self.i += 1;
                Ok((t.pos, Ty::Str))
            }
            Kind::Punct if t.text == "(" => {
                self.i += 1;
                let (_, ty) = self.expr(0)?;
                let c = self.cur()?;
                if !(c.kind == Kind::Punct && c.text == ")") {
                    return Err(unexpected(&c, "", ""));
                }
                self.i += 1;
                Ok((t.pos, ty))
            }
            Kind::Punct if t.text == "{" => {
                self.spans.nameless.push(t.pos);
                self.matchers()?;
                Ok((t.pos, Ty::Vector))
            }
            Kind::Aggr => self.aggregation(t),
            Kind::Ident if self.peek2().is_some_and(|n| n.text == "(") => self.call(t),
            Kind::Ident | Kind::MetricIdent => {
                self.i += 1;
                if self.is("{") {
                    self.matchers()?;
                }
                Ok((t.pos, Ty::Vector))
            }
            // Of the keywords, only these may also be metric names.
            Kind::Keyword
                if ["by", "without", "offset", "start", "end"]
                    .iter()
                    .any(|k| t.text.eq_ignore_ascii_case(k)) =>
            {
                self.i += 1;
                if self.is("{") {
                    self.matchers()?;
                }
                Ok((t.pos, Ty::Vector))
            }
            Kind::Op if t.text.chars().all(|c| c.is_ascii_alphabetic()) => {
                self.i += 1;
                if self.is("{") {
                    self.matchers()?;
                }
                Ok((t.pos, Ty::Vector))
            }
            _ => Err(unexpected(&t, "", "")),
        }
    }

    fn matchers(&mut self) -> Result<(), Located> {
        self.i += 1; // `{`
        if self.is("}") {
            self.i += 1;
            return Ok(());
        }
        loop {
            let t = self.cur()?;
            if !matches!(t.kind, Kind::Ident | Kind::Str) {
                return Err(unexpected(&t, "label matching", "identifier or \"}\""));
            }
            self.i += 1;
            let op = self.cur()?;
            if matches!(op.text, "=" | "!=" | "=~" | "!~") && op.kind != Kind::Str {
                self.i += 1;
                let v = self.cur()?;
                if v.kind != Kind::Str {
                    return Err(unexpected(&v, "label matching", "string"));
                }
                if op.text.ends_with('~') {
                    self.spans.regexes.push(t.pos);
                }
                self.i += 1;
            } else if !(t.kind == Kind::Str && matches!(op.text, "," | "}")) {
                return Err(unexpected(&op, "label matching", "label matching operator"));
            }
            let t = self.cur()?;
            if t.kind == Kind::Punct && t.text == "," {
                self.i += 1;
                if self.is("}") {
                    self.i += 1;
                    return Ok(());
                }
                continue;
            }
            if t.kind == Kind::Punct && t.text == "}" {
                self.i += 1;
                return Ok(());
            }
            return Err(unexpected(&t, "label matching", "\",\" or \"}\""));
        }
    }

    /// `(` args `)` of a call or aggregation; the current token is `(`.
    fn args(&mut self) -> Result<Vec<(usize, Ty)>, Located> {
        self.i += 1;
        let mut out = Vec::new();
        if self.is(")") {
            self.i += 1;
            return Ok(out);
        }
        loop {
            out.push(self.expr(0)?);
            let t = self.cur()?;
            if t.kind == Kind::Punct && t.text == "," {
                self.i += 1;
                if self.is(")") {
                    return Err((
                        t.pos,
                        "trailing commas not allowed in function call args".into(),
                    ));
                }
                continue;
            }
            if t.kind == Kind::Punct && t.text == ")" {
                self.i += 1;
                return Ok(out);
            }
            return Err(unexpected(&t, "", ""));
        }
    }

    fn call(&mut self, name: Tok<'a>) -> Result<(usize, Ty), Located> {
        self.i += 1;
        let args = self.args()?;
        self.spans.calls.push(CallRec {
            name: name.text,
            pos: name.pos,
            args,
        });
        let ty = if SCALAR_FNS.contains(&name.text) {
            Ty::Scalar
        } else {
            Ty::Vector
        };
        Ok((name.pos, ty))
    }

    fn aggregation(&mut self, op: Tok<'a>) -> Result<(usize, Ty), Located> {
        self.i += 1;
        let modifier = |c: &Self| c.is_kw("by") || c.is_kw("without");
        let args = if modifier(self) {
            self.i += 1;
            self.grouping()?;
            let t = self.cur()?;
            if !(t.kind == Kind::Punct && t.text == "(") {
                return Err(unexpected(&t, "aggregation", ""));
            }
            self.args()?
        } else {
            let t = self.cur()?;
            if !(t.kind == Kind::Punct && t.text == "(") {
                return Err(unexpected(&t, "aggregation", ""));
            }
            let a = self.args()?;
            if modifier(self) {
                self.i += 1;
                self.grouping()?;
            }
            a
        };
        self.spans.aggs.push(CallRec {
            name: op.text,
            pos: op.pos,
            args,
        });
        Ok((op.pos, Ty::Vector))
    }

    /// Range/subquery brackets, `offset` and `@` after an expression.
    fn postfix(&mut self, start: usize, mut ty: Ty) -> Result<Ty, Located> {
        loop {
            let t = self.cur()?;
            if t.kind == Kind::Punct && t.text == "[" {
                let plain = ty == Ty::Vector
                    && matches!(
                        self.toks.get(self.i.wrapping_sub(1)).map(|p| p.text),
                        Some("}")
                    )
                    || self
                        .toks
                        .get(self.i.wrapping_sub(1))
                        .is_some_and(|p| matches!(p.kind, Kind::Ident | Kind::MetricIdent));
                self.i += 1;
                let d = self.cur()?;
                if d.kind != Kind::Duration {
                    return Err(unexpected(&d, "subquery selector", "duration"));
                }
                self.i += 1;
                let n = self.cur()?;
                if n.kind == Kind::Punct && n.text == "]" {
                    if !plain {
                        self.spans.bad_ranges.push(t.pos);
                    }
                } else if n.kind == Kind::Punct && n.text == ":" {
                    self.i += 1;
                    let s = self.cur()?;
                    if s.kind == Kind::Duration {
                        self.i += 1;
                        let e = self.cur()?;
                        if !(e.kind == Kind::Punct && e.text == "]") {
                            return Err(unexpected(&e, "subquery selector", "\"]\""));
                        }
                    } else if !(s.kind == Kind::Punct && s.text == "]") {
                        return Err(unexpected(&s, "subquery selector", "duration or \"]\""));
                    }
                } else {
                    return Err(unexpected(&n, "subquery or range", "\":\" or \"]\""));
                }
                self.i += 1;
                ty = Ty::Matrix;
            } else if self.is_kw("offset") {
                self.i += 1;
                if self.is("-") {
                    self.i += 1;
                }
                let d = self.cur()?;
                if !matches!(d.kind, Kind::Duration | Kind::Number) {
                    return Err(unexpected(&d, "offset", "duration"));
                }
                self.i += 1;
                self.spans.offsets.push(start);
            } else if t.kind == Kind::Punct && t.text == "@" {
                self.i += 1;
                if self.is("-") || self.is("+") {
                    self.i += 1;
                }
                let v = self.cur()?;
                if v.kind == Kind::Number {
                    self.i += 1;
                } else if v.kind == Kind::Keyword && (v.text == "start" || v.text == "end") {
                    self.i += 1;
                    for p in ["(", ")"] {
                        let t = self.cur()?;
                        if t.text != p || t.kind != Kind::Punct {
                            return Err(unexpected(&t, "@", "timestamp"));
                        }
                        self.i += 1;
                    }
                } else {
                    return Err(unexpected(&v, "@", "timestamp"));
                }
            } else {
                return Ok(ty);
            }
        }
    }
}
