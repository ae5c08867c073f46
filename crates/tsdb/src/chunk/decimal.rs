//! The decimal chunk (encoding 2): for chunks whose values are all exact decimals
//! (`integer / 10^k`, k ≤ 9, |integer| ≤ 2^53) — byte and packet counters, memory
//! gauges, CPU seconds with centisecond resolution — the integers are stored as
//! bucketed deltas or delta-of-deltas, which is far denser than XOR for counters
//! that grow by varying amounts. Written only when a complete chunk is sealed into a
//! block, and only when it is smaller than the XOR form; decoding reproduces every
//! value bit for bit (the encoder verifies the round trip of each value).

use super::bits::{bucketed_cost, read_bucketed, write_bucketed, BitReader, BitWriter, Bucket};
use super::xor::TS_BUCKETS;
use sightline_model::Sample;

/// Value delta (or delta-of-delta) buckets: 3, 7, 13, 20, 32 and 64 payload bits.
pub const VALUE_BUCKETS: [Bucket; 6] = [
    Bucket { bits: 3 },
    Bucket { bits: 7 },
    Bucket { bits: 13 },
    Bucket { bits: 20 },
    Bucket { bits: 32 },
    Bucket { bits: 64 },
];

const POW10: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
/// Mode bit marking delta-of-delta value coding.
const DOD_FLAG: u8 = 0x80;
/// Mode bit marking a common factor of all value deltas (a uvarint after `I0`).
const GCD_FLAG: u8 = 0x40;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[inline]
fn scaled(v: f64, k: usize) -> Option<i64> {
    let x = (v * POW10[k]).round();
    if x.is_nan() || x.abs() > MAX_EXACT {
        return None;
    }
    let i = x as i64;
    ((i as f64 / POW10[k]).to_bits() == v.to_bits()).then_some(i)
}

/// Finds the common decimal exponent and the scaled integers, if every value has one.
fn to_integers(samples: &[Sample]) -> Option<(u8, Vec<i64>)> {
    let mut k = 0usize;
    for s in samples {
        while scaled(s.v, k).is_none() {
            k += 1;
            if k >= POW10.len() {
                return None;
            }
        }
    }
    'outer: for k in k..POW10.len() {
        let mut out = Vec::with_capacity(samples.len());
        for s in samples {
            match scaled(s.v, k) {
                Some(i) => out.push(i),
                None => continue 'outer,
            }
        }
        return Some((k as u8, out));
    }
    None
}

/// Encodes `samples` (strictly increasing timestamps, at most 65535) in the decimal
/// encoding, choosing delta or delta-of-delta value coding, or returns `None` when
/// some value is not an exact decimal.
pub fn encode(samples: &[Sample]) -> Option<Vec<u8>> {
    if samples.is_empty() || samples.len() > u16::MAX as usize {
        return None;
    }
    let (k, ints) = to_integers(samples)?;
    // Deltas (|I| <= 2^53, so they cannot overflow), divided by their common factor.
    let g = ints
        .windows(2)
        .fold(0u64, |g, w| gcd(g, (w[1] - w[0]).unsigned_abs()))
        .max(1);
    let deltas: Vec<i64> = ints.windows(2).map(|w| (w[1] - w[0]) / g as i64).collect();
    let (mut cost_delta, mut cost_dod) = (0u64, 0u64);
    for i in 1..deltas.len() {
        cost_delta += bucketed_cost(deltas[i], &VALUE_BUCKETS);
        cost_dod += bucketed_cost(deltas[i] - deltas[i - 1], &VALUE_BUCKETS);
    }
    let dod = cost_dod < cost_delta;
    let mut w = BitWriter::with_header(3, 16 + samples.len() * 2);
    let hdr = w.header_mut();
    hdr[..2].copy_from_slice(&(samples.len() as u16).to_be_bytes());
    hdr[2] = k | if dod { DOD_FLAG } else { 0 } | if g > 1 { GCD_FLAG } else { 0 };
    let mut tdelta = 0i64;
    for (i, s) in samples.iter().enumerate() {
        match i {
            0 => {
                w.write_varint(s.t);
                w.write_varint(ints[0]);
                if g > 1 {
                    w.write_uvarint(g);
                }
            }
            1 => {
                tdelta = s.t.wrapping_sub(samples[0].t);
                w.write_varint(tdelta);
                w.write_varint(deltas[0]);
            }
            _ => {
                let d = s.t.wrapping_sub(samples[i - 1].t);
                write_bucketed(&mut w, d.wrapping_sub(tdelta), &TS_BUCKETS);
                tdelta = d;
                let v = if dod {
                    deltas[i - 1] - deltas[i - 2]
                } else {
                    deltas[i - 1]
                };
                write_bucketed(&mut w, v, &VALUE_BUCKETS);
            }
        }
    }
    Some(w.into_bytes())
}

/// Decodes a decimal chunk; stops (and reports [`DecimalIter::corrupt`]) on
/// malformed data.
#[derive(Clone, Debug)]
pub struct DecimalIter<'a> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    div: f64,
    dod: bool,
    gcd: bool,
    factor: i64,
    t: i64,
    tdelta: i64,
    v: i64,
    vdelta: i64,
    corrupt: bool,
}

impl<'a> DecimalIter<'a> {
    /// Starts decoding `data` (the chunk bytes including the 3-byte header).
    pub fn new(data: &'a [u8]) -> Self {
        let mut it = DecimalIter {
            r: BitReader::new(&data[..0]),
            total: 0,
            read: 0,
            div: 1.0,
            dod: false,
            gcd: false,
            factor: 1,
            t: 0,
            tdelta: 0,
            v: 0,
            vdelta: 0,
            corrupt: false,
        };
        if data.len() < 3 || (data[2] & 0x0f) as usize >= POW10.len() || data[2] & 0x30 != 0 {
            it.corrupt = !data.is_empty();
            return it;
        }
        it.total = u16::from_be_bytes([data[0], data[1]]);
        it.div = POW10[(data[2] & 0x0f) as usize];
        it.dod = data[2] & DOD_FLAG != 0;
        it.gcd = data[2] & GCD_FLAG != 0;
        it.r = BitReader::new(&data[3..]);
        it
    }

    /// True when decoding stopped early on malformed data.
    pub fn corrupt(&self) -> bool {
        self.corrupt
    }

    fn step(&mut self) -> Option<Sample> {
        match self.read {
            0 => {
                self.t = self.r.read_varint()?;
                self.v = self.r.read_varint()?;
                if self.gcd {
                    self.factor = i64::try_from(self.r.read_uvarint()?).ok()?;
                }
            }
            1 => {
                self.tdelta = self.r.read_varint()?;
                self.t = self.t.wrapping_add(self.tdelta);
                self.vdelta = self.r.read_varint()?;
                self.v = self.v.wrapping_add(self.vdelta.wrapping_mul(self.factor));
            }
            _ => {
                let dod = read_bucketed(&mut self.r, &TS_BUCKETS)?;
                self.tdelta = self.tdelta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.tdelta);
                let x = read_bucketed(&mut self.r, &VALUE_BUCKETS)?;
                self.vdelta = if self.dod {
                    self.vdelta.wrapping_add(x)
                } else {
                    x
                };
                self.v = self.v.wrapping_add(self.vdelta.wrapping_mul(self.factor));
            }
        }
        self.read += 1;
        Some(Sample::new(self.t, self.v as f64 / self.div))
    }
}

impl Iterator for DecimalIter<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        if self.read >= self.total || self.corrupt {
            return None;
        }
        let s = self.step();
        if s.is_none() {
            self.corrupt = true;
        }
        s
    }
}
