//! Compressed sample chunks.
//!
//! A chunk holds up to a few hundred samples of one series in one of the encodings
//! below, identified by a 1-byte encoding id stored next to the chunk (in the block
//! chunk files and in memory). The head appends to [`xor::XorAppender`] chunks; when
//! chunks are sealed into a block, [`encode_best`] picks the smallest encoding.
//! Byte layouts are specified in `docs/format/chunks.md`.

pub mod bits;
pub mod decimal;
pub mod xor;

use sightline_model::Sample;

/// Target number of samples per chunk (as in Prometheus).
pub const SAMPLES_PER_CHUNK: usize = 120;

/// The encodings a chunk can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    /// Gorilla XOR floats, delta-of-delta timestamps.
    Xor = 1,
    /// Exact decimals as scaled integers with bucketed deltas.
    Decimal = 2,
    /// Reserved for native histograms; never written yet.
    Histogram = 3,
}

impl Encoding {
    /// Maps an encoding byte read from disk; unknown bytes are `None`.
    pub fn from_u8(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Decimal),
            3 => Some(Encoding::Histogram),
            _ => None,
        }
    }
}

/// Errors decoding a chunk.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChunkError {
    /// The encoding byte names no known encoding.
    #[error("unknown chunk encoding {0}")]
    UnknownEncoding(u8),
    /// Native histogram chunks are reserved but not supported yet.
    #[error("native histogram chunks are not supported yet")]
    Unsupported,
}

/// Iterates the samples of any chunk.
#[derive(Clone, Debug)]
pub enum ChunkIter<'a> {
    /// An XOR chunk.
    Xor(xor::XorIter<'a>),
    /// A decimal chunk.
    Decimal(decimal::DecimalIter<'a>),
}

impl<'a> ChunkIter<'a> {
    /// Starts decoding a chunk with encoding byte `enc`.
    pub fn new(enc: u8, data: &'a [u8]) -> Result<Self, ChunkError> {
        match Encoding::from_u8(enc) {
            Some(Encoding::Xor) => Ok(ChunkIter::Xor(xor::XorIter::new(data))),
            Some(Encoding::Decimal) => Ok(ChunkIter::Decimal(decimal::DecimalIter::new(data))),
            Some(Encoding::Histogram) => Err(ChunkError::Unsupported),
            None => Err(ChunkError::UnknownEncoding(enc)),
        }
    }

    /// True when decoding stopped early on malformed data.
    pub fn corrupt(&self) -> bool {
        match self {
            ChunkIter::Xor(i) => i.corrupt(),
            ChunkIter::Decimal(i) => i.corrupt(),
        }
    }
}

impl Iterator for ChunkIter<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        match self {
            ChunkIter::Xor(i) => i.next(),
            ChunkIter::Decimal(i) => i.next(),
        }
    }
}

/// The number of samples a chunk announces in its header (both encodings start
/// with a big-endian u16 count).
pub fn sample_count(data: &[u8]) -> u16 {
    if data.len() < 2 {
        0
    } else {
        u16::from_be_bytes([data[0], data[1]])
    }
}

/// Encodes samples (strictly increasing timestamps, ≤ 65535 of them) in the
/// smallest encoding, returning the encoding byte and the chunk bytes.
pub fn encode_best(samples: &[Sample]) -> (u8, Vec<u8>) {
    let mut app = xor::XorAppender::new();
    for s in samples {
        app.append(s.t, s.v);
    }
    let x = app.into_bytes();
    match decimal::encode(samples) {
        Some(d) if d.len() < x.len() => (Encoding::Decimal as u8, d),
        _ => (Encoding::Xor as u8, x),
    }
}

