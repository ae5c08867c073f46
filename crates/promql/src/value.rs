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
    } else {
        // Rust's Display for f64 is the shortest round-trip form without exponent.
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_strconv_f_minus_one() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(1.5e-7), "0.00000015");
        assert_eq!(format_value(-0.0), "-0");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
    }
}
