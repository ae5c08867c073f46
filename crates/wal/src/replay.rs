//! Opening a WAL directory: finding the newest checkpoint and the segments after it,
//! replaying their records in order, and repairing a damaged tail.
//!
//! Repair is deliberately simple and conservative: the log is cut at the first byte
//! that is not part of a good record. The damaged segment is truncated there (removed
//! if its header is bad) and every later segment is deleted, since records after a
//! hole cannot be applied in order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::WalError;
use crate::format::{
    checkpoint_name, parse_checkpoint_name, parse_segment_name, segment_name, CheckpointEntry,
    SegmentKind,
};
use crate::metrics::WalMetrics;
use crate::reader::{Damage, Next, Opened, SegmentReader};
use crate::segment::sync_dir;

/// Where a replayed record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordSource {
    /// The newest checkpoint (records written by [`crate::Wal::checkpoint`]).
    Checkpoint,
    /// The live segment with this index.
    Segment(u32),
}

/// Damage found (and repaired) while opening a WAL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption {
    /// Segment index where the damage starts (for a damaged checkpoint: the index
    /// the checkpoint covers up to).
    pub segment: u32,
    /// Byte offset in that segment file of the first bad byte.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
    /// Bytes removed by the repair: the truncated tail of the segment plus the whole
    /// size of every later segment deleted.
    pub bytes_truncated: u64,
}

/// What opening a WAL found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records handed to the callback (checkpoint and segments).
    pub records: u64,
    /// Segment files read (the checkpoint not counted).
    pub segments: u32,
    /// The checkpoint replayed first, by the segment index it covers up to.
    pub checkpoint: Option<u32>,
    /// The first damage found, if any.
    pub corruption: Option<Corruption>,
}

/// The outcome of replay that the writer needs to carry on.
pub struct Replayed {
    /// What is reported to the caller.
    pub report: ReplayReport,
    /// Segment indices that remain on disk, ascending and contiguous.
    pub segments: Vec<u32>,
    /// Bytes on disk of the remaining segments and the checkpoint.
    pub size_bytes: u64,
}

/// What a directory listing found.
#[derive(Default)]
struct Listing {
    segments: Vec<u32>,
    checkpoints: Vec<u32>,
    temporaries: Vec<PathBuf>,
}

fn list(dir: &Path) -> Result<Listing, WalError> {
    let mut out = Listing::default();
    let rd = fs::read_dir(dir).map_err(|e| WalError::io("read directory", dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io("read directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(i) = parse_segment_name(name) {
            out.segments.push(i);
        } else if let Some(c) = parse_checkpoint_name(name) {
            match c {
                CheckpointEntry::Complete(i) => out.checkpoints.push(i),
                CheckpointEntry::Temporary(_) => out.temporaries.push(entry.path()),
            }
        }
    }
    out.segments.sort_unstable();
    out.checkpoints.sort_unstable();
    Ok(out)
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn remove_file(path: &Path) -> Result<(), WalError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WalError::io("remove", path, e)),
    }
}

/// Removes a directory tree, tolerating its absence.
pub fn remove_dir(path: &Path) -> Result<(), WalError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WalError::io("remove directory", path, e)),
    }
}