/// Decodes a whole chunk into `out`; returns an error message on corruption.
pub fn decode_into(enc: u8, data: &[u8], out: &mut Vec<Sample>) -> Result<(), String> {
    let mut it = ChunkIter::new(enc, data).map_err(|e| e.to_string())?;
    out.extend(&mut it);
    if it.corrupt() {
        return Err("corrupt chunk data".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sightline_model::STALE_NAN;

    fn roundtrip_xor(samples: &[Sample]) -> Vec<Sample> {
        let mut a = xor::XorAppender::new();
        for s in samples {
            a.append(s.t, s.v);
        }
        let b = a.into_bytes();
        let mut out = Vec::new();
        decode_into(Encoding::Xor as u8, &b, &mut out).unwrap();
        out
    }

    fn same_bits(a: &[Sample], b: &[Sample]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.t == y.t && x.v.to_bits() == y.v.to_bits())
    }

    fn special() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(STALE_NAN),
            Just(-0.0),
            Just(0.0),
            (0i64..1_000_000).prop_map(|i| i as f64 / 100.0),
            (0i64..1_000_000_000).prop_map(|i| i as f64),
        ]
    }

    fn series() -> impl Strategy<Value = Vec<Sample>> {
        (
            any::<i64>().prop_map(|t| t / 4),
            prop::collection::vec((1i64..1_000_000_000, special()), 0..300),
        )
            .prop_map(|(start, steps)| {
                let mut t = start;
                steps
                    .into_iter()
                    .map(|(d, v)| {
                        t = t.saturating_add(d);
                        Sample::new(t, v)
                    })
                    .collect::<Vec<_>>()
            })
            .prop_filter("strictly increasing", |s| {
                s.windows(2).all(|w| w[0].t < w[1].t)
            })
    }

    proptest! {
        #[test]
        fn xor_roundtrips_bit_exactly(samples in series()) {
            let out = roundtrip_xor(&samples);
            prop_assert!(same_bits(&samples, &out));
        }

        #[test]
        fn best_encoding_roundtrips_bit_exactly(samples in series()) {
            let (enc, data) = encode_best(&samples);
            let mut out = Vec::new();
            decode_into(enc, &data, &mut out).unwrap();
            prop_assert!(same_bits(&samples, &out));
        }

        #[test]
        fn decimal_roundtrips_when_chosen(vals in prop::collection::vec(-10_000_000i64..10_000_000, 1..200), k in 0u32..4) {
            let samples: Vec<Sample> = vals.iter().enumerate()
                .map(|(i, v)| Sample::new(1_700_000_000_000 + i as i64 * 15_000, *v as f64 / 10f64.powi(k as i32)))
                .collect();
            let data = decimal::encode(&samples).expect("exact decimals encode");
            let mut out = Vec::new();
            decode_into(Encoding::Decimal as u8, &data, &mut out).unwrap();
            prop_assert!(same_bits(&samples, &out));
        }

        #[test]
        fn garbage_never_panics(enc in 1u8..3, data in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut out = Vec::new();
            let _ = decode_into(enc, &data, &mut out);
        }
    }

    #[test]
    fn special_values_exact() {
        let vals = [
            STALE_NAN,
            f64::NAN,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.5,
        ];
        let samples: Vec<Sample> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(i as i64 * 1000 - 3000, *v))
            .collect();
        assert!(same_bits(&samples, &roundtrip_xor(&samples)));
        assert!(decimal::encode(&samples).is_none());
    }

    #[test]
    fn regular_counter_is_compact() {
        let samples: Vec<Sample> = (0..120)
            .map(|i| Sample::new(1_700_000_000_000 + i * 15_000, (1000 + i * 37) as f64))
            .collect();
        let (enc, data) = encode_best(&samples);
        assert_eq!(enc, Encoding::Decimal as u8);
        // Constant step: 1 bit for the timestamp and 1 for the value dod per sample.
        assert!(data.len() < 50, "{} bytes", data.len());
    }

    #[test]
    fn unknown_encoding_is_an_error() {
        assert_eq!(
            ChunkIter::new(9, &[]).unwrap_err(),
            ChunkError::UnknownEncoding(9)
        );
    }
}
