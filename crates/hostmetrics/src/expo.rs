//! Writers for the Prometheus text exposition format, version 0.0.4.
//!
//! Collectors append straight into the caller's `String`; nothing here
//! allocates beyond growing that buffer.

use std::fmt::Write;

/// The `# TYPE` of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A monotonically increasing value.
    Counter,
    /// A value that can go up and down.
    Gauge,
    /// node_exporter exposes raw kernel counters of unknown semantics as untyped.
    Untyped,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
        }
    }
}

/// Writes the `# HELP` and `# TYPE` lines that open a family.
pub(crate) fn header(out: &mut String, name: &str, help: &str, kind: Kind) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind.as_str());
    out.push('\n');
}

/// Writes one sample line with a floating-point value.
pub(crate) fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    series(out, name, labels);
    push_f64(out, value);
    out.push('\n');
}

/// Writes one sample line with an exact integer value.
pub(crate) fn sample_u64(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    series(out, name, labels);
    let _ = write!(out, "{value}");
    out.push('\n');
}

/// Writes a whole single-sample family: header plus one unlabelled sample.
pub(crate) fn single(out: &mut String, name: &str, help: &str, kind: Kind, value: f64) {
    header(out, name, help, kind);
    sample(out, name, &[], value);
}

fn series(out: &mut String, name: &str, labels: &[(&str, &str)]) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
}

/// Formats a float the way Prometheus parsers accept it, keeping integers
/// integral and using exponent notation only for very large or small values.
pub(crate) fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v == 0.0 {
        out.push('0');
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else if v.abs() >= 1e-4 && v.abs() < 1e15 {
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(v: f64) -> String {
        let mut s = String::new();
        push_f64(&mut s, v);
        s
    }

    #[test]
    fn floats_are_formatted_for_prometheus() {
        assert_eq!(fmt(0.0), "0");
        assert_eq!(fmt(-0.0), "0");
        assert_eq!(fmt(175.29), "175.29");
        assert_eq!(fmt(1795638680.0), "1795638680");
        assert_eq!(fmt(2.5e20), "2.5e20");
        assert_eq!(fmt(1e-7), "1e-7");
        assert_eq!(fmt(f64::NAN), "NaN");
        assert_eq!(fmt(f64::INFINITY), "+Inf");
        assert_eq!(fmt(f64::NEG_INFINITY), "-Inf");
        for v in [175.29, 2.5e20, 1e-7, 0.1 + 0.2, 123456.789] {
            assert_eq!(fmt(v).parse::<f64>().unwrap(), v);
        }
    }

    #[test]
    fn labels_and_help_are_escaped() {
        let mut s = String::new();
        header(&mut s, "m", "a \\ b\nc", Kind::Gauge);
        sample(&mut s, "m", &[("a", "x\"y\\z\nw"), ("b", "")], 1.5);
        sample_u64(&mut s, "m", &[], u64::MAX);
        assert_eq!(
            s,
            "# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{a=\"x\\\"y\\\\z\\nw\",b=\"\"} 1.5\nm 18446744073709551615\n"
        );
    }
}