/// Sum of the sizes of the files in a checkpoint directory.
pub fn checkpoint_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Replays `dir` (which must exist) and repairs it; see the module docs.
pub fn replay(
    dir: &Path,
    metrics: &WalMetrics,
    on_record: &mut dyn FnMut(RecordSource, &[u8]),
) -> Result<Replayed, WalError> {
    let listing = list(dir)?;
    let mut report = ReplayReport::default();
    let mut size_bytes = 0u64;
    let mut dir_changed = false;

    for tmp in &listing.temporaries {
        tracing::info!(path = %tmp.display(), "removing unfinished WAL checkpoint");
        remove_dir(tmp)?;
        dir_changed = true;
    }

    let checkpoint = listing.checkpoints.last().copied();
    if let Some(cp) = checkpoint {
        for &old in &listing.checkpoints[..listing.checkpoints.len() - 1] {
            remove_dir(&dir.join(checkpoint_name(old)))?;
            dir_changed = true;
        }
        let cp_dir = dir.join(checkpoint_name(cp));
        report.checkpoint = Some(cp);
        size_bytes += checkpoint_size(&cp_dir);
        if let Some(damage) = replay_checkpoint(&cp_dir, &mut report.records, on_record)? {
            let c = Corruption {
                segment: cp,
                offset: damage.offset,
                reason: format!("{}: {}", checkpoint_name(cp), damage.reason),
                bytes_truncated: 0,
            };
            tracing::warn!(
                checkpoint = cp,
                offset = c.offset,
                reason = %c.reason,
                "WAL checkpoint is damaged; records after the damage are lost"
            );
            metrics.corruptions.inc();
            report.corruption = Some(c);
        }
    }

    // Segments a finished checkpoint already covers are left over from a crash
    // between the checkpoint's rename and their deletion.
    let mut segments = Vec::with_capacity(listing.segments.len());
    for &s in &listing.segments {
        if checkpoint.is_some_and(|cp| s <= cp) {
            remove_file(&dir.join(segment_name(s)))?;
            dir_changed = true;
        } else {
            segments.push(s);
        }
    }

    let mut kept = Vec::with_capacity(segments.len());
    let mut damage_at: Option<(usize, Damage)> = None;
    for (i, &s) in segments.iter().enumerate() {
        if let Some(&prev) = kept.last() {
            if s != prev + 1 {
                let d = Damage {
                    offset: 0,
                    reason: format!("segment {} is missing", segment_name(prev + 1)),
                };
                damage_at = Some((i, d));
                break;
            }
        }
        report.segments += 1;
        if let Some(d) = replay_segment(dir, s, &mut report.records, on_record)? {
            damage_at = Some((i, d));
            break;
        }
        kept.push(s);
        size_bytes += file_len(&dir.join(segment_name(s)));
    }

    if let Some((i, damage)) = damage_at {
        let s = segments[i];
        let path = dir.join(segment_name(s));
        let mut truncated = 0u64;
        let is_gap = kept.last().is_some_and(|&p| p + 1 != s);
        if is_gap {
            // The whole segment after the hole goes, like every later one.
            truncated += file_len(&path);
            remove_file(&path)?;
        } else if damage.offset == 0 {
            truncated += file_len(&path);
            remove_file(&path)?;
        } else {
            let len = file_len(&path);
            truncated += len.saturating_sub(damage.offset);
            let f = fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| WalError::io("open", &path, e))?;
            f.set_len(damage.offset)
                .map_err(|e| WalError::io("truncate", &path, e))?;
            f.sync_all().map_err(|e| WalError::io("fsync", &path, e))?;
            kept.push(s);
            size_bytes += damage.offset;
        }
        for &later in &segments[i + 1..] {
            let p = dir.join(segment_name(later));
            truncated += file_len(&p);
            remove_file(&p)?;
        }
        dir_changed = true;
        tracing::warn!(
            segment = s,
            offset = damage.offset,
            reason = %damage.reason,
            bytes_truncated = truncated,
            later_segments_deleted = segments.len() - i - 1,
            "WAL corruption found during replay; truncated the log at the first bad record"
        );
        metrics.corruptions.inc();
        metrics.truncated.inc_by(truncated);
        if report.corruption.is_none() {
            report.corruption = Some(Corruption {
                segment: s,
                offset: damage.offset,
                reason: damage.reason,
                bytes_truncated: truncated,
            });
        }
    }

    if dir_changed {
        sync_dir(dir)?;
    }
    Ok(Replayed {
        report,
        segments: kept,
        size_bytes,
    })
}

/// Replays one live segment; returns the damage that stopped it, if any.
fn replay_segment(
    dir: &Path,
    index: u32,
    records: &mut u64,
    on_record: &mut dyn FnMut(RecordSource, &[u8]),
) -> Result<Option<Damage>, WalError> {
    let path = dir.join(segment_name(index));
    let mut reader = match SegmentReader::open(&path, SegmentKind::Log, index)? {
        Opened::Reader(r) => r,
        Opened::Damaged(d) => return Ok(Some(d)),
    };
    loop {
        match reader.next_record()? {
            Next::Record(p) => {
                *records += 1;
                on_record(RecordSource::Segment(index), p);
            }
            Next::End => return Ok(None),
            Next::Damaged(d) => return Ok(Some(d)),
        }
    }
}

/// Replays the files of a checkpoint directory in order; returns the first damage.
fn replay_checkpoint(
    cp_dir: &Path,
    records: &mut u64,
    on_record: &mut dyn FnMut(RecordSource, &[u8]),
) -> Result<Option<Damage>, WalError> {
    let mut files = Vec::new();
    let rd = fs::read_dir(cp_dir).map_err(|e| WalError::io("read directory", cp_dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io("read directory", cp_dir, e))?;
        if let Some(i) = entry.file_name().to_str().and_then(parse_segment_name) {
            files.push(i);
        }
    }
    files.sort_unstable();
    for (expected, &i) in files.iter().enumerate() {
        if expected as u64 != i as u64 {
            return Ok(Some(Damage {
                offset: 0,
                reason: format!("file {} is missing", segment_name(expected as u32)),
            }));
        }
        let path = cp_dir.join(segment_name(i));
        let mut reader = match SegmentReader::open(&path, SegmentKind::Checkpoint, i)? {
            Opened::Reader(r) => r,
            Opened::Damaged(d) => {
                return Ok(Some(Damage {
                    reason: format!("{}: {}", segment_name(i), d.reason),
                    ..d
                }))
            }
        };
        loop {
            match reader.next_record()? {
                Next::Record(p) => {
                    *records += 1;
                    on_record(RecordSource::Checkpoint, p);
                }
                Next::End => break,
                Next::Damaged(d) => {
                    return Ok(Some(Damage {
                        reason: format!("{}: {}", segment_name(i), d.reason),
                        ..d
                    }))
                }
            }
        }
    }
    Ok(None)
}
