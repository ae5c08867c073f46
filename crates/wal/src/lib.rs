//! Segmented, checksummed write-ahead log shared by every signal's storage.
//!
//! Payloads are opaque bytes: each owner (the metrics TSDB, later logs and traces)
//! puts its own record encoding inside. The log is a directory of numbered segment
//! files (`00000001`, `00000002`, ...) plus at most one `checkpoint.NNNNNNNN`
//! directory that stands for every segment up to `NNNNNNNN`. The byte layout is
//! specified in `docs/format/wal.md`.
//!
//! - [`Wal::open`] replays checkpoint + segments and repairs a torn or corrupt tail.
//! - [`Wal::append`] / [`Wal::append_batch`] hand records to the OS;
//!   [`Wal::sync`] makes them durable per [`FsyncPolicy`], with group commit.
//! - [`Wal::cut_segment`] and [`Wal::checkpoint`] let the owner compact the log.
//!
//! ```
//! use sightline_wal::{FsyncPolicy, RecordSource, Wal, WalOptions};
//!
//! let dir = std::env::temp_dir().join(format!("wal-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let opts = WalOptions { name: "doc".into(), fsync: FsyncPolicy::Always, ..Default::default() };
//! let (wal, report) = Wal::open(&dir, opts.clone(), |_src, _payload| {})?;
//! assert_eq!(report.records, 0);
//! let lsn = wal.append(b"hello")?;
//! wal.sync(lsn)?; // durable: fsync'd, shared with concurrent callers
//! // Compact: everything up to the previous segment becomes one checkpoint.
//! let next = wal.cut_segment()?;
//! wal.checkpoint(next - 1, &mut vec![b"state".to_vec()].into_iter())?;
//! drop(wal);
//!
//! let mut seen = Vec::new();
//! let (_wal, report) = Wal::open(&dir, opts, |src, p| seen.push((src, p.to_vec())))?;
//! assert_eq!(report.checkpoint, Some(next - 1));
//! assert_eq!(seen, vec![(RecordSource::Checkpoint, b"state".to_vec())]);
//! # drop(_wal);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), sightline_wal::WalError>(())
//! ```
//!
//! Modules: [`format`] (bytes on disk), `reader`/`segment` (one file),
//! `replay` (open and repair), `checkpoint` (atomic checkpoint writing),
//! `wal` (the handle), `lock` (directory ownership), `metrics`, `options`, `error`.

mod checkpoint;
mod error;
pub mod format;
mod lock;
mod metrics;
mod options;
mod reader;
mod replay;
mod segment;
mod wal;

pub use error::WalError;
pub use options::{FsyncPolicy, WalOptions, DEFAULT_SEGMENT_SIZE};
pub use replay::{Corruption, RecordSource, ReplayReport};
pub use wal::{Lsn, Wal};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn wal_is_send_and_sync() {
        assert_send_sync::<Wal>();
    }
}
