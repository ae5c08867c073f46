//! Exposition-format parsers: Prometheus text 0.0.4 and OpenMetrics 1.0 text.
//!
//! [`Parser`] walks a scraped body line by line and yields [`Entry`] values that
//! borrow from the input wherever no unescaping is needed. It never panics on
//! arbitrary bytes: every problem becomes a [`ParseError`] carrying the 1-based line
//! number. Iteration stops after the first error, as a scrape fails as a whole.
//!
//! [`batch`] turns a whole exposition into a [`sightline_model::WriteBatch`] (used by
//! the CLI's OpenMetrics backfill).

pub mod batch;
mod lexer;

use std::borrow::Cow;
use std::fmt;

use sightline_model::{Label, Labels, MetricType, METRIC_NAME};

pub use batch::{parse_to_batch, BatchOptions};
use lexer::Cursor;

/// The two text exposition formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `text/plain; version=0.0.4` (and 1.0.0).
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

/// Picks the parser for a response's `Content-Type`: OpenMetrics for
/// `application/openmetrics-text`, Prometheus text for anything else (as Prometheus
/// falls back to its text parser).
pub fn format_from_content_type(ct: &str) -> Format {
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::PrometheusText
    }
}

/// An error with the line it occurred on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// An exemplar as written after a sample (`# {trace_id="abc"} 1.0 1234.5`).
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedExemplar<'a> {
    /// The exemplar's labels.
    pub labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The observed value.
    pub value: f64,
    /// Its timestamp in milliseconds, when given.
    pub timestamp_ms: Option<i64>,
}

impl ParsedExemplar<'_> {
    /// Converts to the model's exemplar, using `default_ts` when none was given.
    pub fn to_model(&self, default_ts: i64) -> sightline_model::Exemplar {
        sightline_model::Exemplar {
            labels: Labels::from_pairs(
                self.labels
                    .iter()
                    .map(|(n, v)| (n.as_ref().to_string(), v.as_ref().to_string())),
            ),
            value: self.value,
            t: self.timestamp_ms.unwrap_or(default_ts),
        }
    }
}

/// One meaningful line of an exposition.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP name text`, text unescaped.
    Help {
        /// The family name.
        name: &'a str,
        /// The help text.
        help: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// The family name.
        name: &'a str,
        /// The declared type (`untyped` and `unknown` become `Unknown`).
        metric_type: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics only).
    Unit {
        /// The family name.
        name: &'a str,
        /// The unit.
        unit: &'a str,
    },
    /// A sample line.
    Sample {
        /// The series' metric name.
        name: Cow<'a, str>,
        /// Labels in written order, values unescaped; names are unique.
        labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
        /// The exposed timestamp in milliseconds (OpenMetrics seconds are converted).
        timestamp_ms: Option<i64>,
        /// The value.
        value: f64,
        /// The attached exemplar (OpenMetrics only).
        exemplar: Option<ParsedExemplar<'a>>,
    },
    /// `# EOF` (OpenMetrics only; always the last entry).
    Eof,
}

/// Builds a series' label set from a parsed sample's name and labels.
pub fn series_labels(name: &str, labels: &[(Cow<'_, str>, Cow<'_, str>)]) -> Labels {
    let mut v = Vec::with_capacity(labels.len() + 1);
    v.push(Label::new(METRIC_NAME, name));
    for (n, val) in labels {
        v.push(Label::new(n.as_ref(), val.as_ref()));
    }
    Labels::from_vec(v)
}

/// Streaming parser over one exposition; an iterator of entries.
pub struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    line: usize,
    format: Format,
    done: bool,
    skip_created: bool,
    family: &'a str,
    family_type: MetricType,
}

impl<'a> Parser<'a> {
    /// A parser for `input` in `format`.
    pub fn new(input: &'a [u8], format: Format) -> Self {
        Parser {
            input,
            pos: 0,
            line: 0,
            format,
            done: false,
            skip_created: false,
            family: "",
            family_type: MetricType::Unknown,
        }
    }

    /// Skips OpenMetrics `_created` samples of counters, histograms and summaries,
    /// which Prometheus treats as creation timestamps, not as series of their own.
    pub fn skip_created_series(mut self, skip: bool) -> Self {
        self.skip_created = skip;
        self
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The type declared for the family the last sample belongs to.
    pub fn current_type(&self) -> MetricType {
        self.family_type
    }

    fn err(&mut self, message: impl Into<String>) -> Option<Result<Entry<'a>, ParseError>> {
        self.done = true;
        Some(Err(ParseError {
            line: self.line,
            message: message.into(),
        }))
    }

    fn next_line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.input.len() {
            return None;
        }
        let rest = &self.input[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n');
        self.line += 1;
        let line = match end {
            Some(e) => {
                self.pos += e + 1;
                &rest[..e]
            }
            None => {
                self.pos = self.input.len();
                rest
            }
        };
        Some(line)
    }

    fn note_family(&mut self, name: &'a str, t: Option<MetricType>) {
        if self.family != name {
            self.family = name;
            self.family_type = MetricType::Unknown;
        }
        if let Some(t) = t {
            self.family_type = t;
        }
    }

