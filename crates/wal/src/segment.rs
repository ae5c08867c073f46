//! Writing side of one segment file: creation with its header, appends at a known
//! offset, roll-back of a failed append, and fsync helpers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::error::WalError;
use crate::format::{encode_segment_header, segment_name, SegmentKind, SEGMENT_HEADER_LEN};
use crate::metrics::WalMetrics;

/// A segment file open for appending.
pub struct SegmentFile {
    /// Index of the segment (its file name).
    pub index: u32,
    /// Full path of the file, shared so fsync callers can name it without allocating.
    pub path: Arc<Path>,
    /// The open file, shared with fsync callers so they need not hold the writer lock.
    pub file: Arc<File>,
    /// Bytes written so far (header included): the offset of the next record.
    pub len: u64,
}

/// A failed append, saying whether the file was restored to its previous length.
pub struct WriteFailure {
    /// The error of the write (or of the roll-back, if that failed too).
    pub error: WalError,
    /// `true` when the file is back to its length before the append, so later appends
    /// cannot follow garbage.
    pub rolled_back: bool,
}

impl SegmentFile {
    /// Creates segment `index` in `dir` (failing if it exists) and writes its header.
    pub fn create(dir: &Path, kind: SegmentKind, index: u32) -> Result<Self, WalError> {
        let path = dir.join(segment_name(index));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| WalError::io("create", &path, e))?;
        let header = encode_segment_header(kind, index);
        if let Err(e) = file.write_all(&header) {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(WalError::io("write", &path, e));
        }
        Ok(SegmentFile {
            index,
            path: Arc::from(path),
            file: Arc::new(file),
            len: SEGMENT_HEADER_LEN as u64,
        })
    }

    /// Writes `buf` at the end of the segment with as few syscalls as the OS allows.
    /// On failure the file is truncated back so the segment stays well formed.
    pub fn append(&mut self, buf: &[u8]) -> Result<(), WriteFailure> {
        if buf.is_empty() {
            return Ok(());
        }
        match write_all_at(&self.file, buf, self.len) {
            Ok(()) => {
                self.len += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let error = WalError::io("write", &*self.path, e);
                let rolled_back = self.file.set_len(self.len).is_ok();
                Err(WriteFailure { error, rolled_back })
            }
        }
    }

    /// fsyncs the file's data, counting and timing it.
    pub fn sync(&self, metrics: &WalMetrics) -> Result<(), WalError> {
        fsync_file(&self.file, &self.path, metrics)
    }
}

/// fsyncs `file` (data and the metadata needed to read it back), counting and timing it.
pub fn fsync_file(file: &File, path: &Path, metrics: &WalMetrics) -> Result<(), WalError> {
    let start = Instant::now();
    let res = file.sync_data();
    metrics
        .fsync_duration
        .observe(start.elapsed().as_secs_f64());
    metrics.fsyncs.inc();
    res.map_err(|e| WalError::io("fsync", path, e))
}

/// fsyncs a directory so entries created, renamed or removed in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), WalError> {
    #[cfg(unix)]
    {
        let d = File::open(dir).map_err(|e| WalError::io("open directory", dir, e))?;
        d.sync_all()
            .map_err(|e| WalError::io("fsync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(buf, offset)
}

#[cfg(not(unix))]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(buf)
}
