//! Byte-level scanning shared by both formats: names, quoted strings, sample lines
//! and exemplars. Positions only ever advance over ASCII bytes or whole UTF-8
//! characters, so every slice taken is on a character boundary.

use std::borrow::Cow;

use super::{Entry, ParsedExemplar};

/// Labels as parsed: name and value, borrowed where possible.
pub(crate) type RawLabels<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// A read position within one line.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Cursor { s, i: 0 }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    pub(crate) fn bump(&mut self) {
        self.i += 1;
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }

    /// Skips spaces and tabs; true when at least one was skipped.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        self.i > start
    }

    /// Reads up to the next space, tab or end.
    pub(crate) fn word(&mut self) -> &'a str {
        let start = self.i;
        while let Some(b) = self.peek() {
            if b == b' ' || b == b'\t' {
                break;
            }
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    /// Reads `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub(crate) fn metric_name(&mut self) -> Result<&'a str, String> {
        let start = self.i;
        match self.peek() {
            Some(b) if is_name_start(b) => self.i += 1,
            _ => {
                return Err(format!(
                    "expected a metric name, found {:?}",
                    short(self.rest())
                ))
            }
        }
        while matches!(self.peek(), Some(b) if is_name_char(b)) {
            self.i += 1;
        }
        Ok(&self.s[start..self.i])
    }

    /// Reads `[a-zA-Z_][a-zA-Z0-9_]*`.
    fn label_name(&mut self) -> Result<&'a str, String> {
        let start = self.i;
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => self.i += 1,
            _ => {
                return Err(format!(
                    "expected a label name, found {:?}",
                    short(self.rest())
                ))
            }
        }
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_') {
            self.i += 1;
        }
        Ok(&self.s[start..self.i])
    }

    fn expect(&mut self, b: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {what}, found {:?}", short(self.rest())))
        }
    }

    /// Reads a double-quoted string starting at `"`; unescapes `\\`, `\"`, `\n` and
    /// keeps any other backslash sequence as written.
    fn quoted(&mut self) -> Result<Cow<'a, str>, String> {
        self.expect(b'"', "'\"'")?;
        let start = self.i;
        let bytes = self.s.as_bytes();
        let mut j = start;
        let mut escaped = false;
        while j < bytes.len() {
            match bytes[j] {
                b'"' => {
                    self.i = j + 1;
                    let raw = &self.s[start..j];
                    return Ok(if escaped {
                        unescape(raw, true)
                    } else {
                        Cow::Borrowed(raw)
                    });
                }
                b'\\' => {
                    escaped = true;
                    j += 2;
                }
                _ => j += 1,
            }
        }
        Err("unterminated quoted string".into())
    }
}

fn short(s: &str) -> &str {
    match s.char_indices().nth(24) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Unescapes `\\` and `\n` (and `\"` when `quotes`); other sequences stay as written.
pub(crate) fn unescape(s: &str, quotes: bool) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Parses a sample value: decimal and exponent notation, `NaN`, `+Inf`, `-Inf`.
pub(crate) fn parse_value(tok: &str) -> Result<f64, String> {
    if tok.is_empty() {
        return Err("missing value".into());
    }
    tok.parse::<f64>()
        .map_err(|_| format!("invalid value {:?}", short(tok)))
}

/// Parses an OpenMetrics timestamp (seconds, possibly fractional) into milliseconds,
/// exactly for plain decimals so that `1234.567` is 1234567 ms.
pub(crate) fn parse_om_timestamp(tok: &str) -> Result<i64, String> {
    let bad = || format!("invalid timestamp {:?}", short(tok));
    let (neg, body) = match tok.as_bytes().first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let plain = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if plain {
        let secs: i64 = int.parse().map_err(|_| bad())?;
        let mut ms_part: i64 = 0;
        for (k, b) in frac.bytes().take(3).enumerate() {
            ms_part += i64::from(b - b'0') * [100, 10, 1][k];
        }
        let ms = secs
            .checked_mul(1000)
            .and_then(|v| v.checked_add(ms_part))
            .ok_or_else(bad)?;
        return Ok(if neg { -ms } else { ms });
    }
    let f: f64 = tok.parse().map_err(|_| bad())?;
    let ms = f * 1000.0;
    if !ms.is_finite() || ms.abs() >= 9.2e18 {
        return Err(bad());
    }
    Ok(ms.trunc() as i64)
}

fn parse_text_timestamp(tok: &str) -> Result<i64, String> {
    tok.parse::<i64>()
        .map_err(|_| format!("invalid timestamp {:?}", short(tok)))
}

/// Parses `{...}` after the opening brace; a quoted entry without `=` is the metric
/// name (the UTF-8 name syntax).
fn labels<'a>(
    c: &mut Cursor<'a>,
    name: &mut Option<Cow<'a, str>>,
    out: &mut RawLabels<'a>,
    om: bool,
) -> Result<(), String> {
    loop {
        if !om {
            c.skip_ws();
        }
        if c.peek() == Some(b'}') {
            c.bump();
            return Ok(());
        }
        let quoted = c.peek() == Some(b'"');
        let lname: Cow<'a, str> = if quoted {
            c.quoted()?
        } else {
            Cow::Borrowed(c.label_name()?)
        };
        if !om {
            c.skip_ws();
        }
        if quoted && matches!(c.peek(), Some(b',' | b'}')) {
            if name.is_some() {
                return Err("metric name given twice".into());
            }
            *name = Some(lname);
        } else {
            c.expect(b'=', "'=' after label name")?;
            if !om {
                c.skip_ws();
            }
            let v = c.quoted()?;
            out.push((lname, v));
            if !om {
                c.skip_ws();
            }
        }
        match c.peek() {
            Some(b',') => c.bump(),
            Some(b'}') => {
                c.bump();
                return Ok(());
            }
            _ => {
                return Err(format!(
                    "expected ',' or '}}' after label, found {:?}",
                    short(c.rest())
                ))
            }
        }
    }
}

