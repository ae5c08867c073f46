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
