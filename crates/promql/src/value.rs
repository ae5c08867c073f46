//! Query results and the float formatting the Prometheus HTTP API uses.

use sightline_model::{Labels, Sample};

/// The result of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar at a timestamp (ms).
    Scalar {
        /// Evaluation timestamp in milliseconds.
        t: i64,
        /// The value.
        v: f64,
    },
    /// A string literal result at a timestamp (ms).
    String {
        /// Evaluation timestamp in milliseconds.
        t: i64,
        /// The string.
        v: String,
    },
    /// An instant vector: one value per series, all at the evaluation time.
    Vector(Vec<(Labels, i64, f64)>),
    /// A range vector / range query result: samples per series.
    Matrix(Vec<(Labels, Vec<Sample>)>),
}

/// Formats a float like Go's `strconv.FormatFloat(v, 'f', -1, 64)`, which is what the
/// Prometheus API emits: the shortest decimal that round-trips, never an exponent,
/// and `+Inf`, `-Inf`, `NaN` for the special values.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else if v != 0.0 && (v.abs() < 1e-6 || v.abs() >= 1e21) {
        // Prometheus switches to Go's 'e' format (shortest mantissa, exponent with a
        // sign and at least two digits) outside [1e-6, 1e21), as JSON encoders do.
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exp),
                };
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else {
        // Rust's Display for f64 is the shortest round-trip form without exponent.
        format!("{v}")
    }
}

/// Formats a float like Go's `strconv.FormatFloat(v, 'f', -1, 64)`: never an
/// exponent. Prometheus uses this where a value becomes a label (`count_values`).
pub fn format_plain(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod format_tests {
    use super::format_value;

    #[test]
    fn exponent_form_outside_prometheus_range() {
        assert_eq!(format_value(1e21), "1e+21");
        assert_eq!(format_value(4.860917763174426e-7), "4.860917763174426e-07");
        assert_eq!(format_value(5e-324), "5e-324");
        assert_eq!(format_value(-1.5e300), "-1.5e+300");
        assert_eq!(format_value(1e-6), "0.000001");
        assert_eq!(format_value(123456789.0), "123456789");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(-0.0), "-0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_formats_like_go_strconv_f_minus_one() {
        assert_eq!(format_plain(1.0), "1");
        assert_eq!(format_plain(0.1), "0.1");
        assert_eq!(format_plain(1e21), "1000000000000000000000");
        assert_eq!(format_plain(1.5e-7), "0.00000015");
        assert_eq!(format_plain(-0.0), "-0");
        assert_eq!(format_plain(f64::INFINITY), "+Inf");
        assert_eq!(format_plain(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_plain(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
    }
}