    fn is_created_sample(&self, name: &str) -> bool {
        matches!(
            self.family_type,
            MetricType::Counter | MetricType::Histogram | MetricType::Summary
        ) && name.len() == self.family.len() + "_created".len()
            && name.starts_with(self.family)
            && name.ends_with("_created")
    }

    fn parse_line(&mut self, line: &'a str) -> Result<Option<Entry<'a>>, String> {
        match self.format {
            Format::PrometheusText => self.parse_text_line(line),
            Format::OpenMetrics => self.parse_om_line(line),
        }
    }

    fn parse_text_line(&mut self, line: &'a str) -> Result<Option<Entry<'a>>, String> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut c = Cursor::new(line);
        c.skip_ws();
        if c.at_end() {
            return Ok(None);
        }
        if c.peek() == Some(b'#') {
            c.bump();
            c.skip_ws();
            let kw = c.word();
            if kw != "HELP" && kw != "TYPE" {
                return Ok(None);
            }
            if !c.skip_ws() {
                return Err(format!("expected a space after # {kw}"));
            }
            let name = c.metric_name()?;
            if kw == "HELP" {
                if !c.at_end() && !c.skip_ws() {
                    return Err(format!(
                        "invalid metric name in HELP line near {:?}",
                        c.rest()
                    ));
                }
                let help = lexer::unescape(c.rest(), false);
                self.note_family(name, None);
                return Ok(Some(Entry::Help { name, help }));
            }
            if !c.skip_ws() {
                return Err(format!(
                    "invalid metric name in TYPE line near {:?}",
                    c.rest()
                ));
            }
            let t = c.word();
            c.skip_ws();
            if !c.at_end() {
                return Err(format!(
                    "unexpected text after type in TYPE line: {:?}",
                    c.rest()
                ));
            }
            let metric_type = match t {
                "counter" => MetricType::Counter,
                "gauge" => MetricType::Gauge,
                "histogram" => MetricType::Histogram,
                "summary" => MetricType::Summary,
                "untyped" => MetricType::Unknown,
                other => return Err(format!("invalid metric type {other:?}")),
            };
            self.note_family(name, Some(metric_type));
            return Ok(Some(Entry::Type { name, metric_type }));
        }
        let e = lexer::sample(&mut c, false)?;
        Ok(Some(e))
    }

    fn parse_om_line(&mut self, line: &'a str) -> Result<Option<Entry<'a>>, String> {
        let mut c = Cursor::new(line);
        if c.at_end() {
            return Err("empty lines are not allowed in OpenMetrics".into());
        }
        if c.peek() == Some(b'#') {
            if line == "# EOF" {
                return Ok(Some(Entry::Eof));
            }
            let Some(rest) = line.strip_prefix("# ") else {
                return Err(format!(
                    "invalid line {line:?}: comments are not allowed in OpenMetrics"
                ));
            };
            let (kw, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            if kw != "HELP" && kw != "TYPE" && kw != "UNIT" {
                return Err(format!(
                    "invalid line {line:?}: expected # HELP, # TYPE, # UNIT or # EOF"
                ));
            }
            let mut c = Cursor::new(rest);
            let name = c.metric_name()?;
            let text = if c.at_end() {
                ""
            } else if c.peek() == Some(b' ') {
                &c.rest()[1..]
            } else {
                return Err(format!(
                    "invalid metric name in {kw} line near {:?}",
                    c.rest()
                ));
            };
            return match kw {
                "HELP" => {
                    self.note_family(name, None);
                    Ok(Some(Entry::Help {
                        name,
                        help: lexer::unescape(text, true),
                    }))
                }
                "TYPE" => {
                    let metric_type = MetricType::from_name(text)
                        .ok_or_else(|| format!("invalid metric type {text:?}"))?;
                    self.note_family(name, Some(metric_type));
                    Ok(Some(Entry::Type { name, metric_type }))
                }
                _ => {
                    if !text.is_empty() && !name.ends_with(text) {
                        return Err(format!("unit {text:?} not a suffix of metric {name:?}"));
                    }
                    self.note_family(name, None);
                    Ok(Some(Entry::Unit { name, unit: text }))
                }
            };
        }
        let e = lexer::sample(&mut c, true)?;
        Ok(Some(e))
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let Some(raw) = self.next_line() else {
                self.done = true;
                if self.format == Format::OpenMetrics {
                    self.line += 1;
                    return self.err("missing # EOF at end of OpenMetrics exposition");
                }
                return None;
            };
            let line = match std::str::from_utf8(raw) {
                Ok(l) => l,
                Err(e) => return self.err(format!("invalid UTF-8: {e}")),
            };
            match self.parse_line(line) {
                Ok(None) => continue,
                Ok(Some(Entry::Eof)) => {
                    self.done = true;
                    let rest = &self.input[self.pos..];
                    if !rest.is_empty() {
                        self.line += 1;
                        return self.err("unexpected data after # EOF");
                    }
                    return Some(Ok(Entry::Eof));
                }
                Ok(Some(e)) => {
                    if let Entry::Sample { name, .. } = &e {
                        if self.skip_created && self.is_created_sample(name) {
                            continue;
                        }
                    }
                    return Some(Ok(e));
                }
                Err(m) => return self.err(m),
            }
        }
    }
}

#[cfg(test)]
mod tests;
