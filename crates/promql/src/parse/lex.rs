//! A PromQL tokenizer that follows Prometheus' lexer closely enough to reproduce
//! its token boundaries and lexer error messages with their byte offsets.
//!
//! It exists only to locate errors: `promql-parser` keeps no source positions, so
//! when it rejects a query we re-lex the text here (see [`super::locate`]).

/// Token classes, with the distinctions Prometheus' error messages make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Eof,
    Ident,
    MetricIdent,
    Str,
    Number,
    Duration,
    /// `bool by group_left ...`: words Prometheus prints as `<word>`.
    Keyword,
    /// Arithmetic, comparison and set operators, printed as `<op:x>`.
    Op,
    /// Aggregation operators, printed as `<aggr:x>`.
    Aggr,
    /// Punctuation: `( ) { } [ ] , = : @`.
    Punct,
}

/// One token: its class, byte offset, and text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tok<'a> {
    pub kind: Kind,
    pub pos: usize,
    pub text: &'a str,
}

/// A lexer error: Prometheus' message and the offset it reports.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LexError {
    pub pos: usize,
    pub msg: String,
}

const KEYWORDS: &[&str] = &[
    "bool",
    "by",
    "group_left",
    "group_right",
    "ignoring",
    "offset",
    "on",
    "without",
    "start",
    "end",
];
const WORD_OPS: &[&str] = &["and", "or", "unless", "atan2"];
pub(crate) const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

fn is_alpha(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: u8) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

/// Tokenizes `q`. Returns the tokens read before the first lexer error (ending
/// with `Eof` when there is none) and that error.
pub(crate) fn lex(q: &str) -> (Vec<Tok<'_>>, Option<LexError>) {
    let mut l = Lexer {
        q,
        b: q.as_bytes(),
        pos: 0,
        toks: Vec::new(),
        paren: 0,
        brace: false,
        bracket: false,
        colon: false,
    };
    let err = l.run().err();
    (l.toks, err)
}

