//! Streaming reader of one segment file, telling good records from damage.
//!
//! The reader never trusts a length it reads: a record is only materialised once its
//! announced length has been checked against the bytes left in the file, so garbage
//! cannot make it allocate more than the file holds.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::WalError;
use crate::format::{
    check_segment_header, record_crc, SegmentKind, RECORD_HEADER_LEN, RECORD_TYPE_FULL,
    SEGMENT_HEADER_LEN,
};

/// Where and why a segment stops being readable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset in the file of the first byte that is not part of a good record.
    pub offset: u64,
    /// What is wrong there.
    pub reason: String,
}

/// One step of reading a segment.
pub enum Next<'a> {
    /// A record whose checksum matched; the slice lives until the next call.
    Record(&'a [u8]),
    /// The file ended exactly after the last good record.
    End,
    /// The data stops being valid at this point.
    Damaged(Damage),
}

/// Reads records from one segment file in order.
pub struct SegmentReader {
    path: PathBuf,
    reader: BufReader<File>,
    offset: u64,
    len: u64,
    buf: Vec<u8>,
}

/// Result of opening a segment for reading: a reader, or damage in the header.
pub enum Opened {
    /// The header is valid; records can be read.
    Reader(SegmentReader),
    /// The header itself is missing or invalid.
    Damaged(Damage),
}

impl SegmentReader {
    /// Opens `path` and checks its header against `kind` and `index`.
    pub fn open(path: &Path, kind: SegmentKind, index: u32) -> Result<Opened, WalError> {
        let file = File::open(path).map_err(|e| WalError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| WalError::io("stat", path, e))?
            .len();
        if len < SEGMENT_HEADER_LEN as u64 {
            return Ok(Opened::Damaged(Damage {
                offset: 0,
                reason: format!(
                    "file is {len} bytes, shorter than the {SEGMENT_HEADER_LEN}-byte segment header"
                ),
            }));
        }
        let mut reader = BufReader::with_capacity(256 << 10, file);
        let mut header = [0u8; SEGMENT_HEADER_LEN];
        reader
            .read_exact(&mut header)
            .map_err(|e| WalError::io("read", path, e))?;
        if let Err(reason) = check_segment_header(&header, kind, index) {
            return Ok(Opened::Damaged(Damage { offset: 0, reason }));
        }
        Ok(Opened::Reader(SegmentReader {
            path: path.to_path_buf(),
            reader,
            offset: SEGMENT_HEADER_LEN as u64,
            len,
            buf: Vec::new(),
        }))
    }

    /// Reads the next record.
    pub fn next_record(&mut self) -> Result<Next<'_>, WalError> {
        let remaining = self.len - self.offset;
        if remaining == 0 {
            return Ok(Next::End);
        }
        let damaged = |offset, reason: String| Ok(Next::Damaged(Damage { offset, reason }));
        if remaining < RECORD_HEADER_LEN as u64 {
            return damaged(
                self.offset,
                format!("torn record header: only {remaining} bytes left in the file"),
            );
        }
        let mut h = [0u8; RECORD_HEADER_LEN];
        match self.reader.read_exact(&mut h) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return damaged(self.offset, "file shrank while being read".into());
            }
            Err(e) => return Err(WalError::io("read", &self.path, e)),
        }
        if h.iter().all(|&b| b == 0) {
            return damaged(
                self.offset,
                "zero-filled record header (torn write or unwritten space)".into(),
            );
        }
        let len_le = [h[0], h[1], h[2], h[3]];
        let plen = u32::from_le_bytes(len_le) as u64;
        let stored_crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let rtype = h[8];
        if rtype != RECORD_TYPE_FULL {
            return damaged(self.offset, format!("unknown record type {rtype}"));
        }
        let left = remaining - RECORD_HEADER_LEN as u64;
        if plen > left {
            return damaged(
                self.offset,
                format!("torn record: header announces {plen} payload bytes, only {left} remain"),
            );
        }
        // plen <= bytes left in the file, so this allocation is bounded by the file.
        self.buf.resize(plen as usize, 0);
        match self.reader.read_exact(&mut self.buf) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return damaged(self.offset, "file shrank while being read".into());
            }
            Err(e) => return Err(WalError::io("read", &self.path, e)),
        }
        let computed = record_crc(len_le, rtype, &self.buf);
        if computed != stored_crc {
            return damaged(
                self.offset,
                format!(
                    "record checksum mismatch (stored {stored_crc:#010x}, computed {computed:#010x})"
                ),
            );
        }
        self.offset += RECORD_HEADER_LEN as u64 + plen;
        Ok(Next::Record(&self.buf))
    }
}
