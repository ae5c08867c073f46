//! Samples, staleness markers and exemplars.

use crate::labels::Labels;

/// The bit pattern Prometheus uses for a staleness marker: a NaN that no
/// arithmetic produces, so it can be told apart from a real NaN value.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64`.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// True when `v` is exactly the staleness marker (compares bits, not value).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample: a millisecond timestamp and a value.
///
/// Native histogram samples will get their own variant in the storage chunk
/// encoding (see `docs/format/chunks.md`); float samples stay this compact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value; [`STALE_NAN`] marks the end of a series.
    pub v: f64,
}

impl Sample {
    /// Builds a sample.
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }
}

/// An exemplar: a sampled event (usually carrying a `trace_id`) attached to a series.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The exemplar's own labels, e.g. `trace_id`.
    pub labels: Labels,
    /// The observed value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_distinct_from_nan() {
        assert!(STALE_NAN.is_nan());
        assert!(is_stale_nan(STALE_NAN));
        assert!(!is_stale_nan(f64::NAN));
    }
}