struct Lexer<'a> {
    q: &'a str,
    b: &'a [u8],
    pos: usize,
    toks: Vec<Tok<'a>>,
    paren: i32,
    brace: bool,
    bracket: bool,
    colon: bool,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn push(&mut self, kind: Kind, start: usize) {
        self.toks.push(Tok {
            kind,
            pos: start,
            text: &self.q[start..self.pos],
        });
    }

    fn err<T>(&self, pos: usize, msg: String) -> Result<T, LexError> {
        Err(LexError { pos, msg })
    }

    /// The character at `pos` as Go's `%q` of a rune prints it.
    fn rune_q(&self, pos: usize) -> String {
        let c = self.q[pos..].chars().next().unwrap_or('\u{fffd}');
        format!("{c:?}")
    }

    fn run(&mut self) -> Result<(), LexError> {
        loop {
            let start = self.pos;
            let Some(c) = self.peek() else {
                if self.brace {
                    return self.err(start, "unexpected end of input inside braces".into());
                }
                if self.paren != 0 {
                    return self.err(start, "unclosed left parenthesis".into());
                }
                if self.bracket {
                    return self.err(start, "unclosed left bracket".into());
                }
                self.push(Kind::Eof, start);
                return Ok(());
            };
            if c == b'#' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.pos += 1;
                }
                continue;
            }
            if c.is_ascii_whitespace() {
                self.pos += 1;
                continue;
            }
            if self.brace {
                self.inside_braces(start, c)?;
                continue;
            }
            self.pos += 1;
            match c {
                b',' => self.push(Kind::Punct, start),
                b'*' | b'/' | b'%' | b'+' | b'-' | b'^' => self.push(Kind::Op, start),
                b'=' => match self.peek() {
                    Some(b'=') => {
                        self.pos += 1;
                        self.push(Kind::Op, start)
                    }
                    Some(b'~') => {
                        return self.err(
                            start,
                            format!("unexpected character after '=': {}", self.rune_q(start + 1)),
                        )
                    }
                    _ => self.push(Kind::Punct, start),
                },
                b'!' => {
                    if self.peek() == Some(b'=') {
                        self.pos += 1;
                        self.push(Kind::Op, start);
                    } else {
                        let at = self.pos;
                        let r = if at < self.b.len() {
                            self.rune_q(at)
                        } else {
                            "'\\x00'".to_string()
                        };
                        return self.err(start, format!("unexpected character after '!': {r}"));
                    }
                }
                b'<' | b'>' => {
                    if self.peek() == Some(b'=') {
                        self.pos += 1;
                    }
                    self.push(Kind::Op, start)
                }
                b'"' | b'\'' => self.string(start, c)?,
                b'`' => self.raw_string(start)?,
                b'(' => {
                    self.paren += 1;
                    self.push(Kind::Punct, start)
                }
                b')' => {
                    self.paren -= 1;
                    if self.paren < 0 {
                        // Prometheus' lexer reports this after the parenthesis, and
                        // the error replaces the token.
                        return self.err(self.pos, "unexpected right parenthesis ')'".into());
                    }
                    self.push(Kind::Punct, start);
                }
                b'{' => {
                    self.push(Kind::Punct, start);
                    self.brace = true;
                }
                b'}' => return self.err(start, "unexpected right brace '}'".into()),
                b'[' => {
                    if self.bracket {
                        return self.err(start, "unexpected left bracket '['".into());
                    }
                    self.colon = false;
                    self.push(Kind::Punct, start);
                    self.bracket = true;
                    while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                        self.pos += 1;
                    }
                    self.range_duration()?;
                }
                b']' => {
                    if !self.bracket {
                        return self.err(start, "unexpected right bracket ']'".into());
                    }
                    self.push(Kind::Punct, start);
                    self.bracket = false;
                }
                b':' if self.bracket => {
                    if self.colon {
                        return self.err(start, "unexpected colon ':'".into());
                    }
                    self.colon = true;
                    self.push(Kind::Punct, start);
                }
                b'@' => self.push(Kind::Punct, start),
                c if c.is_ascii_digit()
                    || (c == b'.' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
                {
                    self.pos = start;
                    self.number_or_duration(start)?;
                }
                c if is_alpha(c) || c == b':' => {
                    while self.peek().is_some_and(|c| is_alnum(c) || c == b':') {
                        self.pos += 1;
                    }
                    let w = &self.q[start..self.pos];
                    let lw = w.to_ascii_lowercase();
                    let kind = if lw == "inf" || lw == "nan" {
                        Kind::Number
                    } else if KEYWORDS.contains(&lw.as_str()) {
                        Kind::Keyword
                    } else if WORD_OPS.contains(&lw.as_str()) {
                        Kind::Op
                    } else if AGGREGATORS.contains(&lw.as_str()) {
                        Kind::Aggr
                    } else if w.contains(':') {
                        Kind::MetricIdent
                    } else {
                        Kind::Ident
                    };
                    self.push(kind, start);
                }
                _ => {
                    return self.err(
                        start,
                        format!("unexpected character: {}", self.rune_q(start)),
                    )
                }
            }
        }
    }

    fn inside_braces(&mut self, start: usize, c: u8) -> Result<(), LexError> {
        self.pos += 1;
        match c {
            c if is_alpha(c) => {
                while self.peek().is_some_and(is_alnum) {
                    self.pos += 1;
                }
                self.push(Kind::Ident, start);
            }
            b',' => self.push(Kind::Punct, start),
            b'"' | b'\'' => self.string(start, c)?,
            b'`' => self.raw_string(start)?,
            b'=' => {
                if self.peek() == Some(b'~') {
                    self.pos += 1;
                }
                self.push(Kind::Punct, start);
            }
            b'!' => match self.peek() {
                Some(b'~') | Some(b'=') => {
                    self.pos += 1;
                    self.push(Kind::Punct, start);
                }
                _ => {
                    let r = if self.pos < self.b.len() {
                        self.rune_q(self.pos)
                    } else {
                        "'\\x00'".to_string()
                    };
                    return self.err(
                        start,
                        format!("unexpected character after '!' inside braces: {r}"),
                    );
                }
            },
            b'{' => return self.err(start, "unexpected left brace '{'".into()),
            b'}' => {
                self.push(Kind::Punct, start);
                self.brace = false;
            }
            _ => {
                return self.err(
                    start,
                    format!("unexpected character inside braces: {}", self.rune_q(start)),
                )
            }
        }
        Ok(())
    }

    fn string(&mut self, start: usize, quote: u8) -> Result<(), LexError> {
        loop {
            match self.peek() {
                None | Some(b'\n') => {
                    return self.err(start, "unterminated quoted string".into());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(start, quote)?;
                }
                Some(c) => {
                    self.pos += 1;
                    if c == quote {
                        break;
                    }
                }
            }
        }
        self.pos = self.pos.min(self.b.len());
        self.push(Kind::Str, start);
        Ok(())
    }

    /// Validates the escape after a backslash like Go's string lexer.
    fn escape(&mut self, start: usize, quote: u8) -> Result<(), LexError> {
        let Some(c) = self.peek() else {
            return self.err(start, "unterminated quoted string".into());
        };
        let hex = |n: usize, l: &Self| {
            l.b.get(l.pos + 1..l.pos + 1 + n)
                .is_some_and(|h| h.iter().all(|c| c.is_ascii_hexdigit()))
        };
        let ok_len = match c {
            b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'\\' => Some(1),
            c if c == quote => Some(1),
            b'0'..=b'7' => self
                .b
                .get(self.pos..self.pos + 3)
                .filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)))
                .map(|_| 3),
            b'x' if hex(2, self) => Some(3),
            b'u' if hex(4, self) => Some(5),
            b'U' if hex(8, self) => Some(9),
            _ => None,
        };
        match ok_len {
            Some(n) => {
                self.pos += n;
                Ok(())
            }
            None if c == b'\n' => self.err(start, "unterminated quoted string".into()),
            None => {
                let ch = self.q[self.pos..].chars().next().unwrap_or('\u{fffd}');
                self.err(
                    start,
                    format!("unknown escape sequence U+{:04X} {ch:?}", ch as u32),
                )
            }
        }
    }

    fn raw_string(&mut self, start: usize) -> Result<(), LexError> {
        loop {
            match self.peek() {
                None => return self.err(start, "unterminated raw string".into()),
                Some(c) => {
                    self.pos += 1;
                    if c == b'`' {
                        break;
                    }
                }
            }
        }
        self.push(Kind::Str, start);
        Ok(())
    }

    /// Scans a number the way Prometheus does; true when it is not followed by a
    /// letter or digit (otherwise it may be a duration).
    fn scan_number(&mut self) -> bool {
        let digits: fn(u8) -> bool =
            if self.b[self.pos..].starts_with(b"0x") || self.b[self.pos..].starts_with(b"0X") {
                self.pos += 2;
                |c| c.is_ascii_hexdigit() || c == b'_'
            } else {
                |c| c.is_ascii_digit() || c == b'_'
            };
        while self.peek().is_some_and(digits) {
            self.pos += 1;
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            while self.peek().is_some_and(digits) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), Some(b'e') | Some(b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+') | Some(b'-')) {
                self.pos += 1;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == b'_') {
                self.pos += 1;
            }
        }
        !self.peek().is_some_and(is_alnum)
    }

    /// After a number's digits: unit letters and more number+unit groups
    /// (`1h30m`). False when a unit is missing or unknown.
    fn accept_duration_rest(&mut self) -> bool {
        let unit = |b: &[u8]| -> usize {
            match b {
                [b'm', b's', ..] => 2,
                [b'y' | b'w' | b'd' | b'h' | b'm' | b's', ..] => 1,
                _ => 0,
            }
        };
        let mut any = false;
        loop {
            let n = unit(&self.b[self.pos..]);
            if n == 0 {
                return any && !self.peek().is_some_and(is_alnum);
            }
            self.pos += n;
            any = true;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            if !self.peek().is_some_and(is_alnum) {
                return true;
            }
        }
    }

    /// The token right after `[` must be a duration (Prometheus 2.42's lexer and
    /// wording; 3.x also accepts duration expressions there, which
    /// `promql-parser` does not).
    fn range_duration(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        {
            if self.scan_number() {
                return self.err(start, "missing unit character in duration".into());
            }
            if !self.accept_duration_rest() {
                return self.err(
                    start,
                    format!("bad duration syntax: {:?}", &self.q[start..self.pos]),
                );
            }
            self.push(Kind::Duration, start);
            Ok(())
        }
    }

    fn number_or_duration(&mut self, start: usize) -> Result<(), LexError> {
        if self.scan_number() {
            self.push(Kind::Number, start);
            return Ok(());
        }
        if self.accept_duration_rest() {
            self.push(Kind::Duration, start);
            return Ok(());
        }
        self.err(
            start,
            format!(
                "bad number or duration syntax: {:?}",
                &self.q[start..self.pos.min(self.b.len())]
            ),
        )
    }
}
