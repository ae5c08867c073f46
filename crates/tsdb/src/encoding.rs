//! Byte-level varint helpers and a bounds-checked reader, shared by the WAL record
//! and index encodings. Every read reports running past the end as an error naming
//! what was being read, never a panic.

/// Appends an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a zigzag varint.
#[inline]
pub fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
#[inline]
pub fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_uvarint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// A cursor over bytes whose reads fail cleanly at the end.
#[derive(Clone, Debug)]
pub struct Decbuf<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Decbuf<'a> {
    /// Reads `data` from the start.
    pub fn new(data: &'a [u8]) -> Self {
        Decbuf { data, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| format!("truncated data reading {what}"))?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.remaining() < n {
            return Err(format!("truncated data reading {what}"));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads a little-endian u64.
    pub fn u64_le(&mut self, what: &str) -> Result<u64, String> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Reads a big-endian u32.
    pub fn u32_be(&mut self, what: &str) -> Result<u32, String> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads an unsigned varint.
    #[inline]
    pub fn uvarint(&mut self, what: &str) -> Result<u64, String> {
        let mut out: u64 = 0;
        for i in 0..10 {
            let b = self.u8(what)?;
            out |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(format!("varint too long reading {what}"))
    }

    /// Reads an unsigned varint that must fit in u32.
    pub fn uvarint32(&mut self, what: &str) -> Result<u32, String> {
        let v = self.uvarint(what)?;
        u32::try_from(v).map_err(|_| format!("{what} out of range: {v}"))
    }

    /// Reads a zigzag varint.
    #[inline]
    pub fn varint(&mut self, what: &str) -> Result<i64, String> {
        let v = self.uvarint(what)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn str(&mut self, what: &str) -> Result<&'a str, String> {
        let n = self.uvarint(what)? as usize;
        let b = self.bytes(n, what)?;
        std::str::from_utf8(b).map_err(|_| format!("{what} is not valid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_truncation() {
        let mut b = Vec::new();
        put_uvarint(&mut b, 1 << 40);
        put_varint(&mut b, -77);
        put_str(&mut b, "héllo");
        let mut d = Decbuf::new(&b);
        assert_eq!(d.uvarint("a").unwrap(), 1 << 40);
        assert_eq!(d.varint("b").unwrap(), -77);
        assert_eq!(d.str("c").unwrap(), "héllo");
        assert!(d.u8("d").unwrap_err().contains("truncated"));
        let mut d = Decbuf::new(&b[..2]);
        assert!(d.uvarint("x").is_err());
    }
}
