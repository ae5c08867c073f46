//! Writing a checkpoint directory atomically.
//!
//! The records go to `checkpoint.<upto>.tmp/` in segment files of the usual format
//! (kind `Checkpoint`, numbered from `00000000`); every file and the directory are
//! fsync'd, then the directory is renamed to `checkpoint.<upto>` and the WAL
//! directory fsync'd. A crash at any point leaves either no checkpoint or a complete
//! one; leftover `.tmp` directories are removed on the next open.

use std::path::Path;

use crate::error::WalError;
use crate::format::{
    checkpoint_name, encode_record, record_size, SegmentKind, MAX_PAYLOAD, SEGMENT_HEADER_LEN,
};
use crate::metrics::WalMetrics;
use crate::replay::remove_dir;
use crate::segment::{sync_dir, SegmentFile};

/// Buffered bytes that trigger a write while checkpointing.
const FLUSH_AT: usize = 1 << 20;

/// Writes `records` as `dir/checkpoint.<upto>`; returns the bytes written.
pub fn write_checkpoint(
    dir: &Path,
    upto: u32,
    segment_size: u64,
    records: &mut dyn Iterator<Item = Vec<u8>>,
    metrics: &WalMetrics,
) -> Result<u64, WalError> {
    let name = checkpoint_name(upto);
    let tmp = dir.join(format!("{name}.tmp"));
    let fin = dir.join(&name);
    remove_dir(&tmp)?;
    std::fs::create_dir(&tmp).map_err(|e| WalError::io("create directory", &tmp, e))?;
    let res = write_files(&tmp, segment_size, records, metrics);
    let bytes = match res {
        Ok(b) => b,
        Err(e) => {
            let _ = remove_dir(&tmp);
            return Err(e);
        }
    };
    sync_dir(&tmp)?;
    std::fs::rename(&tmp, &fin).map_err(|e| WalError::io("rename", &tmp, e))?;
    sync_dir(dir)?;
    Ok(bytes)
}

fn write_files(
    tmp: &Path,
    segment_size: u64,
    records: &mut dyn Iterator<Item = Vec<u8>>,
    metrics: &WalMetrics,
) -> Result<u64, WalError> {
    let mut seg = SegmentFile::create(tmp, SegmentKind::Checkpoint, 0)?;
    let mut total = 0u64;
    let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
    for rec in records {
        if rec.len() > MAX_PAYLOAD {
            return Err(WalError::RecordTooLarge {
                size: rec.len(),
                max: MAX_PAYLOAD,
            });
        }
        let pos = seg.len + buf.len() as u64;
        if pos + record_size(rec.len()) > segment_size && pos > SEGMENT_HEADER_LEN as u64 {
            flush(&mut seg, &mut buf)?;
            seg.sync(metrics)?;
            total += seg.len;
            seg = SegmentFile::create(tmp, SegmentKind::Checkpoint, seg.index + 1)?;
        }
        encode_record(&mut buf, &rec);
        if buf.len() >= FLUSH_AT {
            flush(&mut seg, &mut buf)?;
        }
    }
    flush(&mut seg, &mut buf)?;
    seg.sync(metrics)?;
    total += seg.len;
    Ok(total)
}

fn flush(seg: &mut SegmentFile, buf: &mut Vec<u8>) -> Result<(), WalError> {
    let res = seg.append(buf).map_err(|f| f.error);
    buf.clear();
    res
}