fn check_duplicates(name: &str, labels: &RawLabels<'_>) -> Result<(), String> {
    for (i, (n, _)) in labels.iter().enumerate() {
        if n == "__name__" || labels[..i].iter().any(|(m, _)| m == n) {
            return Err(format!("duplicate label name {n:?} in series {name:?}"));
        }
    }
    Ok(())
}

/// Parses a whole sample line (text when `om` is false, OpenMetrics otherwise).
pub(crate) fn sample<'a>(c: &mut Cursor<'a>, om: bool) -> Result<Entry<'a>, String> {
    let mut name: Option<Cow<'a, str>> = None;
    if c.peek() != Some(b'{') {
        name = Some(Cow::Borrowed(c.metric_name()?));
    }
    let mut lbls = Vec::new();
    if c.peek() == Some(b'{') {
        c.bump();
        labels(c, &mut name, &mut lbls, om)?;
    }
    let name = name.ok_or("sample without a metric name")?;
    if name.is_empty() {
        return Err("empty metric name".into());
    }
    check_duplicates(&name, &lbls)?;
    if om {
        c.expect(b' ', "a single space before the value")?;
    } else if !c.skip_ws() {
        return Err(format!(
            "expected whitespace before the value, found {:?}",
            short(c.rest())
        ));
    }
    let value = parse_value(c.word())?;
    let mut timestamp_ms = None;
    let mut exemplar = None;
    if om {
        if !c.at_end() {
            c.expect(b' ', "a single space after the value")?;
            if c.peek() != Some(b'#') {
                timestamp_ms = Some(parse_om_timestamp(c.word())?);
                if !c.at_end() {
                    c.expect(b' ', "a single space after the timestamp")?;
                }
            }
            if !c.at_end() {
                exemplar = Some(parse_exemplar(c)?);
            }
        }
    } else {
        c.skip_ws();
        if !c.at_end() {
            timestamp_ms = Some(parse_text_timestamp(c.word())?);
            c.skip_ws();
            if !c.at_end() {
                return Err(format!(
                    "unexpected text after timestamp: {:?}",
                    short(c.rest())
                ));
            }
        }
    }
    Ok(Entry::Sample {
        name,
        labels: lbls,
        timestamp_ms,
        value,
        exemplar,
    })
}

fn parse_exemplar<'a>(c: &mut Cursor<'a>) -> Result<ParsedExemplar<'a>, String> {
    c.expect(b'#', "'#' starting an exemplar")?;
    c.expect(b' ', "a space after '#'")?;
    c.expect(b'{', "'{' starting exemplar labels")?;
    let mut none = None;
    let mut lbls = Vec::new();
    labels(c, &mut none, &mut lbls, true)?;
    if none.is_some() {
        return Err("exemplar labels cannot carry a metric name".into());
    }
    check_duplicates("exemplar", &lbls)?;
    let runes: usize = lbls
        .iter()
        .map(|(n, v)| n.chars().count() + v.chars().count())
        .sum();
    if runes > 128 {
        return Err(format!(
            "exemplar labels have {runes} characters, more than the 128 allowed"
        ));
    }
    c.expect(b' ', "a space before the exemplar value")?;
    let value = parse_value(c.word())?;
    let mut timestamp_ms = None;
    if !c.at_end() {
        c.expect(b' ', "a space before the exemplar timestamp")?;
        timestamp_ms = Some(parse_om_timestamp(c.word())?);
        if !c.at_end() {
            return Err(format!(
                "unexpected text after exemplar: {:?}",
                short(c.rest())
            ));
        }
    }
    Ok(ParsedExemplar {
        labels: lbls,
        value,
        timestamp_ms,
    })
}
