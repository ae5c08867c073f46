//! The XOR chunk (encoding 1): Gorilla-style delta-of-delta timestamps and XOR'd
//! float values. It is the only appendable encoding, so every head chunk uses it.
//!
//! Layout (see `docs/format/chunks.md`): a 2-byte big-endian sample count, then a
//! bit stream: `t0` zigzag varint, `v0` 64 raw bits, `t1-t0` zigzag varint, XOR of
//! `v1`, and for each later sample a bucketed delta-of-delta timestamp and an XOR
//! value.

use super::bits::{read_bucketed, write_bucketed, BitReader, BitWriter, Bucket};
use sightline_model::Sample;

/// Timestamp delta-of-delta buckets: 14, 17, 20 and 64 payload bits.
pub const TS_BUCKETS: [Bucket; 4] = [
    Bucket { bits: 14 },
    Bucket { bits: 17 },
    Bucket { bits: 20 },
    Bucket { bits: 64 },
];

const NO_WINDOW: u8 = 0xff;

/// Builds an XOR chunk one sample at a time without allocating per sample
/// (the byte buffer grows geometrically).
#[derive(Clone, Debug)]
pub struct XorAppender {
    w: BitWriter,
    count: u16,
    t: i64,
    tdelta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

impl XorAppender {
    /// An empty chunk.
    pub fn new() -> Self {
        Self::with_capacity(64)
    }

    /// An empty chunk whose buffer starts with room for `bytes` bytes: head series
    /// size it from their previous chunk so that a long-lived open chunk does not
    /// carry the slack of geometric growth.
    pub fn with_capacity(bytes: usize) -> Self {
        XorAppender {
            w: BitWriter::with_header(2, bytes),
            count: 0,
            t: 0,
            tdelta: 0,
            v: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Number of samples appended.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Appends a sample; the caller guarantees `t` is greater than the previous one
    /// and that fewer than 65535 samples were appended.
    #[inline]
    pub fn append(&mut self, t: i64, v: f64) {
        let bits = v.to_bits();
        match self.count {
            0 => {
                self.w.write_varint(t);
                self.w.write_bits(bits, 64);
            }
            1 => {
                let d = t.wrapping_sub(self.t);
                self.w.write_varint(d);
                write_xor(
                    &mut self.w,
                    self.v,
                    bits,
                    &mut self.leading,
                    &mut self.trailing,
                );
                self.tdelta = d;
            }
            _ => {
                let d = t.wrapping_sub(self.t);
                write_bucketed(&mut self.w, d.wrapping_sub(self.tdelta), &TS_BUCKETS);
                write_xor(
                    &mut self.w,
                    self.v,
                    bits,
                    &mut self.leading,
                    &mut self.trailing,
                );
                self.tdelta = d;
            }
        }
        self.t = t;
        self.v = bits;
        self.count += 1;
        let c = self.count.to_be_bytes();
        self.w.header_mut()[..2].copy_from_slice(&c);
    }

    /// Timestamp of the newest sample (0 before the first).
    pub fn last_t(&self) -> i64 {
        self.t
    }

    /// The chunk bytes so far (a valid chunk at any point).
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Consumes the appender, returning the chunk bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_bytes()
    }

    /// Heap bytes held, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.w.capacity()
    }
}

#[inline]
fn write_xor(w: &mut BitWriter, prev: u64, v: u64, leading: &mut u8, trailing: &mut u8) {
    let x = prev ^ v;
    if x == 0 {
        w.write_bit(false);
        return;
    }
    w.write_bit(true);
    let l = (x.leading_zeros() as u8).min(31);
    let t = x.trailing_zeros() as u8;
    if *leading != NO_WINDOW && l >= *leading && t >= *trailing {
        w.write_bit(false);
        let sig = 64 - *leading - *trailing;
        w.write_bits(x >> *trailing, sig);
        return;
    }
    *leading = l;
    *trailing = t;
    w.write_bit(true);
    w.write_bits(l as u64, 5);
    let sig = 64 - l - t;
    w.write_bits((sig & 63) as u64, 6);
    w.write_bits(x >> t, sig);
}

/// Decodes an XOR chunk. Stops (and reports [`XorIter::corrupt`]) on malformed data.
#[derive(Clone, Debug)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    tdelta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    corrupt: bool,
}

impl<'a> XorIter<'a> {
    /// Starts decoding `data` (the chunk bytes including the count header).
    pub fn new(data: &'a [u8]) -> Self {
        let (total, body, corrupt) = if data.len() >= 2 {
            (u16::from_be_bytes([data[0], data[1]]), &data[2..], false)
        } else {
            (0, &data[..0], !data.is_empty())
        };
        XorIter {
            r: BitReader::new(body),
            total,
            read: 0,
            t: 0,
            tdelta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
            corrupt,
        }
    }

    /// True when decoding stopped early on malformed data.
    pub fn corrupt(&self) -> bool {
        self.corrupt
    }

    /// The number of samples the header announces.
    pub fn len(&self) -> u16 {
        self.total
    }

    /// True when the chunk holds no samples.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn step(&mut self) -> Option<Sample> {
        match self.read {
            0 => {
                self.t = self.r.read_varint()?;
                self.v = self.r.read_bits(64)?;
            }
            1 => {
                self.tdelta = self.r.read_varint()?;
                self.t = self.t.wrapping_add(self.tdelta);
                self.read_xor()?;
            }
            _ => {
                let dod = read_bucketed(&mut self.r, &TS_BUCKETS)?;
                self.tdelta = self.tdelta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.tdelta);
                self.read_xor()?;
            }
        }
        self.read += 1;
        Some(Sample::new(self.t, f64::from_bits(self.v)))
    }

    #[inline]
    fn read_xor(&mut self) -> Option<()> {
        if !self.r.read_bit()? {
            return Some(());
        }
        if self.r.read_bit()? {
            let l = self.r.read_bits(5)? as u8;
            let mut sig = self.r.read_bits(6)? as u8;
            if sig == 0 {
                sig = 64;
            }
            if l as u32 + sig as u32 > 64 {
                return None;
            }
            self.leading = l;
            self.trailing = 64 - l - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        if sig == 0 {
            return None;
        }
        let bits = self.r.read_bits(sig)?;
        self.v ^= bits << self.trailing;
        Some(())
    }
}

impl Iterator for XorIter<'_> {
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
