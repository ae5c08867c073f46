//! The on-disk byte layout: segment headers, record framing and file naming.
//!
//! Everything that decides what a byte on disk means lives here, so that the writer,
//! the reader and `docs/format/wal.md` can be checked against one place.

/// Magic bytes opening every segment file: ASCII `SLWL` ("SightLine Write-ahead Log").
pub const SEGMENT_MAGIC: [u8; 4] = *b"SLWL";

/// The only format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Length of the segment header in bytes.
pub const SEGMENT_HEADER_LEN: usize = 16;

/// Length of a record header (length, checksum, type) in bytes.
pub const RECORD_HEADER_LEN: usize = 9;

/// Record type of a complete record. Zero is never valid, so zero-filled space reads
/// as a torn tail rather than as an empty record.
pub const RECORD_TYPE_FULL: u8 = 1;

/// The largest payload one record may carry: the whole record must fit in a segment
/// whose offsets stay below 2^32, which keeps [`crate::Lsn`] a simple packed number.
pub const MAX_PAYLOAD: usize = u32::MAX as usize - SEGMENT_HEADER_LEN - RECORD_HEADER_LEN;

/// The smallest accepted segment size; smaller configured values are raised to it.
pub const MIN_SEGMENT_SIZE: u64 = 64;

/// The largest accepted segment size (offsets must fit in 32 bits).
pub const MAX_SEGMENT_SIZE: u64 = u32::MAX as u64;

/// What a segment file belongs to, stored in its header so a checkpoint file copied
/// into the log directory (or the reverse) is detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// A segment of the live log (`<dir>/00000001`).
    Log = 1,
    /// A file inside a checkpoint directory (`<dir>/checkpoint.00000001/00000000`).
    Checkpoint = 2,
}

/// Encodes the 16-byte header of segment `index` of `kind`.
pub fn encode_segment_header(kind: SegmentKind, index: u32) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[0..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4] = FORMAT_VERSION;
    h[5] = kind as u8;
    // h[6..8] reserved, zero.
    h[8..12].copy_from_slice(&index.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..12]);
    h[12..16].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a segment header, returning a sentence naming the first problem found.
pub fn check_segment_header(
    h: &[u8; SEGMENT_HEADER_LEN],
    kind: SegmentKind,
    index: u32,
) -> Result<(), String> {
    if h[0..4] != SEGMENT_MAGIC {
        return Err(format!("bad segment magic {:02x?}", &h[0..4]));
    }
    let stored = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
    let computed = crc32c::crc32c(&h[0..12]);
    if stored != computed {
        return Err(format!(
            "segment header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
        ));
    }
    if h[4] != FORMAT_VERSION {
        return Err(format!("unsupported segment format version {}", h[4]));
    }
    if h[5] != kind as u8 {
        return Err(format!(
            "segment kind {} does not match expected {:?} ({})",
            h[5], kind, kind as u8
        ));
    }
    let stored_index = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if stored_index != index {
        return Err(format!(
            "segment header names index {stored_index}, file name says {index}"
        ));
    }
    Ok(())
}

/// The checksum stored in a record header: CRC32C (Castagnoli) over the length field,
/// the type byte and the payload, in that order.
pub fn record_crc(len_le: [u8; 4], rtype: u8, payload: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&len_le);
    let crc = crc32c::crc32c_append(crc, &[rtype]);
    crc32c::crc32c_append(crc, payload)
}

/// Appends one framed record for `payload` to `buf` (no allocation beyond `buf`'s
/// growth). The caller has checked `payload.len() <= MAX_PAYLOAD`.
pub fn encode_record(buf: &mut Vec<u8>, payload: &[u8]) {
    let len_le = (payload.len() as u32).to_le_bytes();
    let crc = record_crc(len_le, RECORD_TYPE_FULL, payload);
    buf.reserve(RECORD_HEADER_LEN + payload.len());
    buf.extend_from_slice(&len_le);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf.push(RECORD_TYPE_FULL);
    buf.extend_from_slice(payload);
}

/// Bytes a record with a payload of `payload_len` bytes takes on disk.
pub fn record_size(payload_len: usize) -> u64 {
    (RECORD_HEADER_LEN + payload_len) as u64
}

/// File name of segment `index`: eight decimal digits, zero padded (`00000001`).
pub fn segment_name(index: u32) -> String {
    format!("{index:08}")
}

/// Parses a segment file name; `None` for anything that is not exactly a segment name
/// (indices beyond eight digits are written with more digits and parsed back too).
pub fn parse_segment_name(name: &str) -> Option<u32> {
    if name.len() < 8 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Directory name of the checkpoint covering segments up to `upto`.
pub fn checkpoint_name(upto: u32) -> String {
    format!("checkpoint.{upto:08}")
}

/// What a `checkpoint.*` directory entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointEntry {
    /// A complete checkpoint covering segments up to the index.
    Complete(u32),
    /// A checkpoint whose writing never finished (`checkpoint.NNNNNNNN.tmp`).
    Temporary(u32),
}

/// Parses a checkpoint directory name.
pub fn parse_checkpoint_name(name: &str) -> Option<CheckpointEntry> {
    let rest = name.strip_prefix("checkpoint.")?;
    if let Some(idx) = rest.strip_suffix(".tmp") {
        return parse_segment_name(idx).map(CheckpointEntry::Temporary);
    }
    parse_segment_name(rest).map(CheckpointEntry::Complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_rejections() {
        let h = encode_segment_header(SegmentKind::Log, 7);
        assert!(check_segment_header(&h, SegmentKind::Log, 7).is_ok());
        assert!(check_segment_header(&h, SegmentKind::Log, 8)
            .unwrap_err()
            .contains("index 7"));
        assert!(check_segment_header(&h, SegmentKind::Checkpoint, 7).is_err());
        let mut bad = h;
        bad[9] ^= 1;
        assert!(check_segment_header(&bad, SegmentKind::Log, 7)
            .unwrap_err()
            .contains("checksum"));
        let mut bad = h;
        bad[0] = b'X';
        assert!(check_segment_header(&bad, SegmentKind::Log, 7)
            .unwrap_err()
            .contains("magic"));
    }

    #[test]
    fn record_layout_is_len_crc_type_payload() {
        let mut buf = Vec::new();
        encode_record(&mut buf, b"abc");
        assert_eq!(buf.len(), RECORD_HEADER_LEN + 3);
        assert_eq!(&buf[0..4], &3u32.to_le_bytes());
        assert_eq!(buf[8], RECORD_TYPE_FULL);
        assert_eq!(&buf[9..], b"abc");
        let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
        assert_eq!(
            crc,
            record_crc(3u32.to_le_bytes(), RECORD_TYPE_FULL, b"abc")
        );
    }

    #[test]
    fn names() {
        assert_eq!(segment_name(1), "00000001");
        assert_eq!(parse_segment_name("00000001"), Some(1));
        assert_eq!(parse_segment_name("4294967295"), Some(u32::MAX));
        assert_eq!(parse_segment_name("0001"), None);
        assert_eq!(parse_segment_name("0000000a"), None);
        assert_eq!(checkpoint_name(5), "checkpoint.00000005");
        assert_eq!(
            parse_checkpoint_name("checkpoint.00000005"),
            Some(CheckpointEntry::Complete(5))
        );
        assert_eq!(
            parse_checkpoint_name("checkpoint.00000005.tmp"),
            Some(CheckpointEntry::Temporary(5))
        );
        assert_eq!(parse_checkpoint_name("checkpoint.x"), None);
    }
}
