//! Bit-granular writer and reader shared by the chunk encodings.
//!
//! Gorilla-style encodings spend a few bits per sample, so they need a stream that
//! is addressed in bits rather than bytes. Bits are written most-significant first
//! within each byte; the final byte is zero-padded.

/// Appends bits to a growable byte buffer.
#[derive(Clone, Debug, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    /// Number of bits still free in the last byte of `buf` (0 = need a new byte).
    free: u8,
}

impl BitWriter {
    /// A writer whose first `header` bytes are zero and reserved for the caller.
    pub fn with_header(header: usize, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(header));
        buf.resize(header, 0);
        BitWriter { buf, free: 0 }
    }

    /// Writes one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.buf.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit {
            let last = self.buf.len() - 1;
            self.buf[last] |= 1 << self.free;
        }
    }

    /// Writes the low `n` bits of `v` (n ≤ 64), most significant first.
    #[inline]
    pub fn write_bits(&mut self, v: u64, mut n: u8) {
        debug_assert!(n <= 64);
        while n > 0 {
            if self.free == 0 {
                self.buf.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let shift = n - take;
            let chunk = ((v >> shift) & ((1u64 << take) - 1)) as u8;
            let last = self.buf.len() - 1;
            self.buf[last] |= chunk << (self.free - take);
            self.free -= take;
            n -= take;
        }
    }

    /// Writes `v` as an unsigned LEB128 varint, byte by byte into the bit stream.
    pub fn write_uvarint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.write_bits(b as u64, 8);
                return;
            }
            self.write_bits((b | 0x80) as u64, 8);
        }
    }

    /// Writes a signed value as a zigzag varint.
    pub fn write_varint(&mut self, v: i64) {
        self.write_uvarint(zigzag(v));
    }

    /// The bytes written so far (including the header).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Mutable access to the reserved header bytes.
    pub fn header_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Consumes the writer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes currently allocated, for memory accounting.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// Reads bits written by [`BitWriter`]; every read returns `None` past the end.
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize, // bit position
}

impl<'a> BitReader<'a> {
    /// Reads `data` from its first bit.
    pub fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    /// Reads one bit.
    #[inline]
    pub fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.data.get(self.pos >> 3)?;
        let bit = (byte >> (7 - (self.pos & 7))) & 1;
        self.pos += 1;
        Some(bit == 1)
    }

    /// Reads `n` bits (n ≤ 64) as an unsigned integer.
    #[inline]
    pub fn read_bits(&mut self, n: u8) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        if self.pos + n as usize > self.data.len() * 8 {
            return None;
        }
        let mut out: u64 = 0;
        let mut left = n;
        while left > 0 {
            let byte = self.data[self.pos >> 3];
            let avail = 8 - (self.pos & 7) as u8;
            let take = left.min(avail);
            let shift = avail - take;
            let bits = (byte >> shift) & (((1u16 << take) - 1) as u8);
            out = (out << take) | bits as u64;
            self.pos += take as usize;
            left -= take;
        }
        Some(out)
    }

    /// Reads a varint written by [`BitWriter::write_uvarint`].
    pub fn read_uvarint(&mut self) -> Option<u64> {
        let mut out: u64 = 0;
        for i in 0..10 {
            let b = self.read_bits(8)? as u8;
            out |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Some(out);
            }
        }
        None
    }

    /// Reads a zigzag varint.
    pub fn read_varint(&mut self) -> Option<i64> {
        self.read_uvarint().map(unzigzag)
    }
}

/// Zigzag-maps a signed integer so that small magnitudes become small codes.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A prefix-coded bucket: values in `[-(2^(bits-1)), 2^(bits-1)-1]` are written as
/// `prefix_len` prefix bits followed by `bits` two's-complement bits.
pub struct Bucket {
    /// Number of payload bits.
    pub bits: u8,
}

/// Writes `v` with a unary bucket selector: bucket `i` is `i` one-bits then a zero
/// (the last bucket has no terminating zero), followed by the payload. A zero value
/// is a single `0` bit. The last bucket must be 64 bits wide.
#[inline]
pub fn write_bucketed(w: &mut BitWriter, v: i64, buckets: &[Bucket]) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    let last = buckets.len() - 1;
    for (i, b) in buckets.iter().enumerate() {
        let fits = b.bits == 64 || {
            let lim = 1i64 << (b.bits - 1);
            v >= -lim && v < lim
        };
        if fits {
            // i+1 one-bits, then a terminating zero unless this is the last bucket.
            w.write_bits(u64::MAX, (i + 1) as u8);
            if i != last {
                w.write_bit(false);
            }
            let mask = if b.bits == 64 {
                u64::MAX
            } else {
                (1u64 << b.bits) - 1
            };
            w.write_bits(v as u64 & mask, b.bits);
            return;
        }
    }
}

/// Cost in bits of [`write_bucketed`] for `v`.
#[inline]
pub fn bucketed_cost(v: i64, buckets: &[Bucket]) -> u64 {
    if v == 0 {
        return 1;
    }
    let last = buckets.len() - 1;
    for (i, b) in buckets.iter().enumerate() {
        let fits = b.bits == 64 || {
            let lim = 1i64 << (b.bits - 1);
            v >= -lim && v < lim
        };
        if fits {
            return (i as u64 + 1) + u64::from(i != last) + b.bits as u64;
        }
    }
    u64::MAX
}

/// Reads a value written by [`write_bucketed`] with the same bucket table.
#[inline]
pub fn read_bucketed(r: &mut BitReader<'_>, buckets: &[Bucket]) -> Option<i64> {
    if !r.read_bit()? {
        return Some(0);
    }
    let last = buckets.len() - 1;
    let mut i = 0;
    while i < last {
        if !r.read_bit()? {
            break;
        }
        i += 1;
    }
    let bits = buckets[i].bits;
    let raw = r.read_bits(bits)?;
    if bits == 64 {
        return Some(raw as i64);
    }
    // Sign-extend.
    let shift = 64 - bits as u32;
    Some(((raw << shift) as i64) >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_roundtrip() {
        let mut w = BitWriter::with_header(2, 16);
        w.write_bit(true);
        w.write_bits(0b1011, 4);
        w.write_bits(u64::MAX, 64);
        w.write_uvarint(300);
        w.write_varint(-5);
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes[2..]);
        assert_eq!(r.read_bit(), Some(true));
        assert_eq!(r.read_bits(4), Some(0b1011));
        assert_eq!(r.read_bits(64), Some(u64::MAX));
        assert_eq!(r.read_uvarint(), Some(300));
        assert_eq!(r.read_varint(), Some(-5));
    }

    #[test]
    fn buckets_roundtrip_edges() {
        const B: [Bucket; 3] = [Bucket { bits: 4 }, Bucket { bits: 12 }, Bucket { bits: 64 }];
        let vals = [
            0i64,
            1,
            -1,
            7,
            -8,
            8,
            -9,
            2047,
            -2048,
            2048,
            i64::MIN,
            i64::MAX,
        ];
        let mut w = BitWriter::default();
        let mut cost = 0;
        for v in vals {
            write_bucketed(&mut w, v, &B);
            cost += bucketed_cost(v, &B);
        }
        let bytes = w.into_bytes();
        assert_eq!(bytes.len() as u64, cost.div_ceil(8));
        let mut r = BitReader::new(&bytes);
        for v in vals {
            assert_eq!(read_bucketed(&mut r, &B), Some(v));
        }
    }
}
